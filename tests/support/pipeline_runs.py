"""Running the pipeline as real processes and checking what it computed, for the e2e tests:
services started with `kpi serve`, the `kpi` command, the scoring state read back, and the
independent reference recomputation (tests/support/reference_scoring.py) to compare it with."""

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from shared import topics
from shared.events import KpiEvent
from shared.idle import end_offsets
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.settings import Settings
from tests.support.reference_scoring import (
    TOP_BOX,
    Counters,
    reference_counters,
    stored_counters,
)
from tests.support.topics_io import read_until


def serve(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`kpi serve NAME` as a child process, its output appended to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "serve", name],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def stop(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every child, and SIGKILL the ones that do not stop within 20 s."""
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()


def kpi(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """The `kpi` command, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


async def wait_idle(env: dict[str, str], *services: str, timeout_s: int = 600) -> None:
    names = [arg for service in services or ("ingest", "scoring") for arg in ("--service", service)]
    # The command's own timeout decides; the subprocess's (900 s by default) must not cut it short.
    done = await asyncio.to_thread(
        kpi, env, "wait-idle", "--timeout", str(timeout_s), *names, timeout=timeout_s + 60
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def scoring_state(settings: Settings) -> Counters:
    """Every counter in the scoring state."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    try:
        documents = await client[settings.mongodb_database]["scoring_counters"].find().to_list()
    finally:
        await client.close()
    return stored_counters(documents)


async def records_of(settings: Settings, topic: str) -> list[Any]:
    """Every record of a topic, however long reading it takes (a fixed read time is too short
    on a loaded machine)."""
    total = sum((await end_offsets(settings, [topic])).values())
    if total == 0:
        return []
    # 5,000 records a second at least, the rate of a loaded machine: the 10-minute overload's
    # score topic holds millions, and a fixed 180 s cut its check short.
    timeout_s = 180 + total / 5_000
    records = await read_until(settings, [topic], lambda rs: len(rs) >= total, timeout_s=timeout_s)
    assert len(records) == total, f"{len(records)} of {total} records of {topic} read"
    return records


async def reference(
    settings: Settings,
    calendar: FiscalCalendar,
    keep: Callable[[KpiEvent], bool] = lambda _: True,
    boxes: dict[str, dict[int, int]] = TOP_BOX,
) -> Counters:
    """The reference recomputation over every canonical event on `kpi.events.v1` (those `keep`
    accepts), with these survey boxes (default: DESIGN §5's top box)."""
    events = [
        KpiEvent.model_validate_json(r.value) for r in await records_of(settings, topics.EVENTS)
    ]
    return reference_counters([e for e in events if keep(e)], calendar, boxes)


async def dead_letters(settings: Settings) -> list[dict[str, Any]]:
    """Every dead letter published so far, as documents."""
    return [json.loads(r.value) for r in await records_of(settings, topics.DEADLETTER)]


async def scorecards(settings: Settings, query: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored scorecards (every revision) matching a query on their stored fields
    (`entity`, `period`, `revision`, `status`)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    try:
        cursor = client[settings.mongodb_database]["scorecards"].find(query)
        return [json.loads(doc["card"]) async for doc in cursor]
    finally:
        await client.close()


def assert_same(state: Counters, expected: Counters) -> None:
    """The state holds exactly the expected counters."""
    missing = {k: v for k, v in expected.items() if state.get(k) != v}
    extra = {k: v for k, v in state.items() if k not in expected}
    assert not missing, f"{len(missing)} counters differ, e.g. {list(missing.items())[:5]}"
    assert not extra, f"{len(extra)} counters unexpected, e.g. {list(extra.items())[:5]}"
