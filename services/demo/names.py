"""Names of the demo company's agents in English, Chinese and Japanese, drawn from a seed.

The agents of `config/org.yaml` are Japanese sales staff: a common family name (the most common
drawn most often) and a given name, written 佐藤 健太 in Japanese, 佐藤健太 in Chinese (the same
characters, simplified where Chinese simplifies them: 高橋 → 高桥) and Kenta Sato in English.
No two agents share a name. Regions, branches and teams are named by hand in `org.yaml`.

`python -m services.demo.names [config/org.yaml] [--check]` writes the names into the agents'
entries of the file (or checks that they are there), keeping everything else of it as it is.
"""

import argparse
import itertools
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from shared.config.entity_names import LocalizedName

from .profiles import seeded

# The seed of the names in config/org.yaml (the one `kpi run` draws its demo stream with).
DEMO_NAMES_SEED: Final = 7

# (Japanese, Chinese, English), most common first.
FAMILY_NAMES: Final = (
    ("佐藤", "佐藤", "Sato"),
    ("鈴木", "铃木", "Suzuki"),
    ("高橋", "高桥", "Takahashi"),
    ("田中", "田中", "Tanaka"),
    ("伊藤", "伊藤", "Ito"),
    ("渡辺", "渡边", "Watanabe"),
    ("山本", "山本", "Yamamoto"),
    ("中村", "中村", "Nakamura"),
    ("小林", "小林", "Kobayashi"),
    ("加藤", "加藤", "Kato"),
    ("吉田", "吉田", "Yoshida"),
    ("山田", "山田", "Yamada"),
    ("佐々木", "佐佐木", "Sasaki"),
    ("山口", "山口", "Yamaguchi"),
    ("松本", "松本", "Matsumoto"),
    ("井上", "井上", "Inoue"),
    ("木村", "木村", "Kimura"),
    ("林", "林", "Hayashi"),
    ("斎藤", "斋藤", "Saito"),
    ("清水", "清水", "Shimizu"),
    ("山崎", "山崎", "Yamazaki"),
    ("森", "森", "Mori"),
    ("池田", "池田", "Ikeda"),
    ("橋本", "桥本", "Hashimoto"),
    ("阿部", "阿部", "Abe"),
    ("石川", "石川", "Ishikawa"),
    ("山下", "山下", "Yamashita"),
    ("中島", "中岛", "Nakajima"),
    ("石井", "石井", "Ishii"),
    ("小川", "小川", "Ogawa"),
    ("前田", "前田", "Maeda"),
    ("岡田", "冈田", "Okada"),
    ("長谷川", "长谷川", "Hasegawa"),
    ("藤田", "藤田", "Fujita"),
    ("後藤", "后藤", "Goto"),
    ("近藤", "近藤", "Kondo"),
    ("村上", "村上", "Murakami"),
    ("遠藤", "远藤", "Endo"),
    ("青木", "青木", "Aoki"),
    ("坂本", "坂本", "Sakamoto"),
    ("福田", "福田", "Fukuda"),
    ("太田", "太田", "Ota"),
    ("西村", "西村", "Nishimura"),
    ("藤井", "藤井", "Fujii"),
    ("金子", "金子", "Kaneko"),
    ("岡本", "冈本", "Okamoto"),
    ("藤原", "藤原", "Fujiwara"),
    ("中野", "中野", "Nakano"),
    ("三浦", "三浦", "Miura"),
    ("原田", "原田", "Harada"),
    ("松田", "松田", "Matsuda"),
    ("竹内", "竹内", "Takeuchi"),
    ("小野", "小野", "Ono"),
    ("田村", "田村", "Tamura"),
    ("中山", "中山", "Nakayama"),
    ("和田", "和田", "Wada"),
    ("石田", "石田", "Ishida"),
    ("森田", "森田", "Morita"),
    ("上田", "上田", "Ueda"),
    ("原", "原", "Hara"),
    ("柴田", "柴田", "Shibata"),
    ("酒井", "酒井", "Sakai"),
    ("工藤", "工藤", "Kudo"),
    ("横山", "横山", "Yokoyama"),
    ("宮崎", "宫崎", "Miyazaki"),
    ("宮本", "宫本", "Miyamoto"),
    ("内田", "内田", "Uchida"),
    ("高木", "高木", "Takagi"),
    ("安藤", "安藤", "Ando"),
    ("谷口", "谷口", "Taniguchi"),
    ("丸山", "丸山", "Maruyama"),
    ("今井", "今井", "Imai"),
    ("河野", "河野", "Kono"),
    ("藤本", "藤本", "Fujimoto"),
    ("村田", "村田", "Murata"),
    ("武田", "武田", "Takeda"),
    ("上野", "上野", "Ueno"),
    ("杉山", "杉山", "Sugiyama"),
    ("増田", "增田", "Masuda"),
    ("平野", "平野", "Hirano"),
    ("大塚", "大冢", "Otsuka"),
    ("千葉", "千叶", "Chiba"),
    ("久保", "久保", "Kubo"),
    ("松井", "松井", "Matsui"),
    ("小島", "小岛", "Kojima"),
    ("岩崎", "岩崎", "Iwasaki"),
    ("桜井", "樱井", "Sakurai"),
    ("野口", "野口", "Noguchi"),
    ("松尾", "松尾", "Matsuo"),
    ("野村", "野村", "Nomura"),
    ("木下", "木下", "Kinoshita"),
    ("菊地", "菊地", "Kikuchi"),
    ("佐野", "佐野", "Sano"),
    ("大西", "大西", "Onishi"),
    ("杉本", "杉本", "Sugimoto"),
    ("新井", "新井", "Arai"),
)

