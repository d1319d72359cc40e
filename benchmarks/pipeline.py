"""End-to-end figures: replay → ingest → committed scores, scoring on its own, and
event-to-score latency at a steady input rate. The services run as real processes."""

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from services.idle import ingest_backlog
from services.scoring.backlog import StateBacklog
from shared.idle import BacklogSource, wait_idle
from shared.localstack.probes import free_port
from shared.settings import Settings

from .ingest import demo_documents, publish
from .raw import Measurement

LATENCY_RATE = 2_000
LATENCY_SECONDS = 30


@dataclass(frozen=True)
class Latency:
    """Quantiles of event-to-score latency from the scoring service's histogram."""

    rate: int
    events: int
    p50: float
    p99: float


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URI": settings.mongodb_uri.get_secret_value(),
        "MONGODB_DATABASE": settings.mongodb_database,
        "KPI_STATE_DIR": str(settings.state_dir),
        "KPI_HTTP_PORT_BASE": str(settings.http_port_base),
        "KPI_LOG_LEVEL": "WARNING",
        **extra,
    }


@asynccontextmanager
async def services(settings: Settings, names: Sequence[str], log: Path) -> AsyncIterator[None]:
    """Run services as processes until the block ends; ready on entry."""
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", name],
            env=_env(settings),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        for name in names
    ]
    try:
        for name in names:
            url = f"http://127.0.0.1:{settings.http_port_for(name)}/readyz"
            for _ in range(600):
                try:
                    with urllib.request.urlopen(url, timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                await asyncio.sleep(0.1)
        yield
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=20)


async def _steady(settings: Settings, documents: Sequence[dict[str, object]], rate: int) -> None:
    chunk = rate // 20
    started = time.perf_counter()
    for index in range(0, len(documents), chunk):
        await publish(settings, documents[index : index + chunk])
        target = started + (index + chunk) / rate
        await asyncio.sleep(max(0.0, target - time.perf_counter()))


def _histogram(settings: Settings, name: str) -> dict[float, float]:
    url = f"http://127.0.0.1:{settings.http_port_for('scoring')}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith(f"{name}_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if bound == "+Inf" else float(bound)] = float(line.split()[-1])
    return buckets


def _quantile(buckets: dict[float, float], q: float) -> float:
    """Linear interpolation inside the bucket holding the quantile, as Prometheus does."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if not total:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return bounds[-2]


async def pipeline(settings: Settings, count: int, log: Path) -> tuple[list[Measurement], Latency]:
    """Throughput end to end and of scoring alone, then latency at a steady 2,000 events/s."""
    documents = demo_documents(count + LATENCY_RATE * LATENCY_SECONDS + 1, seed=17)
    both: list[BacklogSource] = [
        ingest_backlog(settings),
        StateBacklog(settings),
    ]
    results: list[Measurement] = []
    async with services(settings, ["ingest", "scoring"], log):
        await publish(settings, documents[:1])
        await wait_idle(settings, both, timeout_s=300)
        started = time.perf_counter()
        await publish(settings, documents[1 : count + 1])
        await wait_idle(settings, both, timeout_s=900)
        results.append(
            Measurement(
                "end to end: publish → ingest → scoring committed (one process each)",
                count,
                time.perf_counter() - started,
            )
        )
        before = _histogram(settings, "kpi_scoring_event_to_score_seconds")
        await _steady(settings, documents[count + 1 :], LATENCY_RATE)
        await wait_idle(settings, both, timeout_s=300)
        after = _histogram(settings, "kpi_scoring_event_to_score_seconds")
    delta = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    latency = Latency(
        LATENCY_RATE,
        int(delta[float("inf")]),
        _quantile(delta, 0.5),
        _quantile(delta, 0.99),
    )

    # Scoring alone: a fresh state (another database) re-reads every canonical event.
    fresh = settings.model_copy(
        update={"mongodb_database": "kpi_rescore", "http_port_base": free_port()}
    )
    async with services(fresh, ["scoring"], log):
        started = time.perf_counter()
        await wait_idle(fresh, [StateBacklog(fresh)], timeout_s=900)
        elapsed = time.perf_counter() - started
    events = count + LATENCY_RATE * LATENCY_SECONDS + 1
    results.append(
        Measurement(
            "scoring alone: a fresh state re-reads kpi.events.v1 (with start-up)", events, elapsed
        )
    )
    return results, latency
