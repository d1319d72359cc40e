"""The pipeline page's figures from offset samples (pure), the sampler on fakes, and the
progress the services publish (shared/progress.py, shared/progress_board.py)."""

from datetime import UTC, datetime, timedelta
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reporting.console.views import duration
from services.reporting.offsets import MemoryOffsets
from services.reporting.pipeline_figures import (
    Bounds,
    OffsetSnapshot,
    partition_lags,
    rates,
    service_lags,
)
from services.reporting.pipeline_sampler import OffsetSampler
from services.scoring.read_model import MemoryScoreQueries
from shared import topics
from shared.progress import BatchTimings, quantile
from shared.progress_board import MemoryProgressBoard, ProgressPublisher

T0: Final = datetime(2026, 1, 5, 9, tzinfo=UTC)
POLICY: Final = (topics.POLICY, 0)
EVENTS: Final = (topics.EVENTS, 0)
SCORES: Final = (topics.SCORES, 0)
LETTERS: Final = (topics.DEADLETTER, 0)


def snapshot(at: datetime, ingest: int, scoring: int, end: int = 100) -> OffsetSnapshot:
    return OffsetSnapshot(
        at=at,
        bounds={POLICY: Bounds(10, end), EVENTS: Bounds(0, end), SCORES: Bounds(0, 5)},
        positions={"ingest": {POLICY: ingest}, "scoring": {EVENTS: scoring}},
    )


def test_lag_is_the_end_less_the_position_or_the_start_when_nothing_is_committed() -> None:
    lags = partition_lags(snapshot(T0, ingest=70, scoring=99))

    assert [
        (lag.service, lag.topic, lag.partition, lag.position, lag.end, lag.lag) for lag in lags
    ] == [
        ("ingest", topics.POLICY, 0, 70, 100, 30),
        ("scoring", topics.EVENTS, 0, 99, 100, 1),
        ("alerts", topics.SCORES, 0, 0, 5, 5),  # alerts committed nothing: from the start
        ("alerts", topics.EVENTS, 0, 0, 100, 100),
    ]
    assert service_lags(lags) == {"ingest": 30, "scoring": 1, "alerts": 105, "reporting": 0}


def test_a_position_past_the_end_is_no_lag() -> None:
    (ingest, *_) = partition_lags(snapshot(T0, ingest=120, scoring=0))

    assert ingest.lag == 0


def test_the_rate_is_the_positions_advance_over_the_time_between_samples() -> None:
    samples = [
        snapshot(T0, ingest=10, scoring=0),
        snapshot(T0 + timedelta(seconds=30), ingest=40, scoring=20),
        snapshot(T0 + timedelta(seconds=50), ingest=110, scoring=40, end=200),
    ]

    found = rates(samples, window=timedelta(seconds=60))

    assert found["ingest"] is not None
    assert (found["ingest"].per_second, found["ingest"].seconds) == (2.0, 50.0)  # 100 in 50 s
    assert found["scoring"] is not None
    assert found["scoring"].per_second == 0.8
    assert found["alerts"] is not None
    assert found["alerts"].per_second == 0.0


def test_the_rate_spans_only_the_window_and_needs_two_samples() -> None:
    samples = [
        snapshot(T0, ingest=10, scoring=0),
        snapshot(T0 + timedelta(seconds=100), ingest=20, scoring=0),
        snapshot(T0 + timedelta(seconds=120), ingest=80, scoring=0),
    ]

    found = rates(samples, window=timedelta(seconds=60))["ingest"]

    assert found is not None
    assert (found.per_second, found.seconds) == (3.0, 20.0)
    assert rates(samples[:1])["ingest"] is None
    assert rates([])["scoring"] is None


def test_a_position_that_moved_back_is_no_progress() -> None:
    samples = [snapshot(T0, ingest=90, scoring=50), snapshot(T0 + timedelta(seconds=10), 20, 60)]

    found = rates(samples)

    assert found["ingest"] is not None
    assert found["ingest"].per_second == 0.0
    assert found["scoring"] is not None
    assert found["scoring"].per_second == 1.0


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200))
def test_a_quantile_is_one_of_the_values_and_ordered(values: list[float]) -> None:
    p50, p95 = quantile(values, 0.5), quantile(values, 0.95)

    assert p50 in values
    assert p95 in values
    assert p50 is not None
    assert p95 is not None
    assert min(values) <= p50 <= p95 <= max(values)
    assert quantile(values, 1.0) == max(values)


