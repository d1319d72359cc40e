"""The organisation chart: the demo company loads, and look-ups resolve by level and date."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import Level, OrgChart, OrgPath, entity_key, load_org, parse_entity

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture(scope="module")
def demo() -> OrgChart:
    return load_org(CONFIG_DIR / "org.yaml")


def small_org(agents: list[dict[str, object]]) -> OrgChart:
    return OrgChart.from_document(
        {
            "company": "ACME",
            "regions": [
                {"id": "R1", "coefficient": 1.1},
                {"id": "R2", "coefficient": Decimal("0.9")},
            ],
            "branches": [
                {"id": "B01", "region": "R1", "headcount": 12},
                {"id": "B02", "region": "R2", "headcount": 8},
            ],
            "teams": [
                {"id": "T01", "branch": "B01"},
                {"id": "T02", "branch": "B01"},
                {"id": "T03", "branch": "B02"},
            ],
            "agents": agents,
        }
    )


def assignment(agent: str, team: str, start: date) -> dict[str, object]:
    return {"id": agent, "team": team, "phone": "+81-90-0000-0001", "from": start}


def test_the_demo_company_loads(demo: OrgChart) -> None:
    assert demo.company == "ACME"
    assert demo.currency == "JPY"
    assert [r.coefficient for r in demo.regions] == [Decimal("1.1"), Decimal("1.0"), Decimal("0.9")]
    assert len(demo.branches) == 12
    assert 30 <= len(demo.teams) <= 40
    assert len(demo.agent_ids) == 1000
    assert demo.headcount("company:ACME") == sum(b.headcount for b in demo.branches)
    movers = [a for a in demo.agent_ids if len(demo.assignments(a)) > 1]
    assert len(movers) >= 2


def test_demo_movers_change_branch_on_their_date(demo: OrgChart) -> None:
    before = demo.resolve("A0123", date(2024, 9, 30))
    after = demo.resolve("A0123", date(2024, 10, 1))
    assert before is not None
    assert after is not None
    assert (before.branch, after.branch) == ("B02", "B05")


def test_an_agent_moving_mid_period_resolves_to_old_then_new_branch() -> None:
    org = small_org(
        [
            assignment("A1", "T03", date(2024, 7, 1)),  # the move, listed first on purpose
            assignment("A1", "T01", date(2020, 4, 1)),
        ]
    )
    old = org.resolve("A1", date(2024, 6, 30))
    new = org.resolve("A1", date(2024, 7, 1))
    assert old == OrgPath("ACME", "R1", "B01", "T01", "A1")
    assert new == OrgPath("ACME", "R2", "B02", "T03", "A1")
    assert [a.valid_from for a in org.assignments("A1")] == [date(2020, 4, 1), date(2024, 7, 1)]


def test_unknown_or_not_yet_assigned_agents_resolve_to_none() -> None:
    org = small_org([assignment("A1", "T01", date(2024, 4, 1))])
    assert org.resolve("A9", date(2024, 5, 1)) is None
    assert org.resolve("A1", date(2024, 3, 31)) is None
    assert org.assignment_at("A1", date(2024, 4, 1)) is not None


def test_a_datetime_is_refused_where_a_local_date_is_expected() -> None:
    org = small_org([assignment("A1", "T01", date(2024, 4, 1))])
    with pytest.raises(TypeError, match="local date"):
        org.resolve("A1", datetime(2024, 5, 1, 9, 0))


def test_a_path_lists_every_level_top_down() -> None:
    org = small_org([assignment("A1", "T02", date(2024, 4, 1))])
    path = org.resolve("A1", date(2024, 4, 2))
    assert path is not None
    assert path.entities() == (
        "company:ACME",
        "region:R1",
        "branch:B01",
        "team:T02",
        "agent:A1",
    )
    assert path.id_at(Level.TEAM) == "T02"
    branch_path = org.branch_path("B02")
    assert branch_path is not None
    assert branch_path.entities() == ("company:ACME", "region:R2", "branch:B02")
    assert org.branch_path("B99") is None


def test_entities_per_level_children_and_lookups() -> None:
    org = small_org(
        [assignment("A2", "T03", date(2024, 4, 1)), assignment("A1", "T01", date(2024, 4, 1))]
    )
    assert org.entities(Level.COMPANY) == ("company:ACME",)
    assert org.entities(Level.REGION) == ("region:R1", "region:R2")
    assert org.entities(Level.BRANCH) == ("branch:B01", "branch:B02")
    assert org.entities(Level.TEAM) == ("team:T01", "team:T02", "team:T03")
    assert org.entities(Level.AGENT) == ("agent:A1", "agent:A2")
    assert org.children("company:ACME") == ("region:R1", "region:R2")
    assert org.children("region:R1") == ("branch:B01",)
    assert org.children("branch:B01") == ("team:T01", "team:T02")
    assert org.children("team:T01") == ()
    branch = org.branch("B02")
    assert branch is not None
    assert branch.headcount == 8
    assert org.branch("B03") is None
    assert org.headcount("region:R1") == 12
    assert org.headcount("company:ACME") == 20
    assert org.headcount("team:T01") is None
    assert org.coefficient("branch:B02") == Decimal("0.9")
    assert org.coefficient("region:R1") == Decimal("1.1")
    assert org.contains("agent:A2")
    assert not org.contains("agent:A3")
    assert not org.contains("nonsense")
    assert [p.agent for p in org.agents_on(date(2024, 4, 1))] == ["A1", "A2"]
    assert org.agents_on(date(2024, 3, 31)) == ()


def test_entity_keys_round_trip() -> None:
    assert entity_key(Level.BRANCH, "B01") == "branch:B01"
    assert parse_entity("agent:A0001") == (Level.AGENT, "A0001")
    for bad in ("B01", "desk:B01", "branch:"):
        with pytest.raises(ValueError, match="LEVEL:ID"):
            parse_entity(bad)


@given(
    data=st.data(),
    starts=st.lists(
        st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)),
        min_size=1,
        max_size=8,
        unique=True,
    ),
    query=st.dates(min_value=date(2014, 1, 1), max_value=date(2031, 12, 31)),
)
def test_resolution_picks_the_latest_assignment_not_after_the_date(
    data: st.DataObject, starts: list[date], query: date
) -> None:
    teams = data.draw(
        st.lists(st.sampled_from(["T01", "T02", "T03"]), min_size=len(starts), max_size=len(starts))
    )
    listed = data.draw(st.permutations(list(zip(starts, teams, strict=True))))
    org = small_org([assignment("A1", team, start) for start, team in listed])

    valid = [(start, team) for start, team in listed if start <= query]
    resolved = org.resolve("A1", query)
    if not valid:
        assert resolved is None
        return
    expected_start, expected_team = max(valid)
    assert resolved is not None
    assert resolved.team == expected_team
    found = org.assignment_at("A1", query)
    assert found is not None
    assert found.valid_from == expected_start
    # The day before the next move still resolves to the same assignment.
    later = sorted(start for start in starts if start > query)
    if later:
        still = org.assignment_at("A1", later[0] - timedelta(days=1))
        assert still is not None
        assert still.valid_from == expected_start
