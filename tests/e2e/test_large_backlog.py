"""A large backlog drains (issue 12): the whole demo company (1,000 agents) over two fiscal
years, 183 events a day, about 128,500 events, published before the services start.

Before batches were bounded by what their commit does, such a backlog livelocked: scoring's
batches of about 15,000 events outlived the database's transaction lifetime, were aborted
(`NoSuchTransaction`) and retried at the same size. Here every event is applied, the state
equals the independent reference recomputation, nothing is dead-lettered, and no commit had to
be split for its length (scoring's `kpi_scoring_batch_splits_total` stays 0). The peak memory
of ingest and scoring is recorded and bounded by what a batch holds, not by the backlog."""

import asyncio
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from benchmarks.processes import peak_rss_mib
from services.demo.generator import generate_events, write_jsonl
from shared.config.loading import load_calendar, load_org
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.localstack import LocalStack
from shared.settings import Settings
from tests.support.pipeline_runs import (
    assert_same,
    dead_letters,
    kpi,
    reference,
    scoring_state,
    serve,
    stop,
    wait_idle,
)
from tests.support.stack_fixtures import service_env

pytestmark = pytest.mark.e2e

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2023, 4, 1, tzinfo=TOKYO)
END = datetime(2025, 4, 1, tzinfo=TOKYO)
EVENTS_PER_DAY = 183  # the 1,000-agent, two-year backlog: about 128,500 events
# A batch holds at most KPI_SCORING_MAX_BATCH records (50,000), their events and the state
# they touch; the backlog itself is never held. Generous, so that the bound and not the
# machine is what it checks: a leak that grew with the backlog would pass 2 GiB.
RSS_BOUND_MIB = 1_500
CALENDAR = FiscalCalendar(load_calendar(Path("config/calendar.yaml")))


def _metric(settings: Settings, service: str, name: str) -> float:
    port = settings.http_port_for(service)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    ]
    return sum(values)


async def test_the_whole_company_over_two_years_drains_as_a_backlog(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    env = service_env(settings) | {"KPI_IDLE_TIMEOUT_S": "5"}
    org = load_org(Path("config/org.yaml"))
    assert len(org.agent_ids) >= 1_000
    events = list(
        generate_events(org, start=START, end=END, seed=29, events_per_day=EVENTS_PER_DAY)
    )
    assert len(events) > 125_000
    history = tmp_path / "history.jsonl"
    write_jsonl(events, history)

    published = await asyncio.to_thread(kpi, env, "replay", str(history))
    assert published.returncode == 0, published.stdout + published.stderr
    logs = tmp_path / "services.log"
    children = {name: serve(name, env, logs) for name in ("ingest", "scoring")}
    try:
        await wait_idle(env, timeout_s=1_500)
        peaks = {name: peak_rss_mib(child.pid) for name, child in children.items()}
        assert await dead_letters(settings) == []
        assert _metric(settings, "scoring", "kpi_scoring_events_applied_total") == len(events)
        assert _metric(settings, "scoring", "kpi_scoring_batch_splits_total") == 0
        assert_same(await scoring_state(settings), await reference(settings, CALENDAR))
        for name, peak in peaks.items():
            print(f"peak RSS of {name}: {peak:.0f} MiB")
            assert 0 < peak < RSS_BOUND_MIB, name
    finally:
        stop(list(children.values()))