def test_quantiles_of_known_values() -> None:
    values = [float(v) for v in range(1, 101)]  # 1 … 100

    assert (quantile(values, 0.5), quantile(values, 0.95)) == (50.0, 95.0)
    assert quantile([], 0.5) is None


def test_batch_timings_keep_the_recent_batches_and_the_totals() -> None:
    timings = BatchTimings("ingest", keep=3)
    for seconds in (9.0, 0.1, 0.2, 0.3):
        timings.observe(seconds, records=10, at=T0 + timedelta(seconds=seconds))

    progress = timings.progress(T0 + timedelta(minutes=1), watermark=T0)

    assert (progress.batches, progress.records, progress.recent) == (4, 40, 3)
    assert (progress.p50_s, progress.p95_s, progress.max_s, progress.last_batch_s) == (
        0.2,
        0.3,
        0.3,
        0.3,
    )  # the 9 s batch is no longer recent
    assert progress.last_batch_at == T0 + timedelta(seconds=0.3)
    assert progress.watermark == T0


async def test_the_publisher_replaces_the_services_document_on_the_board() -> None:
    board = MemoryProgressBoard()
    timings = BatchTimings("alerts")
    publisher = ProgressPublisher(timings, board, lambda now: now - timedelta(hours=1), lambda: T0)

    await publisher.publish()
    timings.observe(0.5, 7, T0)
    await publisher.publish()

    (published,) = await board.progress()
    assert (published.service, published.batches, published.records) == ("alerts", 1, 7)
    assert published.watermark == T0 - timedelta(hours=1)


class Positions:
    def __init__(self) -> None:
        self.read: dict[tuple[str, int], int] = {LETTERS: 3}

    def __call__(self) -> dict[tuple[str, int], int]:
        return self.read


async def test_the_sampler_reads_kafka_groups_scorings_positions_and_its_own() -> None:
    offsets = MemoryOffsets(
        {POLICY: Bounds(0, 50), EVENTS: Bounds(0, 40), SCORES: Bounds(0, 9), LETTERS: Bounds(0, 4)},
        {"kpi-ingest": {POLICY: 45, ("elsewhere", 0): 1}, "kpi-alerts": {SCORES: 9}},
    )
    sampler = OffsetSampler(offsets, MemoryScoreQueries(positions={EVENTS: 38}), Positions())

    await sampler.sample(T0)

    (taken,) = sampler.snapshots
    assert taken.at == T0
    assert dict(taken.positions) == {
        "ingest": {POLICY: 45},  # only its inputs are asked for
        "alerts": {SCORES: 9},
        "scoring": {EVENTS: 38},
        "reporting": {LETTERS: 3},
    }
    assert service_lags(partition_lags(taken)) == {
        "ingest": 5,
        "scoring": 2,
        "alerts": 40,
        "reporting": 1,
    }


async def test_the_sampler_keeps_a_minute_and_the_last_figures_when_the_broker_fails() -> None:
    offsets = MemoryOffsets({POLICY: Bounds(0, 50)}, {})
    sampler = OffsetSampler(offsets, MemoryScoreQueries(), dict, window=timedelta(seconds=60))
    for second in range(0, 200, 10):
        await sampler.sample(T0 + timedelta(seconds=second))

    assert sampler.snapshots[0].at == T0 + timedelta(seconds=130)
    assert len(sampler.snapshots) == 7
    offsets.fail = "no broker"
    await sampler.sample(T0 + timedelta(seconds=200))

    assert sampler.error == "no broker"
    assert len(sampler.snapshots) == 7
    offsets.fail = None
    await sampler.sample(T0 + timedelta(seconds=210))
    assert sampler.error is None


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.0004, "0 ms"), (0.25, "250 ms"), (1.5, "1.50 s"), (None, "—")]
)
def test_durations_read_in_ms_below_a_second(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown
