"""The demo company's history has no event that scoring refuses as too late: renewal outcomes
and assessments, which count in an earlier month than they occur in (the due month, the
assessed period; `counted_month`), come within that month's allowed lateness. Before, part
of it (400 days, 300 events a day) held 85 lost renewals, 314 assessments and a contact
given after it."""

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from services.demo.generator import generate_events
from shared.config import load_calendar, load_org
from shared.kpi.fiscal_calendar import FiscalCalendar

CONFIG: Final = Path(__file__).resolve().parents[3] / "config"
CALENDAR: Final = FiscalCalendar(load_calendar(CONFIG / "calendar.yaml"))


def _counted_in(document: dict[str, object], occurred: datetime) -> str | None:
    """The month a renewal step or an assessment counts in, when earlier than it occurred."""
    month = CALENDAR.month_of(occurred)
    if document["event_type"] == "renewal":
        return min(month, CALENDAR.month_of_date(date.fromisoformat(str(document["due_date"]))))
    if document["event_type"] == "assessment":
        return min(month, CALENDAR.months_of(str(document["period"]))[0])
    return None


def test_every_event_comes_within_the_lateness_of_the_month_it_counts_in() -> None:
    start = datetime(2024, 4, 1, tzinfo=ZoneInfo(CALENDAR.config.timezone))
    late: list[tuple[object, str]] = []
    earlier = 0
    for document in generate_events(
        load_org(CONFIG / "org.yaml"),
        start=start,
        end=start + timedelta(days=240),
        seed=7,
        events_per_day=150,
    ):
        occurred = datetime.fromisoformat(str(document["occurred_at"]))
        month = _counted_in(document, occurred)
        if month is None:
            continue
        earlier += month < CALENDAR.month_of(occurred)
        if occurred >= CALENDAR.lateness_deadline(month):
            late.append((document["event_id"], month))
    assert earlier > 1_000  # outcomes and assessments after their month: the case is there
    assert late == []
