"""What `kpi run` backfills: from when, for which company (its own configuration directory),
and the stream it reads the backfill and then the live feed from."""

import contextlib
import io
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

import pytest

from services.cli import demo_backfill
from services.cli.demo_backfill import last_closed_month, occurred, profiled_entities
from services.cli.demo_feed import DEMO_SEED, history_start, write_demo_config
from services.demo.generator import Document, volume_scale
from shared.config import load_calendar, load_org, read_yaml
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.settings import Settings

CONFIG: Final = Path(__file__).resolve().parents[3] / "config"
TOKYO: Final = ZoneInfo("Asia/Tokyo")
CALENDAR: Final = FiscalCalendar(load_calendar(CONFIG / "calendar.yaml"))


@pytest.mark.parametrize(
    ("now", "months", "start"),
    [
        (datetime(2026, 11, 30, 10, 0, tzinfo=TOKYO), 13, datetime(2025, 9, 1, tzinfo=TOKYO)),
        (datetime(2026, 1, 1, 0, 0, tzinfo=TOKYO), 13, datetime(2024, 11, 1, tzinfo=TOKYO)),
        (datetime(2026, 3, 15, 12, 0, tzinfo=TOKYO), 1, datetime(2026, 1, 1, tzinfo=TOKYO)),
        (datetime(2026, 3, 15, 12, 0, tzinfo=TOKYO), 0, datetime(2026, 2, 1, tzinfo=TOKYO)),
    ],
)
def test_the_history_starts_months_before_the_last_closed_month(
    now: datetime, months: int, start: datetime
) -> None:
    assert history_start(now, months) == start
    # `months` before the last closed month: with 13, the policies whose 13-month anniversary
    # falls in the last closed month were issued in the history's first month.
    year, month = map(int, last_closed_month(CALENDAR, now).split("-"))
    assert (year * 12 + month) - (start.year * 12 + start.month) == months


def test_the_last_closed_month_is_local() -> None:
    assert last_closed_month(CALENDAR, datetime(2026, 11, 30, 15, 30, tzinfo=ZoneInfo("UTC"))) == (
        "2026-11"  # already 1 December in Tokyo
    )
    assert last_closed_month(CALENDAR, datetime(2026, 11, 30, 10, 0, tzinfo=TOKYO)) == "2026-10"


def test_the_demo_configuration_is_the_configured_one_cut(tmp_path: Path) -> None:
    company = write_demo_config(
        CONFIG, tmp_path / "demo-config", agents_every=14, events_per_day=80
    )
    assert sorted(p.name for p in company.config_dir.iterdir()) == sorted(
        p.name for p in CONFIG.iterdir()
    )
    assert len(company.org.agent_ids) == 83
    assert load_org(company.config_dir / "org.yaml").name("team:T05", "zh") == "销售一组"
    assert (
        (company.config_dir / "org.yaml")
        .read_text(encoding="utf-8")
        .startswith("# Written by `kpi run`")
    )
    assert company.timezone == "Asia/Tokyo"
    # Plans: × the share of agents kept × the share of the natural volume the stream carries.
    targets = read_yaml(company.config_dir / "targets.yaml")
    assert isinstance(targets, dict)
    volume = volume_scale(company.org, seed=DEMO_SEED, events_per_day=80)
    baseline = Decimal(targets["premium_plan"]["branch_baseline_per_year"])
    expected = Decimal(2_000_000_000) * 83 / 1000 * Decimal(str(round(volume, 6)))
    assert abs(baseline - expected) <= 1
    # The scorecards' money targets too: a clerk's renewal premium × the volume's share.
    scorecards = read_yaml(company.config_dir / "scorecards.yaml")
    assert isinstance(scorecards, dict)
    (clerk,) = [p for p in scorecards["profiles"] if p["id"] == "renewal_clerk"]
    (line,) = [k for k in clerk["kpis"] if k["kpi"] == "renewal_premium"]
    assert Decimal(line["target"]["per_year"]) == (
        Decimal(16_000_000) * Decimal(str(round(volume, 6)))
    ).quantize(Decimal(1))
    entities = profiled_entities(company)
    assert len(entities) == 83 + 38 + 12 + 3 + 1
    # Written again, it replaces what was there.
    again = write_demo_config(CONFIG, company.config_dir, agents_every=40, events_per_day=None)
    assert len(again.org.agent_ids) < 83


def test_the_stream_runs_on_past_now_in_time_order(tmp_path: Path) -> None:
    company = write_demo_config(CONFIG, tmp_path / "demo", agents_every=40, events_per_day=40)
    start = datetime(2026, 10, 1, tzinfo=TOKYO)
    events = list(islice(company.stream(start), 3_000))
    times = [occurred(e) for e in events]
    assert times == sorted(times)
    assert times[0] >= start
    assert times[-1] > start + timedelta(days=30)
    assert all(e["agent_id"] in company.org.agent_ids for e in events if "agent_id" in e)


async def test_the_history_tells_its_last_event_so_kpi_run_waits_for_the_month_it_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 00:58 on 1 December after a last event at 23:25 on 30 November, the close clock
    reaches December only 35 minutes after the backfill: `kpi run` waits for October."""
    sent: list[str] = []

    @contextlib.asynccontextmanager
    async def no_broker(settings: object) -> AsyncIterator[None]:
        yield None

    async def publish(client: None, chunk: list[tuple[str, Document]], totals: Any) -> None:
        sent.extend(label for label, _ in chunk)
        totals.sent += len(chunk)

    monkeypatch.setattr(demo_backfill, "producer", no_broker)
    monkeypatch.setattr(demo_backfill, "publish_documents", publish)
    times = [datetime(2026, 11, 30, h, m, tzinfo=TOKYO) for h, m in ((9, 0), (23, 25))]
    events: list[Document] = [
        {"event_id": f"e{i}", "occurred_at": t.isoformat()} for i, t in enumerate(times)
    ]
    events.append({"event_id": "live", "occurred_at": "2026-12-01T09:00:00+09:00"})
    stream: Iterator[Document] = iter(events)
    now = datetime(2026, 12, 1, 0, 58, tzinfo=TOKYO)
    history = await demo_backfill.publish_history(
        cast("Settings", None), stream, now, io.StringIO()
    )
    assert (sent, history.first, history.last) == (["e0", "e1"], times[0], times[1])
    assert history.next_event is not None
    assert history.next_event["event_id"] == "live"
    assert last_closed_month(CALENDAR, history.last) == "2026-10"
    assert last_closed_month(CALENDAR, now) == "2026-11"