GIVEN_NAMES: Final = (
    ("健太", "健太", "Kenta"),
    ("翔太", "翔太", "Shota"),
    ("大輔", "大辅", "Daisuke"),
    ("拓也", "拓也", "Takuya"),
    ("直樹", "直树", "Naoki"),
    ("和也", "和也", "Kazuya"),
    ("誠", "诚", "Makoto"),
    ("浩二", "浩二", "Koji"),
    ("隆", "隆", "Takashi"),
    ("亮", "亮", "Ryo"),
    ("健一", "健一", "Kenichi"),
    ("達也", "达也", "Tatsuya"),
    ("雄一", "雄一", "Yuichi"),
    ("大樹", "大树", "Daiki"),
    ("蓮", "莲", "Ren"),
    ("悠斗", "悠斗", "Yuto"),
    ("修", "修", "Osamu"),
    ("博之", "博之", "Hiroyuki"),
    ("剛", "刚", "Tsuyoshi"),
    ("翼", "翼", "Tsubasa"),
    ("賢治", "贤治", "Kenji"),
    ("正人", "正人", "Masato"),
    ("俊介", "俊介", "Shunsuke"),
    ("陽介", "阳介", "Yosuke"),
    ("一郎", "一郎", "Ichiro"),
    ("哲也", "哲也", "Tetsuya"),
    ("慎吾", "慎吾", "Shingo"),
    ("光太郎", "光太郎", "Kotaro"),
    ("陽子", "阳子", "Yoko"),
    ("恵子", "惠子", "Keiko"),
    ("美咲", "美咲", "Misaki"),
    ("由美", "由美", "Yumi"),
    ("直美", "直美", "Naomi"),
    ("智子", "智子", "Tomoko"),
    ("裕子", "裕子", "Yuko"),
    ("彩", "彩", "Aya"),
    ("真由美", "真由美", "Mayumi"),
    ("愛", "爱", "Ai"),
    ("麻衣", "麻衣", "Mai"),
    ("奈々", "奈奈", "Nana"),
    ("香織", "香织", "Kaori"),
    ("明美", "明美", "Akemi"),
    ("千尋", "千寻", "Chihiro"),
    ("沙織", "沙织", "Saori"),
    ("久美子", "久美子", "Kumiko"),
    ("里奈", "里奈", "Rina"),
    ("結衣", "结衣", "Yui"),
    ("陽菜", "阳菜", "Hina"),
    ("早紀", "早纪", "Saki"),
    ("綾香", "绫香", "Ayaka"),
    ("美穂", "美穗", "Miho"),
    ("理恵", "理惠", "Rie"),
)

