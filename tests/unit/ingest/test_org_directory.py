"""The org directory (DESIGN §4): org.yaml with kpi.org.v1 changes on top, resolved by the
event's local date; a change that would break the chart is refused and the old chart stays."""

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any, Final

import pytest

from services.ingest.org_directory import OrgChangeRejected, OrgDirectory
from shared.config import OrgPath, read_yaml

ORG_FILE: Final = Path(__file__).resolve().parents[3] / "config" / "org.yaml"
A0123_PHONE: Final = "+81-90-0000-0123"


@pytest.fixture(scope="module")
def demo_document() -> dict[str, Any]:
    document = read_yaml(ORG_FILE)
    assert isinstance(document, dict)
    return document


@pytest.fixture
def directory(demo_document: dict[str, Any]) -> OrgDirectory:
    # A fresh directory per test: `apply` changes its state.
    return OrgDirectory(copy.deepcopy(demo_document), str(ORG_FILE))


def record(document: object) -> bytes:
    return json.dumps(document).encode()


def assignments(*entries: tuple[str, str]) -> bytes:
    """An agent record: (team, from) pairs with A0123's phone."""
    return record(
        {"assignments": [{"team": t, "phone": A0123_PHONE, "from": day} for t, day in entries]}
    )


def branch_of(directory: OrgDirectory, agent_id: str, day: date) -> str | None:
    path = directory.resolve_agent(agent_id, day)
    return path.branch if path is not None else None


class TestDemoMoves:
    def test_a0123_is_in_b02_until_the_day_before_the_move(self, directory: OrgDirectory) -> None:
        assert directory.resolve_agent("A0123", date(2024, 9, 30)) == OrgPath(
            "ACME", "R1", "B02", "T05", "A0123"
        )

    def test_a0123_is_in_b05_from_the_move_date(self, directory: OrgDirectory) -> None:
        assert directory.resolve_agent("A0123", date(2024, 10, 1)) == OrgPath(
            "ACME", "R1", "B05", "T14", "A0123"
        )

    def test_a0600_moves_from_b07_in_kansai_to_b02_in_kanto(self, directory: OrgDirectory) -> None:
        assert directory.resolve_agent("A0600", date(2024, 6, 30)) == OrgPath(
            "ACME", "R2", "B07", "T22", "A0600"
        )
        assert directory.resolve_agent("A0600", date(2024, 7, 1)) == OrgPath(
            "ACME", "R1", "B02", "T05", "A0600"
        )

    def test_an_agent_before_their_first_assignment_resolves_to_nothing(
        self, directory: OrgDirectory
    ) -> None:
        assert directory.resolve_agent("A0600", date(2023, 3, 31)) is None
        assert branch_of(directory, "A0600", date(2023, 4, 1)) == "B07"

    def test_an_unknown_agent_resolves_to_nothing(self, directory: OrgDirectory) -> None:
        assert directory.resolve_agent("A9999", date(2024, 10, 1)) is None

    def test_a_branch_resolves_to_its_region_and_company(self, directory: OrgDirectory) -> None:
        assert directory.resolve_branch("B05") == OrgPath("ACME", "R1", "B05")
        assert directory.resolve_branch("B99") is None


