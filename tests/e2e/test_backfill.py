"""Loading last year's history, then going live, loses nothing (DESIGN §4).

A two-fiscal-year history of a company of more than 200 agents, every event kind, time-ordered
in one file, is the first thing an insurer loads. Before event time was kept per channel, most
of such a backfill was dead-lettered as `too_late`: the first partition to be read moved a
single watermark to the end of the history.

- Published before the services start (a backlog in every partition), it is applied whole:
  0 dead letters, every counter of every entity and period equal to the independent reference
  recomputation, and reporting closes no month before its events are read (no scorecard is
  revised). The same file replayed while the services run changes nothing.
- Published topic by topic, oldest source first (the adversarial order: all policies of two
  years before the first renewal), every event within the allowed lateness of its own
  partition's progress is accepted. The rule rejects exactly the five stale policies appended
  to the policy topic: each is more than the allowed lateness behind the policies that came
  before it in its own source partition. And the two renewal outcomes appended to the renewal
  topic: each occurred as recently as the renewals before it, but counts in the month its
  renewal fell due, four months earlier, whose lateness is long past (lateness is judged for the
  month an event counts in). Nothing else is late, since each topic is in time order.
"""

import asyncio
import json
from base64 import b64decode
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.demo.generator import generate_events, write_jsonl
from services.reporting.domain import load_profiles
from shared.config.loading import load_calendar, load_org
from shared.config.org import Level
from shared.kpi.catalogue import load_catalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.localstack import LocalStack
from shared.settings import Settings
from tests.support.config_copies import config_with_agent_share
from tests.support.pipeline_runs import (
    assert_same,
    dead_letters,
    kpi,
    reference,
    scorecards,
    scoring_state,
    serve,
    stop,
    wait_idle,
)
from tests.support.stack_fixtures import service_env

pytestmark = pytest.mark.e2e

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2023, 4, 1, tzinfo=TOKYO)
END = datetime(2025, 4, 3, tzinfo=TOKYO)  # FY2023 and FY2024, and two days: March 2025 closes
EVENTS_PER_DAY = 75
AGENT_SHARE = 4  # every fourth agent of each team: 265 of the demo company's 1,003
TOPIC_ORDER = ("policy", "renewal", "complaint", "survey", "assessment", "training")
STALE = 5
LATE_RENEWALS = 2
CALENDAR = FiscalCalendar(load_calendar(Path("config/calendar.yaml")))


def _config(tmp_path: Path) -> Path:
    return config_with_agent_share(tmp_path, AGENT_SHARE)


def _history(config: Path) -> list[dict[str, Any]]:
    org = load_org(config / "org.yaml")
    assert len(org.agent_ids) >= 200
    events = list(
        generate_events(org, start=START, end=END, seed=23, events_per_day=EVENTS_PER_DAY)
    )
    assert len(events) >= 50_000
    assert {e["event_type"] for e in events} == set(TOPIC_ORDER)
    return events


def _profiled(config: Path) -> set[str]:
    org = load_org(config / "org.yaml")
    profiles = load_profiles(config, load_catalogue(config / "kpis.yaml"))
    return {e for level in Level for e in org.entities(level) if profiles.profile_for(e)}


async def _untilscorecards(settings: Settings, period: str, count: int) -> int:
    deadline = asyncio.get_running_loop().time() + 300
    found = 0
    while asyncio.get_running_loop().time() < deadline:
        found = len({c["entity"] for c in await scorecards(settings, {"period": period})})
        if found >= count:
            break
        await asyncio.sleep(2)
    return found


def _env(settings: Settings, config: Path) -> dict[str, str]:
    return service_env(settings) | {
        "KPI_CONFIG_DIR": str(config),
        "KPI_REPORTING_TICK_S": "1",
        "KPI_IDLE_TIMEOUT_S": "5",
    }


