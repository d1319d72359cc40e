"""A stalled consumer with real processes: the database is frozen (SIGSTOP) while ingest has
records to read. Ingest cannot finish its batch; after KPI_STALL_TIMEOUT_S its /readyz says so
(the progress check, beside the database probe), `kpi_consumer_stalled` is 1 and the lag
metric counts exactly the records published. SIGCONT: it finishes, and everything recovers."""

import asyncio
import json
import os
import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.config.loading import load_org
from shared.localstack import Component, LocalStack
from tests.support.bad_corpus import good_messages
from tests.support.pipeline_runs import serve, stop
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import publish_raw

pytestmark = pytest.mark.e2e
STALL_AFTER_S = 5
RECORDS = 120


def _samples(metrics: str, name: str) -> dict[str, float]:
    """`labels → value` of one metric in the Prometheus text format."""
    pattern = re.compile(rf"^{name}(\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return {labels or "": float(value) for labels, value in pattern.findall(metrics)}


async def _until(http: httpx.AsyncClient, check: object, what: str, timeout_s: float) -> None:
    """Poll /readyz and /metrics until `check(readyz, metrics)`; the timeout bounds a hang."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    ready, metrics = await http.get("/readyz"), await http.get("/metrics")
                    if check(ready, metrics.text):  # type: ignore[operator]
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.5)
    except TimeoutError:
        pytest.fail(f"{what} within {timeout_s}s")


async def test_a_frozen_database_stalls_ingest_visibly_and_it_recovers(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    env = {**service_env(settings), "KPI_STALL_TIMEOUT_S": str(STALL_AFTER_S)}
    agents = sorted(load_org(settings.config_dir / "org.yaml").agent_ids)[:10]
    start = datetime.now(UTC) - timedelta(hours=3)
    messages = list(good_messages(RECORDS, agents, start, id_prefix="stall-"))
    ingest = serve("ingest", env, tmp_path / "ingest.log")
    base = f"http://127.0.0.1:{settings.http_port_for('ingest')}"
    database = private_stack.processes[Component.MONGODB].pid()
    assert database is not None
    frozen = False
    try:
        async with httpx.AsyncClient(base_url=base, timeout=3) as http:
            await _until(http, lambda r, _: r.status_code == 200, "ingest never ready", 120)

            os.kill(database, signal.SIGSTOP)
            frozen = True
            await publish_raw(settings, messages)

            def stalled(ready: httpx.Response, metrics: str) -> bool:
                lag = sum(_samples(metrics, "kpi_consumer_lag_records").values())
                stall = _samples(metrics, "kpi_consumer_stalled")
                return (
                    ready.status_code == 503
                    and "progress" in ready.json()["reasons"]
                    and lag == RECORDS
                    and set(stall.values()) == {1.0}
                )

            await _until(http, stalled, "ingest never reported the stall", 120)
            report = (await http.get("/readyz")).json()

            os.kill(database, signal.SIGCONT)
            frozen = False

            def recovered(ready: httpx.Response, metrics: str) -> bool:
                lag = sum(_samples(metrics, "kpi_consumer_lag_records").values())
                stall = _samples(metrics, "kpi_consumer_stalled")
                return ready.status_code == 200 and lag == 0 and set(stall.values()) == {0.0}

            await _until(http, recovered, "ingest never recovered", 180)
            assert ingest.poll() is None
    finally:
        if frozen:
            os.kill(database, signal.SIGCONT)
        stop([ingest])

    assert report["checks"]["progress"] is False
    assert report["reasons"]["progress"].startswith("no progress for ")
    assert "records behind" in report["reasons"]["progress"]
    assert json.dumps(report).count("insurance.") >= 1