class TestAgentChanges:
    def test_a_move_record_replaces_the_agents_history(self, directory: OrgDirectory) -> None:
        directory.apply("agent:A0123", assignments(("T01", "2024-04-01"), ("T07", "2025-01-01")))

        # The record is the agent's whole history: the 2013 start and the B05 move are gone.
        assert directory.resolve_agent("A0123", date(2024, 3, 31)) is None
        assert directory.resolve_agent("A0123", date(2024, 4, 1)) == OrgPath(
            "ACME", "R1", "B01", "T01", "A0123"
        )
        assert branch_of(directory, "A0123", date(2024, 10, 1)) == "B01"
        assert branch_of(directory, "A0123", date(2024, 12, 31)) == "B01"
        assert directory.resolve_agent("A0123", date(2025, 1, 1)) == OrgPath(
            "ACME", "R1", "B02", "T07", "A0123"
        )

    def test_a_change_leaves_other_agents_alone(self, directory: OrgDirectory) -> None:
        directory.apply("agent:A0123", assignments(("T01", "2024-04-01")))

        assert branch_of(directory, "A0600", date(2024, 7, 1)) == "B02"
        assert branch_of(directory, "A0001", date(2024, 7, 1)) == "B01"

    def test_the_latest_record_for_a_key_wins(self, directory: OrgDirectory) -> None:
        directory.apply("agent:A0123", assignments(("T01", "2024-04-01")))
        directory.apply("agent:A0123", assignments(("T08", "2024-04-01")))

        assert branch_of(directory, "A0123", date(2024, 5, 1)) == "B03"

    def test_a_tombstone_returns_the_agent_to_org_yaml(self, directory: OrgDirectory) -> None:
        directory.apply("agent:A0123", assignments(("T01", "2024-04-01"), ("T07", "2025-01-01")))

        directory.apply("agent:A0123", None)

        assert branch_of(directory, "A0123", date(2014, 1, 1)) == "B02"
        assert branch_of(directory, "A0123", date(2024, 9, 30)) == "B02"
        assert branch_of(directory, "A0123", date(2024, 10, 1)) == "B05"
        assert branch_of(directory, "A0123", date(2025, 1, 1)) == "B05"

    def test_a_tombstone_for_a_key_never_changed_leaves_the_chart_as_it_was(
        self, directory: OrgDirectory
    ) -> None:
        before = directory.chart

        directory.apply("agent:A0123", None)

        assert directory.chart == before
        assert branch_of(directory, "A0123", date(2024, 10, 1)) == "B05"

    def test_a_new_agent_can_join_and_a_tombstone_removes_them(
        self, directory: OrgDirectory
    ) -> None:
        directory.apply(
            "agent:A2000",
            record(
                {
                    "assignments": [
                        {"team": "T03", "phone": "+81-90-9999-2000", "from": "2025-04-01"}
                    ]
                }
            ),
        )

        assert directory.resolve_agent("A2000", date(2025, 3, 31)) is None
        assert branch_of(directory, "A2000", date(2025, 4, 1)) == "B01"

        directory.apply("agent:A2000", None)

        assert directory.resolve_agent("A2000", date(2025, 4, 1)) is None


class TestRefusedChanges:
    def test_an_unknown_team_is_refused_naming_it(self, directory: OrgDirectory) -> None:
        with pytest.raises(OrgChangeRejected) as refused:
            directory.apply("agent:A0123", assignments(("T99", "2024-04-01")))

        assert "team 'T99' is not defined under teams" in str(refused.value)
        assert "agent:A0123" in str(refused.value)

    def test_after_a_refusal_the_previous_chart_stays_in_force(
        self, directory: OrgDirectory
    ) -> None:
        directory.apply("agent:A0123", assignments(("T01", "2024-04-01")))
        before = directory.chart

        with pytest.raises(OrgChangeRejected):
            directory.apply("agent:A0123", assignments(("T99", "2024-04-01")))

        assert directory.chart is before
        assert branch_of(directory, "A0123", date(2024, 10, 1)) == "B01"
        # The refused record is not remembered either: a later, unrelated change still applies
        # on top of the last good state, not the refused one.
        directory.apply("team:T02", record({"branch": "B03"}))
        assert branch_of(directory, "A0123", date(2024, 10, 1)) == "B01"

    def test_a_record_renames_an_entity_in_each_language(self, directory: OrgDirectory) -> None:
        directory.apply(
            "branch:B03",
            record(
                {
                    "region": "R1",
                    "headcount": 105,
                    "name": {"en": "Yokohama Minato Branch", "ja": "横浜みなと支店"},
                }
            ),
        )
        directory.apply("team:T08", record({"branch": "B03", "name": "横浜1課"}))
        assert directory.chart.name("branch:B03", "ja") == "横浜みなと支店"
        assert directory.chart.name("branch:B03", "zh") == "Yokohama Minato Branch"
        assert directory.chart.name("team:T08", "zh") == "横浜1課"

    def test_a_record_without_a_name_leaves_the_entity_unnamed(
        self, directory: OrgDirectory
    ) -> None:
        directory.apply("team:T08", record({"branch": "B03"}))
        assert directory.chart.name("team:T08", "en") is None

    @pytest.mark.parametrize(
        ("key", "expected"),
        [
            ("A0123", "key 'A0123'"),
            ("agent:", "key 'agent:'"),
            ("person:A0123", "key 'person:A0123'"),
            ("company:ACME", "level company cannot change"),
        ],
    )
    def test_a_malformed_key_is_refused(
        self, directory: OrgDirectory, key: str, expected: str
    ) -> None:
        before = directory.chart

        with pytest.raises(OrgChangeRejected) as refused:
            directory.apply(key, assignments(("T01", "2024-04-01")))

        assert expected in str(refused.value)
        assert directory.chart is before

    def test_an_id_the_chart_does_not_allow_is_refused(self, directory: OrgDirectory) -> None:
        with pytest.raises(OrgChangeRejected) as refused:
            directory.apply("agent:bad id", assignments(("T01", "2024-04-01")))

        assert "'bad id' is not a valid id" in str(refused.value)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (b"{not json", "Invalid JSON"),
            (b"\xff\xfe", "Invalid JSON"),
            (b"[]", "Input should be an object"),
            (b'{"assignments": []}', "assignments"),
            (b'{"assignments": [{"team": "T01", "from": "2024-04-01"}]}', "phone"),
            (
                b'{"assignments": [{"team": "T01", "phone": "+81-90-0000-0123", '
                b'"from": "next week"}]}',
                "from",
            ),
            (
                b'{"assignments": [{"team": "T01", "phone": "+81-90-0000-0123", '
                b'"from": "2024-04-01", "grade": "S"}]}',
                "grade",
            ),
        ],
    )
    def test_a_malformed_value_is_refused_naming_the_field(
        self, directory: OrgDirectory, value: bytes, expected: str
    ) -> None:
        before = directory.chart

        with pytest.raises(OrgChangeRejected) as refused:
            directory.apply("agent:A0123", value)

        message = str(refused.value)
        assert message.startswith("kpi.org.v1 agent:A0123: ")
        assert expected in message
        assert directory.chart is before

    def test_a_value_of_another_levels_shape_is_refused(self, directory: OrgDirectory) -> None:
        with pytest.raises(OrgChangeRejected):
            directory.apply("team:T01", assignments(("T01", "2024-04-01")))

    def test_a_team_in_a_branch_that_does_not_exist_is_refused(
        self, directory: OrgDirectory
    ) -> None:
        with pytest.raises(OrgChangeRejected) as refused:
            directory.apply("team:T05", record({"branch": "B99"}))

        assert "branch 'B99' is not defined under branches" in str(refused.value)
        assert branch_of(directory, "A0123", date(2024, 9, 30)) == "B02"


class TestNewEntities:
    def test_a_new_branch_team_and_agent_can_be_added_in_that_order(
        self, directory: OrgDirectory
    ) -> None:
        directory.apply("region:R4", record({"coefficient": "0.95", "name": "北海道"}))
        directory.apply("branch:B13", record({"region": "R4", "headcount": 12}))
        directory.apply("team:T99", record({"branch": "B13"}))
        directory.apply(
            "agent:A2001",
            record(
                {
                    "assignments": [
                        {"team": "T99", "phone": "+81-90-9999-2001", "from": "2025-04-01"}
                    ]
                }
            ),
        )

        assert directory.resolve_branch("B13") == OrgPath("ACME", "R4", "B13")
        assert directory.resolve_agent("A2001", date(2025, 4, 1)) == OrgPath(
            "ACME", "R4", "B13", "T99", "A2001"
        )
        assert directory.chart.headcount("branch:B13") == 12

    def test_an_agent_in_a_team_not_yet_added_is_refused(self, directory: OrgDirectory) -> None:
        with pytest.raises(OrgChangeRejected) as refused:
            directory.apply(
                "agent:A2001",
                record(
                    {
                        "assignments": [
                            {"team": "T99", "phone": "+81-90-9999-2001", "from": "2025-04-01"}
                        ]
                    }
                ),
            )

        assert "T99" in str(refused.value)
        assert directory.resolve_agent("A2001", date(2025, 4, 1)) is None

    def test_moving_a_team_to_another_branch_moves_its_agents(
        self, directory: OrgDirectory
    ) -> None:
        directory.apply("team:T05", record({"branch": "B01"}))

        assert directory.resolve_agent("A0123", date(2024, 9, 30)) == OrgPath(
            "ACME", "R1", "B01", "T05", "A0123"
        )

    def test_a_branch_change_keeps_its_teams(self, directory: OrgDirectory) -> None:
        directory.apply("branch:B02", record({"region": "R2", "headcount": 90}))

        assert directory.resolve_agent("A0123", date(2024, 9, 30)) == OrgPath(
            "ACME", "R2", "B02", "T05", "A0123"
        )
        assert directory.chart.headcount("branch:B02") == 90

        directory.apply("branch:B02", None)

        assert directory.chart.headcount("branch:B02") == 101
