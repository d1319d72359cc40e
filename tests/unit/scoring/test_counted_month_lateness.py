"""Lateness is judged for the month an event counts in (DESIGN §4): a renewal's steps count in
the month it fell due and an assessment in the period it assesses, so an outcome or an
assessment given after that month's allowed lateness is refused as `too_late`, as any other
event past it is. Before, it was judged for the month it occurred in and revised a month whose
scorecards reporting had already made final (run 6 of the 10-minute overload,
docs/resilience.md)."""

from datetime import date, datetime, timedelta, timezone

import pytest

from services.scoring.domain.batch import BatchOutcome, InputRecord, Position, apply_batch
from services.scoring.domain.contributions import counted_month
from shared.config import CalendarConfig
from shared.events import KpiEvent
from shared.kpi.components import C
from shared.kpi.fiscal_calendar import FiscalCalendar
from tests.support.scoring_events import canonical, renewal, survey

JST = timezone(timedelta(hours=9))
CALENDAR = FiscalCalendar(CalendarConfig(timezone="Asia/Tokyo", allowed_lateness_days=7))
DUE = date(2025, 8, 31)  # August takes late events until 2025-09-08 00:00 JST


def _assessment(number: int, at: datetime, period: str) -> KpiEvent:
    return canonical(
        "assessment",
        number,
        "A1",
        at,
        assessment_id=f"AS-{period}-A1",
        period=period,
        score=80,
        assessor_id="MGR-B01",
    )


def _apply(event: KpiEvent, watermark: datetime) -> BatchOutcome:
    """`event` read from a channel that has already reached `watermark`."""
    source = f"{event.source_topic}:{event.source_partition}"
    return apply_batch(
        [InputRecord("kpi.events.v1", 0, 0, event)],
        positions={("kpi.events.v1", 0): Position(None, {source: -1}, {source: watermark})},
        record_state={},
        calendar=CALENDAR,
    )


@pytest.mark.parametrize(
    ("event", "month"),
    [
        (renewal(1, "A1", datetime(2025, 9, 14, 10, tzinfo=JST), "lost", DUE, "R1"), "2025-08"),
        (renewal(2, "A1", datetime(2025, 7, 20, 10, tzinfo=JST), "due", DUE, "R2"), "2025-07"),
        (renewal(3, "A1", datetime(2025, 8, 3, 10, tzinfo=JST), "renewed", DUE, "R3"), "2025-08"),
        (_assessment(4, datetime(2025, 9, 10, 10, tzinfo=JST), "2025-08"), "2025-08"),
        (_assessment(5, datetime(2025, 10, 2, 10, tzinfo=JST), "FY2025-Q2"), "2025-07"),
        (survey(6, "A1", datetime(2025, 9, 10, 10, tzinfo=JST), score=9), "2025-09"),
    ],
)
def test_the_counted_month_is_the_earliest_month_the_event_changes(
    event: KpiEvent, month: str
) -> None:
    assert counted_month(event, CALENDAR) == month


def test_a_renewal_lost_after_its_due_months_lateness_is_too_late() -> None:
    lost = renewal(1, "A1", datetime(2025, 9, 14, 10, tzinfo=JST), "lost", DUE, "R1")
    outcome = _apply(lost, datetime(2025, 9, 13, tzinfo=JST))
    assert [reason.value for _, reason, _ in outcome.rejected] == ["too_late"]
    assert "counts in 2025-08" in outcome.rejected[0][2]
    assert outcome.deltas.nonzero() == {}


def test_an_assessment_given_after_its_periods_lateness_is_too_late() -> None:
    late = _assessment(2, datetime(2025, 9, 10, 10, tzinfo=JST), "2025-08")
    outcome = _apply(late, datetime(2025, 9, 9, tzinfo=JST))
    assert [reason.value for _, reason, _ in outcome.rejected] == ["too_late"]


def test_within_the_lateness_it_revises_the_month_it_counts_in() -> None:
    lost = renewal(3, "A1", datetime(2025, 9, 5, 10, tzinfo=JST), "lost", DUE, "R3")
    outcome = _apply(lost, datetime(2025, 9, 4, tzinfo=JST))
    assert outcome.rejected == []
    assert outcome.deltas[("agent:A1", "2025-08", C.RENEWAL_LOST)] == 1
    assert outcome.deltas[("agent:A1", "2025-08", C.REVISIONS)] == 1  # August is closed
    assert ("agent:A1", "2025-09", C.REVISIONS) not in outcome.deltas.nonzero()
