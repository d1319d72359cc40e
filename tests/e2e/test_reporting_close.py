"""Reporting as real processes: a replayed demo fiscal year gets a scorecard for every entity at
every month close, the quiet branch included (and its scorecard says it was quiet); a late
event after a close produces revision 2 with the changed figures, read back through
`kpi scorecard` and the service's HTTP endpoint. Scores and scorecards carry the definitions
version of the configuration the services loaded."""

import asyncio
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.demo.generator import generate_events, write_jsonl
from services.demo.profiles import DEMO_QUIET_BRANCHES
from services.reporting.domain import load_profiles
from shared import topics
from shared.config.loading import load_calendar, load_org
from shared.config.org import Level
from shared.kpi.catalogue import load_catalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.versions import load_definitions
from shared.localstack import LocalStack
from shared.settings import Settings
from tests.support.pipeline_runs import (
    assert_same,
    dead_letters,
    reference,
    scorecards,
    scoring_state,
    stop,
)
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import publish_raw, read_until

pytestmark = pytest.mark.e2e

TOKYO = ZoneInfo("Asia/Tokyo")
MONTHS = [f"2024-{m:02d}" for m in range(4, 13)] + [f"2025-{m:02d}" for m in range(1, 4)]
LATE_AGENT = "A0010"  # team T02, branch B01


def _entities() -> set[str]:
    org = load_org(Path("config/org.yaml"))
    config = load_profiles(Path("config"), load_catalogue(Path("config/kpis.yaml")))
    return {e for level in Level for e in org.entities(level) if config.profile_for(e) is not None}


def _kpi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


async def _until(settings: Settings, query: dict[str, Any], count: int, timeout_s: float) -> int:
    deadline = asyncio.get_running_loop().time() + timeout_s
    found = 0
    while asyncio.get_running_loop().time() < deadline:
        found = len(await scorecards(settings, query))
        if found >= count:
            return found
        await asyncio.sleep(2)
    return found


def _late_policy() -> bytes:
    return json.dumps(
        {
            "event_id": "late-after-close-1",
            "event_type": "policy",
            "schema_version": 1,
            "occurred_at": "2025-03-20T11:00:00+09:00",
            "source": "policy-admin",
            "agent_id": LATE_AGENT,
            "policy_id": "P-LATE-0001",
            "customer_id": "C-LATE-0001",
            "action": "issued",
            "product_line": "auto",
            "premium": "9000000",
            "currency": "JPY",
            "channel": "face_to_face",
            "new_business": True,
        }
    ).encode()


async def test_a_replayed_year_gets_scorecards_at_every_close_and_a_late_event_revises(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    env = service_env(settings) | {"KPI_REPORTING_TICK_S": "1"}
    org = load_org(Path("config/org.yaml"))
    start = datetime(2024, 4, 1, tzinfo=TOKYO)
    # The fiscal year FY2024 and two days of April 2025, so that March 2025 closes too.
    demo = tmp_path / "demo.jsonl"
    stream = generate_events(
        org, start=start, end=datetime(2025, 4, 3, tzinfo=TOKYO), seed=11, events_per_day=50
    )
    write_jsonl(list(stream), demo)
    entities = _entities()
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("i", "s", "r")}
    children = [
        subprocess.Popen(  # noqa: ASYNC220 - long-running services beside the test
            [sys.executable, "-m", "services.cli.main", "serve", name],
            env=env,
            stdout=logs[name[0]],
            stderr=subprocess.STDOUT,
        )
        for name in ("ingest", "scoring", "reporting")
    ]
    try:
        replayed = await asyncio.to_thread(_kpi, env, "replay", str(demo))
        assert replayed.returncode == 0, replayed.stderr
        idle = await asyncio.to_thread(
            _kpi, env, "wait-idle", "--timeout", "600", "--service", "ingest", "--service",
            "scoring",
        )  # fmt: skip
        assert idle.returncode == 0, idle.stdout + idle.stderr
        assert await dead_letters(settings) == [], "the demo year is clean: nothing is late"
        assert_same(
            await scoring_state(settings),
            await reference(settings, FiscalCalendar(load_calendar(Path("config/calendar.yaml")))),
        )

        # Every month close: a scorecard for each entity with a profile.
        assert await _until(settings, {"period": "2025-03"}, len(entities), 300) >= len(entities)
        for month in MONTHS:
            cards = await scorecards(settings, {"period": month})
            assert {c["entity"] for c in cards} == entities, month
        # No month closed before its events were applied: nothing was revised.
        assert await scorecards(settings, {"status": "revised"}) == []

        # Scores and scorecards name the definitions version the services loaded.
        version = load_definitions(Path("config")).model_dump()
        march = await scorecards(settings, {"period": "2025-03"})
        assert [c for c in march if c["definitions"] != version] == []
        scored = await read_until(settings, [topics.SCORES], lambda r: len(r) >= 1_000)
        assert len(scored) >= 1_000
        assert {json.dumps(json.loads(r.value)["definitions"]) for r in scored} == {
            json.dumps(version)
        }

        # The quiet branch has a target and no events: its scorecard says so.
        quiet = sorted(DEMO_QUIET_BRANCHES)[0]
        quiet_cards = await scorecards(settings, {"period": "2024-06", "entity": f"branch:{quiet}"})
        card = max(quiet_cards, key=lambda c: c["revision"])
        assert card["activity"] is False
        assert any("no event" in note.lower() for note in card["notes"]), card["notes"]
        assert any(line["target"] is not None for line in card["kpis"])

        # A late event for March (closed, still within the allowed lateness): revision + 1.
        before = max(
            (c for c in await scorecards(settings, {"period": "2025-03", "entity": "branch:B01"})),
            key=lambda c: c["revision"],
        )
        await publish_raw(settings, [_late_policy()])
        query = {"period": "2025-03", "entity": "branch:B01", "revision": before["revision"] + 1}
        assert await _until(settings, query, 1, 180) == 1
        [after] = await scorecards(settings, query)
        assert after["status"] == "revised"

        def actuals(card: dict[str, Any]) -> dict[str, Any]:
            return {line["kpi"]: line["actual"] for line in card["kpis"]}

        changed = {k for k, v in actuals(after).items() if actuals(before).get(k) != v}
        assert changed, "the revision changes no figure"

        # The same scorecard through the command line and over HTTP.
        shown = await asyncio.to_thread(
            _kpi, env, "scorecard", "--entity", "branch:B01", "--period", "2025-03",
            "--format", "json",
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["revision"] == after["revision"]
        port = settings.http_port_for("reporting")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            page = await http.get("/scorecards/branch:B01/2025-03", params={"format": "html"})
            table = await http.get("/scorecards/branch:B01/2025-03", params={"format": "csv"})
            missing = await http.get("/scorecards/branch:B01/2031-03")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "Tokyo Chuo Branch (branch:B01)" in page.text  # org.yaml's name beside the id
        assert "<svg" in page.text
        assert table.status_code == 200
        assert "renewal_rate" in table.text
        assert missing.status_code == 404
    finally:
        stop(children)
