"""The demo company's stream as `kpi demo` and `kpi run --demo` read it: from the configured org
chart, in the calendar's time zone, a number of days from a start date."""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.demo.generator import Document, generate_events
from shared.config.loading import load_calendar, load_org
from shared.settings import Settings


def demo_documents(settings: Settings, start: str, days: int, seed: int) -> Iterator[Document]:
    """The upstream documents of `days` local days from `start` (YYYY-MM-DD), oldest first."""
    org = load_org(settings.config_dir / "org.yaml")
    calendar = load_calendar(settings.config_dir / "calendar.yaml")
    zone = ZoneInfo(calendar.timezone)
    first = datetime.combine(date.fromisoformat(start), time(), zone)
    return generate_events(org, start=first, end=first + timedelta(days=days), seed=seed)
