"""End-to-end figures: replay → ingest → committed scores, scoring on its own, and
event-to-score latency at a steady input rate. The services run as real processes."""

import asyncio
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.idle import ingest_backlog
from services.scoring.backlog import StateBacklog
from shared import topics
from shared.idle import BacklogSource, end_offsets, wait_idle
from shared.localstack.probes import free_port
from shared.settings import Settings

from .ingest import demo_documents, publish
from .processes import CpuUsage, metrics_text, services
from .profiles import record, top_costs
from .raw import Measurement

LATENCY_RATE = 2_000
# KPI_BENCH_SCALE (run.py) shortens these too, for a quick check of the harness.
LATENCY_SECONDS = max(5, int(30 * float(os.environ.get("KPI_BENCH_SCALE", "1"))))
PROFILE_SECONDS = LATENCY_SECONDS
RESCORE_DATABASE = "kpi_rescore"


@dataclass(frozen=True)
class Latency:
    """Quantiles of event-to-score latency from the scoring service's histogram."""

    rate: int
    events: int
    p50: float
    p99: float
    rss_mib: Mapping[str, float]


async def _steady(settings: Settings, documents: Sequence[dict[str, object]], rate: int) -> None:
    chunk = rate // 20
    started = time.perf_counter()
    for index in range(0, len(documents), chunk):
        await publish(settings, documents[index : index + chunk])
        target = started + (index + chunk) / rate
        await asyncio.sleep(max(0.0, target - time.perf_counter()))


def _histogram(settings: Settings, name: str) -> dict[float, float]:
    buckets: dict[float, float] = {}
    for line in metrics_text(settings, "scoring").splitlines():
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


@dataclass(frozen=True)
class Profile:
    """Where scoring and the database spent their CPU during the scoring-alone run."""

    seconds: int
    scoring_raw: str
    database_raw: str

    def scoring_stages(self) -> list[tuple[str, float, float]]:
        """Scoring's own functions by inclusive share, below the per-batch wrappers."""
        return top_costs(self.scoring_raw, 10, within=("services/scoring/", "shared/"), below=0.6)

    def scoring_leaves(self) -> list[tuple[str, float, float]]:
        return top_costs(self.scoring_raw)

    def database_stages(self) -> list[tuple[str, float, float]]:
        return top_costs(self.database_raw, 8, within=("secantus/",), below=0.6)

    def database_leaves(self) -> list[tuple[str, float, float]]:
        return top_costs(self.database_raw)


async def pipeline(
    settings: Settings, count: int, log: Path, stack: Mapping[str, int]
) -> tuple[list[Measurement], Latency, Profile | None]:
    """Throughput end to end and of scoring alone, then latency at a steady 2,000 events/s."""
    documents = demo_documents(count + LATENCY_RATE * LATENCY_SECONDS + 1, seed=17)
    both: list[BacklogSource] = [
        ingest_backlog(settings),
        StateBacklog(settings),
    ]
    results: list[Measurement] = []
    async with services(settings, ["ingest", "scoring"], log) as running:
        # Scoring first catches up with what ingest alone published; not timed.
        await publish(settings, documents[:1])
        await wait_idle(settings, both, timeout_s=600)
        usage = CpuUsage({**stack, **running.pids}).start()
        started = time.perf_counter()
        await publish(settings, documents[1 : count + 1])
        await wait_idle(settings, both, timeout_s=900)
        elapsed = time.perf_counter() - started
        results.append(
            Measurement(
                "end to end: a backlog of demo events published → ingest → scoring committed "
                "(one process each)",
                count,
                elapsed,
                cpu=usage.stop(),
                rss_mib=running.peaks(),
            )
        )
        before = _histogram(settings, "kpi_scoring_event_to_score_seconds")
        await _steady(settings, documents[count + 1 :], LATENCY_RATE)
        await wait_idle(settings, both, timeout_s=600)
        after = _histogram(settings, "kpi_scoring_event_to_score_seconds")
        latency_rss = running.peaks()
    delta = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    latency = Latency(
        LATENCY_RATE,
        int(delta[float("inf")]),
        _quantile(delta, 0.5),
        _quantile(delta, 0.99),
        latency_rss,
    )

    # Scoring alone: a fresh state (another database) re-reads every canonical event.
    events = sum((await end_offsets(settings, [topics.EVENTS])).values())
    fresh = settings.model_copy(
        update={"mongodb_database": RESCORE_DATABASE, "http_port_base": free_port()}
    )
    profile: Profile | None = None
    async with services(fresh, ["scoring"], log) as running:
        scoring = running.pids["scoring"]
        usage = CpuUsage({**stack, **running.pids}).start()
        started = time.perf_counter()
        raw_scoring, raw_database = log.with_name("scoring.pyspy"), log.with_name("db.pyspy")
        spies = [
            record(scoring, raw_scoring, PROFILE_SECONDS)[0],
            record(stack["database"], raw_database, PROFILE_SECONDS)[0],
        ]
        await wait_idle(fresh, [StateBacklog(fresh)], timeout_s=900)
        elapsed = time.perf_counter() - started
        cpu = usage.stop()
        rss = running.peaks()
        for spy in spies:
            if spy is not None:
                try:
                    spy.wait(timeout=PROFILE_SECONDS + 30)
                except subprocess.TimeoutExpired:
                    spy.kill()
        if all(spy is not None for spy in spies):
            profile = Profile(
                PROFILE_SECONDS,
                raw_scoring.read_text() if raw_scoring.exists() else "",
                raw_database.read_text() if raw_database.exists() else "",
            )
    results.append(
        Measurement(
            "scoring alone: a fresh state re-reads kpi.events.v1 (with start-up; py-spy "
            f"samples it and the database for its first {PROFILE_SECONDS}s)",
            events,
            elapsed,
            cpu=cpu,
            rss_mib=rss,
        )
    )
    return results, latency, profile
