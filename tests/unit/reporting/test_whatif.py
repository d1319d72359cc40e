"""`kpi whatif` with fakes: a period's scorecards under a draft profile file beside the official
ones, from scoring's read model (here over the in-memory state store), with exact figures, in
every format, and nothing published."""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.reporting.domain import ScorecardConfig, load_profiles
from services.reporting.whatif import WhatIfReport, WhatIfRow
from services.reporting.whatif_run import Draft, load_draft, run_whatif
from services.scoring.read_model import GroupClock, MemoryScoreQueries, StateScoreQueries
from shared.errors import ConfigError, KpiError
from shared.kpi.config import KpiConfig, load_kpi_config
from shared.messages.score import Score
from shared.messages.scorecard import Grade
from tests.support.fake_state_store import MemoryStateStore
from tests.support.score_queries_contract import apply_scenario
from tests.support.whatif_case import company_config, draft_profiles

NOW = datetime(2026, 11, 30, tzinfo=UTC)


class Case:
    def __init__(self, tmp_path: Path) -> None:
        self.config_dir = company_config(tmp_path)
        self.config: KpiConfig = load_kpi_config(self.config_dir)
        self.official: ScorecardConfig = load_profiles(
            self.config_dir, self.config.catalogue, org=self.config.org
        )
        self.draft: Draft = load_draft(self.config_dir, str(draft_profiles(tmp_path)), self.config)
        self.state = MemoryStateStore()
        self.applied = False

    async def run(self, period: str | None, fmt: str = "table") -> tuple[str, WhatIfReport]:
        if not self.applied:
            await apply_scenario(self.state, self.config)
            self.applied = True
        reader = StateScoreQueries(self.state, self.config)
        return await run_whatif(
            reader,
            config=self.config,
            official=self.official,
            draft=self.draft,
            period=period,
            fmt=fmt,
            now=NOW,
        )


def row(report: WhatIfReport, entity: str) -> WhatIfRow:
    return next(r for r in report.rows if r.entity == entity)


def figures(found: WhatIfRow) -> tuple[object, ...]:
    assert found.official is not None
    assert found.draft is not None
    return (
        found.official.final_score,
        found.official.grade,
        found.draft.final_score,
        found.draft.grade,
        found.difference,
    )


async def test_may_the_clerk_qualifies_under_the_draft_and_nothing_else_moves(
    tmp_path: Path,
) -> None:
    _, report = await Case(tmp_path).run("2024-05")
    # satisfaction 80: 15 × 80 / 85 = 14.12 officially, 15 × 80 / 80 = 15.00 in the draft
    assert figures(row(report, "agent:A1")) == (
        Decimal("14.12"),
        Grade.NEEDS_IMPROVEMENT,
        Decimal("15.00"),
        Grade.QUALIFIED,
        Decimal("0.88"),
    )
    assert row(report, "agent:A1").grade_change == 1
    # a branch (profile branch, satisfaction 10 points against 85): 10 × 80 / 85 = 9.41
    assert figures(row(report, "branch:B01")) == (
        Decimal("9.41"),
        Grade.NEEDS_IMPROVEMENT,
        Decimal("9.41"),
        Grade.NEEDS_IMPROVEMENT,
        Decimal("0.00"),
    )
    assert [r.entity for r in report.rows] == [
        "company:ACME", "region:R1", "branch:B01", "branch:B08", "team:T01", "team:T08",
        "agent:A1", "agent:A2",
    ]  # fmt: skip
    assert (report.compared, report.grades_changed, report.grades_up, report.grades_down) == (
        8,
        1,
        1,
        0,
    )
    assert report.scores_changed == 1
    assert report.grades("official") == {
        Grade.EXCELLENT: 0,
        Grade.QUALIFIED: 0,
        Grade.NEEDS_IMPROVEMENT: 8,
    }
    assert report.grades("draft")[Grade.QUALIFIED] == 1


async def test_april_by_default_the_last_complete_month_of_scoring(tmp_path: Path) -> None:
    text, report = await Case(tmp_path).run(None)
    assert report.period == "2024-04"  # the latest event is on 28 May
    # satisfaction 50: 15 × 50 / 85 = 8.82 and 15 × 50 / 80 = 9.38 (half up)
    assert figures(row(report, "agent:A1"))[::2] == (
        Decimal("8.82"),
        Decimal("9.38"),
        Decimal("0.56"),
    )
    assert report.grades_changed == 0
    assert "period 2024-04: 8 entities compared, 0 grades change (0 up, 0 down), 1 final " in text


