"""Copies of the demo configuration for tests that run a smaller company."""

import shutil
from collections import defaultdict
from pathlib import Path
from typing import Final

import yaml

# A KPI a definitions change adds, on a survey box a recomputation must count first: the share
# of answers in the top two boxes (7 and up on 0–10).
TOP2_SHARE_KPI: Final = {
    "id": "survey_top2_share",
    "labels": {"en": "Survey top-two-box share", "zh": "调查前两档占比", "ja": "上位2段階の割合"},
    "kind": "top_box_share",
    "direction": "higher_is_better",
    "unit": "ratio",
    "numerator": "survey_top2_box",
    "denominator": "survey_responses",
    "default_target": 0.8,
}


def config_with_agent_share(tmp_path: Path, share: int) -> Path:
    """`config/` copied under `tmp_path` with every `share`-th agent of each team (every team
    and branch kept); the copy's directory."""
    target = tmp_path / "config"
    shutil.copytree("config", target)
    org = yaml.safe_load((target / "org.yaml").read_text(encoding="utf-8"))
    by_team: dict[str, list[str]] = defaultdict(list)
    for agent in org["agents"]:
        if agent["id"] not in by_team[agent["team"]]:
            by_team[agent["team"]].append(agent["id"])
    kept = {a for ids in by_team.values() for a in ids[::share]}
    org["agents"] = [a for a in org["agents"] if a["id"] in kept]
    (target / "org.yaml").write_text(
        yaml.safe_dump(org, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return target