async def test_a_backlog_of_two_years_is_applied_whole_and_closes_no_month_early(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    config = _config(tmp_path)
    env = _env(settings, config)
    history = tmp_path / "history.jsonl"
    write_jsonl(_history(config), history)

    published = await asyncio.to_thread(kpi, env, "replay", str(history))
    assert published.returncode == 0, published.stdout + published.stderr
    logs = tmp_path / "services.log"
    children = [serve(name, env, logs) for name in ("ingest", "scoring", "reporting")]
    try:
        await wait_idle(env)
        assert await dead_letters(settings) == []
        first = await scoring_state(settings)
        assert_same(first, await reference(settings, CALENDAR))

        # Reporting closed every month up to March 2025 by the low watermark, and none of
        # them before its events were read: no scorecard was ever revised.
        entities = _profiled(config)
        assert await _untilscorecards(settings, "2025-03", len(entities)) == len(entities)
        cards = await scorecards(settings, {})
        assert {c["period"] for c in cards} >= {"2024-04", "2024-12", "FY2024-Q3"}
        assert [c for c in cards if c["status"] == "revised"] == []

        # The same history replayed while the services run: ingest drops every repeat.
        again = await asyncio.to_thread(kpi, env, "replay", str(history))
        assert again.returncode == 0, again.stdout + again.stderr
        await wait_idle(env)
        assert await scoring_state(settings) == first
        assert await dead_letters(settings) == []
    finally:
        stop(children)


def _adversarial(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
    """Topic by topic, oldest source first, each in time order; five stale policies (copies of
    policies of about four months before the end, with new ids) close the policy topic, and
    two renewal outcomes of today for renewals due four months before close the renewal
    topic."""
    by_topic = sorted(events, key=lambda e: TOPIC_ORDER.index(e["event_type"]))
    last_policy = max(i for i, e in enumerate(by_topic) if e["event_type"] == "policy")
    since = (END - timedelta(days=120)).isoformat()
    stale = [
        e | {"event_id": f"stale-{n}"}
        for n, e in enumerate(
            [e for e in by_topic[:last_policy] if e["occurred_at"] >= since][:STALE]
        )
    ]
    assert len(stale) == STALE
    renewals = [e for e in by_topic if e["event_type"] == "renewal"]
    last = renewals[-1]
    outcomes = [e for e in renewals if e["action"] in {"renewed", "lost"}][-LATE_RENEWALS:]
    due = (END - timedelta(days=120)).date().isoformat()
    late = [
        e
        | {
            "event_id": f"RN-LATE-{n}:{e['action']}",
            "renewal_id": f"RN-LATE-{n}",
            "due_date": due,
            "occurred_at": last["occurred_at"],  # on time by when it happened
        }
        for n, e in enumerate(outcomes)
    ]
    assert len(late) == LATE_RENEWALS
    last_renewal = by_topic.index(last)
    ordered = [
        *by_topic[: last_policy + 1],
        *stale,
        *by_topic[last_policy + 1 : last_renewal + 1],
        *late,
        *by_topic[last_renewal + 1 :],
    ]
    return ordered, {f"{e['source']}:{e['event_id']}" for e in [*stale, *late]}


async def test_topic_by_topic_only_events_late_in_their_own_partition_are_refused(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    config = _config(tmp_path)
    env = _env(settings, config)
    ordered, stale = _adversarial(_history(config))
    history = tmp_path / "by-topic.jsonl"
    write_jsonl(ordered, history)

    logs = tmp_path / "services.log"
    children = [serve(name, env, logs) for name in ("ingest", "scoring")]
    try:
        published = await asyncio.to_thread(kpi, env, "replay", str(history))
        assert published.returncode == 0, published.stdout + published.stderr
        await wait_idle(env)
        letters = await dead_letters(settings)
        assert sorted(letter["reason"] for letter in letters) == ["too_late"] * (
            STALE + LATE_RENEWALS
        )
        refused = {json.loads(b64decode(letter["payload_base64"]))["key"] for letter in letters}
        assert refused == stale
        assert_same(
            await scoring_state(settings),
            await reference(settings, CALENDAR, keep=lambda e: e.key not in stale),
        )
    finally:
        stop(children)
