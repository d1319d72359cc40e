"""The demo company's agent names: drawn from a seed, distinct, in three languages, and the
ones config/org.yaml holds."""

from pathlib import Path
from typing import Final

from services.demo.names import (
    DEMO_NAMES_SEED,
    FAMILY_NAMES,
    GIVEN_NAMES,
    agent_names,
    main,
    with_agent_names,
)
from shared.config import LocalizedName, load_org

ORG_FILE: Final = Path(__file__).resolve().parents[3] / "config" / "org.yaml"
IDS: Final = [f"A{n:04d}" for n in range(1, 1001)]


def test_the_same_seed_gives_the_same_names_whatever_the_order() -> None:
    assert agent_names(IDS, seed=3) == agent_names(list(reversed(IDS)), seed=3)
    assert agent_names(IDS, seed=3) != agent_names(IDS, seed=4)


def test_no_two_agents_share_a_name() -> None:
    names = agent_names(IDS)
    assert len({name.en for name in names.values()}) == len(IDS)
    assert len({name.ja for name in names.values()}) == len(IDS)


def test_each_name_is_written_as_each_language_writes_it() -> None:
    families = {en: (ja, zh) for ja, zh, en in FAMILY_NAMES}
    givens = {en: (ja, zh) for ja, zh, en in GIVEN_NAMES}
    for name in agent_names(IDS[:200]).values():
        assert name.en is not None
        given, family = name.en.split(" ")
        assert name.ja == f"{families[family][0]} {givens[given][0]}"
        assert name.zh == f"{families[family][1]}{givens[given][1]}"


def test_common_family_names_come_up_more_often() -> None:
    families = [name.en.split(" ")[1] for name in agent_names(IDS).values() if name.en]
    assert families.count("Sato") > families.count("Arai")


def test_names_are_written_into_agent_entries_only() -> None:
    text = (
        "# agents: a comment\n"
        "company: ACME\n"
        "teams:\n"
        "  - {id: A0001, branch: B01}\n"
        "agents:\n"
        "  # B01\n"
        '  - {id: A0001, team: T01, phone: "+81-90-0000-0001", from: 2014-04-01}\n'
        '  - {id: A0002, team: T01, phone: "+81-90-0000-0002", from: 2014-04-01, '
        "name: {en: Old Name}}\n"
        '  - {id: A0003, team: T01, phone: "+81-90-0000-0003", from: 2014-04-01}\n'
    )
    names = {
        "A0001": LocalizedName(en="Kenta Sato", zh="佐藤健太", ja="佐藤 健太"),
        "A0002": LocalizedName(en="Yumi Ito", zh="伊藤由美", ja="伊藤 由美"),
    }
    assert with_agent_names(text, names).splitlines() == [
        "# agents: a comment",
        "company: ACME",
        "teams:",
        "  - {id: A0001, branch: B01}",
        "agents:",
        "  # B01",
        '  - {id: A0001, team: T01, phone: "+81-90-0000-0001", from: 2014-04-01, '
        "name: {en: Kenta Sato, zh: 佐藤健太, ja: 佐藤 健太}}",
        '  - {id: A0002, team: T01, phone: "+81-90-0000-0002", from: 2014-04-01, '
        "name: {en: Yumi Ito, zh: 伊藤由美, ja: 伊藤 由美}}",
        '  - {id: A0003, team: T01, phone: "+81-90-0000-0003", from: 2014-04-01}',
    ]


def test_org_yaml_holds_the_names_of_the_demo_seed() -> None:
    org = load_org(ORG_FILE)
    expected = agent_names(org.agent_ids, DEMO_NAMES_SEED)
    assert {a: org.names_of(f"agent:{a}") for a in org.agent_ids} == expected
    assert main([str(ORG_FILE), "--check"]) == 0


def test_the_command_writes_the_names_and_check_tells_when_they_differ(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(ORG_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    assert main([str(path), "--seed", "99", "--check"]) == 1
    assert main([str(path), "--seed", "99"]) == 0
    assert main([str(path), "--seed", "99", "--check"]) == 0
    org = load_org(path)
    assert org.names_of("agent:A0001") == agent_names(org.agent_ids, 99)["A0001"]
    assert org.name("branch:B01", "ja") == "東京中央支店"  # the rest of the file is untouched