async def test_the_table_shows_each_entity_and_the_summary(tmp_path: Path) -> None:
    case = Case(tmp_path)
    text, _ = await case.run("2024-05")
    lines = text.splitlines()
    assert lines[0].split() == [
        "entity", "official_profile", "official_score", "official_grade", "draft_profile",
        "draft_score", "draft_grade", "difference", "grade_change",
    ]  # fmt: skip
    clerk = next(line for line in lines if line.startswith("agent:A1 "))
    assert clerk.split() == [
        "agent:A1", "renewal_clerk", "14.12", "needs_improvement", "renewal_clerk", "15.00",
        "qualified", "+0.88", "up",
    ]  # fmt: skip
    assert lines[-6:] == [
        "period 2024-05: 8 entities compared, 1 grades change (1 up, 0 down), 1 final scores "
        "differ",
        "official grades: excellent 0, qualified 0, needs_improvement 8",
        "draft grades:    excellent 0, qualified 1, needs_improvement 7",
        f"official definitions: {case.config.definitions.hash} (demo scheme 1)",
        f"draft definitions:    {case.draft.version.hash} (demo scheme 1)",
        "nothing was published",
    ]
    assert case.draft.version.hash != case.config.definitions.hash


async def test_csv_has_plain_decimals_and_grade_ids(tmp_path: Path) -> None:
    text, _ = await Case(tmp_path).run("2024-05", "csv")
    rows = text.split("\r\n")
    assert rows[0] == (
        "entity,official_profile,official_score,official_grade,draft_profile,draft_score,"
        "draft_grade,difference,grade_change"
    )
    assert (
        "agent:A1,renewal_clerk,14.12,needs_improvement,renewal_clerk,15.00,qualified,0.88,up"
        in rows
    )
    assert (
        "agent:A2,renewal_clerk,0.00,needs_improvement,renewal_clerk,0.00,needs_improvement,0.00,"
        in rows
    )
    assert len(rows) == 1 + 8 + 1  # header, entities, the empty string after the last CRLF


async def test_html_is_a_standalone_escaped_page(tmp_path: Path) -> None:
    text, _ = await Case(tmp_path).run("2024-05", "html")
    assert text.startswith("<!DOCTYPE html>")
    assert '<tr class="whatif-row grade-changed" data-entity="agent:A1">' in text
    assert "<td>+0.88</td>" in text
    assert "http://" not in text
    assert "https://" not in text
    assert "1 grades change (1 up, 0 down)" in text


async def test_a_draft_that_drops_a_profile_leaves_those_entities_one_sided(
    tmp_path: Path,
) -> None:
    case = Case(tmp_path)
    draft_file = tmp_path / "no-teams.yaml"
    draft_file.write_text(
        (case.config_dir / "scorecards.yaml")
        .read_text(encoding="utf-8")
        .replace("    team: service_centre\n", ""),
        encoding="utf-8",
    )
    case.draft = load_draft(case.config_dir, str(draft_file), case.config)
    text, report = await case.run("2024-05")
    teams = [r for r in report.rows if r.entity.startswith("team:")]
    assert [(r.official is not None, r.draft is None, r.difference) for r in teams] == [
        (True, True, None),
        (True, True, None),
    ]
    assert (report.compared, report.only_official, report.only_draft) == (6, 2, 0)
    assert "2 entities have a scorecard only officially, 0 only under the draft" in text


def test_a_bad_draft_names_the_draft_file_and_field(tmp_path: Path) -> None:
    case_dir = company_config(tmp_path)
    config = load_kpi_config(case_dir)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (case_dir / "scorecards.yaml")
        .read_text(encoding="utf-8")
        .replace("weight: 40", "weight: 41", 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_draft(case_dir, str(bad), config)
    assert str(raised.value).startswith(
        f"{bad}: profiles[0] (renewal_clerk).kpis: weights add up to 101"
    )
    with pytest.raises(KpiError, match="no such file"):
        load_draft(case_dir, str(tmp_path / "missing.yaml"), config)


async def test_a_window_an_unknown_period_or_no_scores_are_refused(tmp_path: Path) -> None:
    case = Case(tmp_path)
    with pytest.raises(KpiError, match="rolling window"):
        await case.run("R30D")
    with pytest.raises(KpiError, match="is not a month"):
        await case.run("2024-5")
    empty = MemoryScoreQueries()
    with pytest.raises(KpiError, match="no scores yet"):
        await run_whatif(
            empty,
            config=case.config,
            official=case.official,
            draft=case.draft,
            period=None,
            fmt="table",
        )


async def test_nothing_is_published_or_stored(tmp_path: Path) -> None:
    """The what-if reads two things of scoring's read model and writes nowhere: the reader is
    its only port, and a reader that records its calls sees only reads."""

    class Recording(MemoryScoreQueries):
        def __init__(self) -> None:
            super().__init__(clock=GroupClock(NOW, NOW, NOW))
            self.calls: list[str] = []

        async def period_scores(
            self, entities: Sequence[str], period: str
        ) -> dict[str, list[Score]]:
            self.calls.append(f"period_scores {period} {len(entities)}")
            return await super().period_scores(entities, period)

    case = Case(tmp_path)
    reader = Recording()
    await run_whatif(
        reader, config=case.config, official=case.official, draft=case.draft, period="2024-05",
        fmt="table",
    )  # fmt: skip
    assert reader.calls == ["period_scores 2024-05 8"]