# Family names are drawn by their rank's weight 1/√rank: 佐藤 about ten times as often as 新井.
_FAMILY_WEIGHTS: Final = tuple(
    itertools.accumulate(1 / (rank**0.5) for rank in range(1, len(FAMILY_NAMES) + 1))
)


def agent_names(agent_ids: Iterable[str], seed: int = DEMO_NAMES_SEED) -> dict[str, LocalizedName]:
    """A distinct name for each agent; the same ids and seed always give the same names."""
    rng = seeded(f"{seed}:names")
    ids = sorted(set(agent_ids))
    if len(ids) > len(FAMILY_NAMES) * len(GIVEN_NAMES):
        raise ValueError(f"{len(ids)} agents are more than the distinct names there are")
    used: set[tuple[int, int]] = set()
    names: dict[str, LocalizedName] = {}
    for agent_id in ids:
        while True:
            family = rng.choices(range(len(FAMILY_NAMES)), cum_weights=_FAMILY_WEIGHTS)[0]
            given = rng.randrange(len(GIVEN_NAMES))
            if (family, given) not in used:
                break
        used.add((family, given))
        (ja_family, zh_family, en_family), (ja_given, zh_given, en_given) = (
            FAMILY_NAMES[family],
            GIVEN_NAMES[given],
        )
        names[agent_id] = LocalizedName(
            en=f"{en_given} {en_family}",
            zh=f"{zh_family}{zh_given}",
            ja=f"{ja_family} {ja_given}",
        )
    return names


# An agent's entry in org.yaml, one flow mapping a line: `  - {id: A0001, team: T01, ...}`.
_AGENT_LINE: Final = re.compile(
    r"^(?P<head>\s*-\s*\{\s*id:\s*(?P<id>[A-Za-z0-9][A-Za-z0-9._-]*)\s*,.*?)"
    r"(?:,\s*name:\s*\{[^{}]*\})?\}\s*$"
)


def _flow(name: LocalizedName) -> str:
    return f"{{en: {name.en}, zh: {name.zh}, ja: {name.ja}}}"


def with_agent_names(text: str, names: Mapping[str, LocalizedName]) -> str:
    """`org.yaml`'s text with each agent entry's `name` set (replaced if there), nothing else
    changed; entries of the `agents` section must be one flow mapping a line."""
    lines = text.splitlines(keepends=True)
    section = ""
    for index, line in enumerate(lines):
        if line and not line[0].isspace() and not line.startswith("#"):
            section = line.split(":", 1)[0].strip()
            continue
        match = _AGENT_LINE.match(line.rstrip("\n"))
        if section != "agents" or match is None or match["id"] not in names:
            continue
        ending = "\n" if line.endswith("\n") else ""
        lines[index] = f"{match['head']}, name: {_flow(names[match['id']])}}}{ending}"
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, verify) the agents' names in an org.yaml."""
    from shared.config.loading import load_org  # noqa: PLC0415 - only the command reads files

    parser = argparse.ArgumentParser(prog="python -m services.demo.names", description=__doc__)
    parser.add_argument("path", nargs="?", default="config/org.yaml", type=Path)
    parser.add_argument("--seed", type=int, default=DEMO_NAMES_SEED)
    parser.add_argument("--check", action="store_true", help="fail if the names are not there")
    args = parser.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    named = with_agent_names(text, agent_names(load_org(args.path).agent_ids, args.seed))
    if args.check:
        if named != text:
            sys.stderr.write(f"{args.path}: agent names differ from seed {args.seed}'s\n")
            return 1
        return 0
    args.path.write_text(named, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
