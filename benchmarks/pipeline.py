"""End-to-end figures: replay → ingest → committed scores, scoring on its own, and
event-to-score latency at a steady input rate. The services run as real processes."""

import asyncio
import itertools
import os
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from services.demo.generator import generate_events
from services.idle import ingest_backlog
from services.scoring.backlog import StateBacklog
from shared import topics
from shared.config.loading import load_org
from shared.idle import BacklogSource, backlogs_now, end_offsets, wait_idle
from shared.settings import Settings

from .ingest import publish
from .processes import CpuUsage, metric, metrics_text, port_base, services
from .profiles import record, top_costs
from .raw import Measurement

LATENCY_RATE = 2_000
# KPI_BENCH_SCALE (run.py) shortens these too, for a quick check of the harness.
SCALE = float(os.environ.get("KPI_BENCH_SCALE", "1"))
LATENCY_SECONDS = max(5, int(300 * SCALE))
PROFILE_SECONDS = 30
# A clean history on a fresh stack: a year of the demo company from April 2024 as a backlog,
# then the steady stream from April 2025, denser than the demo's default so that five minutes
# at 2,000 events/s stay in the past.
YEAR_START = datetime(2024, 4, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
YEAR_DAYS = max(7, int(365 * SCALE))
STEADY_START = YEAR_START + timedelta(days=365)
STEADY_EVENTS_PER_DAY = 10_000
RESCORE_DATABASE = "kpi_rescore"
BACKLOG_EVERY_S = 2.0
BACKLOG_DRAIN_S = 5.0  # idle this soon after the steady stream's last event: it kept up


@dataclass(frozen=True)
class Latency:
    """Quantiles of event-to-score latency from the scoring service's histogram."""

    rate: int
    events: int
    p50: float
    p99: float
    rss_mib: Mapping[str, float]
    # Records not yet consumed by ingest and scoring, sampled every BACKLOG_EVERY_S while the
    # steady stream ran, and how long after its last event both were idle.
    backlogs: tuple[int, ...] = ()
    drain_s: float = float("nan")

    def backlog_grew(self) -> bool:
        """Whether the services fell behind: not idle within BACKLOG_DRAIN_S of the last event
        (the idle check itself takes about 1.5 s: two quiet polls 0.5 s apart)."""
        return not self.drain_s <= BACKLOG_DRAIN_S


def year_of_history(seed: int = 17) -> list[dict[str, object]]:
    """`kpi demo --days 365`: the demo company's year from April 2024, oldest first."""
    org = load_org("config/org.yaml")
    end = YEAR_START + timedelta(days=YEAR_DAYS)
    return list(generate_events(org, start=YEAR_START, end=end, seed=seed))


def steady_stream(seed: int = 18) -> Iterator[dict[str, object]]:
    """Events after the year, 10,000 a day, generated as they are sent."""
    org = load_org("config/org.yaml")
    end = STEADY_START + timedelta(days=365)
    return generate_events(
        org, start=STEADY_START, end=end, seed=seed, events_per_day=STEADY_EVENTS_PER_DAY
    )


def opening(
    documents: Iterable[dict[str, object]],
) -> tuple[list[dict[str, object]], Iterator[dict[str, object]]]:
    """The events of a stream's first instant, and an iterator over the rest.

    The demo generator opens a stream with the renewal notices of the whole book for the months
    ahead, all at its first instant (50,723 events at 2025-04-01 00:00, more than 25 s of the
    steady rate). Sent at the steady rate, they made a 30-s run (KPI_BENCH_SCALE=0.1) nearly
    all notices, each a few score updates, where a day's ordinary mix of policies, renewals,
    contacts and surveys costs several times more (docs/scoring.md, 'The latency run'). They
    are published as a backlog before the clock, so the steady rate carries the ordinary mix
    at every scale."""
    stream = iter(documents)
    first = next(stream, None)
    if first is None:
        return [], stream
    burst = [first]
    for document in stream:
        if document.get("occurred_at") != first.get("occurred_at"):
            return burst, itertools.chain([document], stream)
        burst.append(document)
    return burst, iter(())


async def _steady(
    settings: Settings, documents: Iterable[dict[str, object]], rate: int, seconds: int
) -> int:
    """Publish at `rate` events/s for `seconds`; returns the events sent. The first chunk is
    taken from `documents` before the clock starts: the demo generator spends seconds on its
    first event (measured: 4.6 s), and a clock started before it sent those seconds' events
    in one burst, whose wait was then counted as the pipeline's latency (about 1,000 of the
    6,000 events over 5 s in a 30-s run; the rest of that tail is scoring's, docs/scoring.md)."""
    chunk = rate // 20
    stream = iter(documents)
    batch = list(itertools.islice(stream, chunk))
    started = time.perf_counter()
    sent = 0
    while batch and sent < rate * seconds:
        await publish(settings, batch)
        sent += len(batch)
        await asyncio.sleep(max(0.0, started + sent / rate - time.perf_counter()))
        batch = list(itertools.islice(stream, chunk))
    return sent


async def _sample_backlogs(
    settings: Settings, sources: Sequence[BacklogSource], into: list[int]
) -> None:
    """Append the records the sources have not consumed, every BACKLOG_EVERY_S, until
    cancelled."""
    while True:
        started = time.perf_counter()
        into.append(sum((await backlogs_now(settings, sources)).values()))
        await asyncio.sleep(max(0.0, started + BACKLOG_EVERY_S - time.perf_counter()))


async def _dead_letters(settings: Settings) -> int:
    return sum((await end_offsets(settings, [topics.DEADLETTER])).values())


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

    def scoring_share(self, function: str) -> float:
        """The inclusive share of scoring's first function named so, however small."""
        return _share(self.scoring_raw, function)

    def database_share(self, function: str) -> float:
        return _share(self.database_raw, function)


def _share(raw: str, function: str) -> float:
    costs = top_costs(raw, 10**6, within=("",), below=1.01)
    return next((inc for name, _, inc in costs if name.startswith(function)), 0.0)


async def pipeline(
    settings: Settings, log: Path, stack: Mapping[str, int]
) -> tuple[list[Measurement], Latency, Profile | None]:
    """On a fresh stack: a year of history end to end, latency at a steady 2,000 events/s for
    five minutes, then scoring alone re-reading everything."""
    year = year_of_history()
    both: list[BacklogSource] = [
        ingest_backlog(settings),
        StateBacklog(settings),
    ]
    results: list[Measurement] = []
    async with services(settings, ["ingest", "scoring"], log) as running:
        # The year's first event wakes both services (groups joined, caught up); not timed.
        await publish(settings, year[:1])
        await wait_idle(settings, both, timeout_s=600)
        letters = await _dead_letters(settings)
        usage = CpuUsage({**stack, **running.pids}).start()
        started = time.perf_counter()
        await publish(settings, year[1:])
        await wait_idle(settings, both, timeout_s=1800)
        elapsed = time.perf_counter() - started
        letters = await _dead_letters(settings) - letters
        results.append(
            Measurement(
                f"end to end: a year of the demo company's history ({YEAR_DAYS} days from "
                f"{YEAR_START:%Y-%m}) published as a backlog → ingest → scoring committed and "
                f"its score updates published (one process each; {letters:,} dead letters)",
                len(year) - 1,
                elapsed,
                cpu=usage.stop(),
                rss_mib=running.peaks(),
            )
        )
        notices, steady = opening(steady_stream())
        await publish(settings, notices)
        await wait_idle(settings, both, timeout_s=1800)
        before = _histogram(settings, "kpi_scoring_event_to_score_seconds")
        backlogs: list[int] = []
        sampling = asyncio.create_task(_sample_backlogs(settings, both, backlogs))
        try:
            await _steady(settings, steady, LATENCY_RATE, LATENCY_SECONDS)
        finally:
            sampling.cancel()
        last_sent = time.perf_counter()
        await wait_idle(settings, both, timeout_s=600)
        drain_s = time.perf_counter() - last_sent
        after = _histogram(settings, "kpi_scoring_event_to_score_seconds")
        latency_rss = running.peaks()
    delta = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    latency = Latency(
        LATENCY_RATE,
        int(delta[float("inf")]),
        _quantile(delta, 0.5),
        _quantile(delta, 0.99),
        latency_rss,
        tuple(backlogs),
        drain_s,
    )

    # Scoring alone: a fresh state (another database) re-reads every canonical event.
    events = sum((await end_offsets(settings, [topics.EVENTS])).values())
    measured, profile = await _scoring_alone(settings, log, stack, events)
    results.append(measured)
    return results, latency, profile


async def _scoring_alone(
    settings: Settings, log: Path, stack: Mapping[str, int], events: int
) -> tuple[Measurement, Profile | None]:
    """Scoring on a fresh state re-reading every canonical event, timed from its first commit
    to its last, with py-spy on it and the database."""
    fresh = settings.model_copy(
        update={"mongodb_database": RESCORE_DATABASE, "http_port_base": port_base()}
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
        applying = asyncio.create_task(_applying(fresh, events))
        await wait_idle(fresh, [StateBacklog(fresh)], timeout_s=900)
        wall = time.perf_counter() - started
        try:
            before, first, last = await asyncio.wait_for(applying, timeout=60)
        except TimeoutError:  # the counter never reached the end: the whole wall time
            before, first, last = 0, 0.0, wall
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
    what = (
        "scoring alone: a fresh state re-reads kpi.events.v1, the events applied after its "
        f"first commit, to its last ({wall:.0f}s with start-up; py-spy samples it and the "
        f"database for its first {PROFILE_SECONDS}s)"
    )
    return Measurement(what, events - before, last - first, cpu=cpu, rss_mib=rss), profile


async def _applying(settings: Settings, events: int) -> tuple[int, float, float]:
    """The events scoring's first commit applied, when it was seen and when the last event
    was applied (`perf_counter`), read from its applied-events counter every 0.1 s: the rate
    without start-up, group joining and the first batch, as the Quix Streams peer's row is
    taken from its first output."""
    first: float | None = None
    before = 0
    while True:
        try:
            applied = await asyncio.to_thread(
                metric, settings, "scoring", "kpi_scoring_events_applied_total"
            )
        except OSError:
            applied = 0.0
        now = time.perf_counter()
        if applied > 0 and first is None:
            first, before = now, int(applied)
        if applied >= events:
            return before, first or now, now
        await asyncio.sleep(0.1)
