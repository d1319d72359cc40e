"""A consumer with records waiting and no progress for KPI_STALL_TIMEOUT_S is stalled: `/readyz`
answers 503 with the reason, `kpi_consumer_stalled` turns 1, and both recover with progress.
Fakes only: a hand-moved monotonic clock, a fake client and fake partition ends."""

from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
import pytest
from aiokafka import TopicPartition
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from shared.metrics import FrameMetrics, create_registry
from shared.service.health import Readiness
from shared.service.http import service_http
from shared.service.liveness import ConsumerLiveness, LivenessMetrics
from shared.stall_watch import PartitionKey, ProgressWatch

EVENTS = "kpi.events.v1"
P0: PartitionKey = (EVENTS, 0)
P1: PartitionKey = (EVENTS, 1)


class MonotonicClock:
    """Seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeConsumer:
    """What the monitor reads of an aiokafka consumer: its assignment and positions."""

    positions: dict[PartitionKey, int] = field(default_factory=dict)

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(topic, partition) for topic, partition in self.positions}

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[(tp.topic, tp.partition)]


@dataclass
class FakeEnds:
    """Partition ends as the probe would learn them; `down` makes it fail like a lost broker."""

    ends: dict[PartitionKey, int] = field(default_factory=dict)
    down: bool = False

    async def __call__(self, keys: Iterable[PartitionKey]) -> dict[PartitionKey, int]:
        if self.down:
            raise TimeoutError("broker away")
        return {key: self.ends[key] for key in keys}


# --- the watch ------------------------------------------------------------------------------


def test_records_waiting_without_progress_stall_after_the_limit_and_progress_clears_it() -> None:
    watch = ProgressWatch(stall_after_s=60)
    first = watch.observe({P0: 100}, {P0: 150}, now=0)
    assert first.partitions[0].lag == 50
    assert first.stalled == ()

    assert watch.observe({P0: 100}, {P0: 150}, now=59.9).stalled == ()
    stalled = watch.observe({P0: 100}, {P0: 160}, now=60)
    assert [(p.partition, p.lag, p.stalled_for_s) for p in stalled.stalled] == [(0, 60, 60)]
    assert stalled.reason() == (
        "no progress for 60s (limit 60s, KPI_STALL_TIMEOUT_S) with records waiting: "
        "kpi.events.v1[0] 60 records behind"
    )

    watch.processed({P0: 119}, now=61)  # the handler finished offsets up to 119
    after = watch.observe({P0: 160}, {P0: 160}, now=62)
    assert after.stalled == ()
    assert after.partitions[0].lag == 40
    assert after.partitions[0].stalled_for_s == 1
    assert after.reason() is None


def test_an_idle_consumer_at_the_end_never_stalls() -> None:
    watch = ProgressWatch(stall_after_s=60)
    for second in range(0, 600, 5):
        verdict = watch.observe({P0: 100, P1: 0}, {P0: 100, P1: 0}, now=second)
        assert verdict.stalled == ()
        assert verdict.longest_stall_s == 0


def test_a_batch_in_hand_counts_from_its_start_not_from_the_clients_position() -> None:
    # The client's position is past the batch as soon as it is fetched; a handler stuck on it
    # (a database that does not answer) has processed none of it.
    watch = ProgressWatch(stall_after_s=60)
    watch.started({P0: 100}, now=0)
    assert watch.observe({P0: 150}, {P0: 150}, now=0).partitions[0].lag == 50
    assert watch.observe({P0: 150}, {P0: 150}, now=60).partitions[0].stalled_for_s == 60


def test_a_handler_failing_on_the_same_batch_is_no_progress() -> None:
    # NACK_ON_ERROR seeks back to the batch's start; the client's position goes back and forth.
    watch = ProgressWatch(stall_after_s=60)
    watch.processed({P0: 99}, now=0)
    for second, client in zip(range(5, 70, 5), [150, 100] * 7, strict=False):
        watch.started({P0: 100}, now=second)
        verdict = watch.observe({P0: client}, {P0: 150}, now=second)
    assert verdict.partitions[0].lag == 50
    assert verdict.stalled != ()


def test_a_partition_whose_position_stays_unknown_stalls_when_it_has_records() -> None:
    watch = ProgressWatch(stall_after_s=60)
    watch.observe({P0: None, P1: None}, {P0: 10, P1: 0}, now=0)
    verdict = watch.observe({P0: None, P1: None}, {P0: 10, P1: 0}, now=60)
    assert [(p.partition, p.lag) for p in verdict.stalled] == [(0, None)]
    assert "kpi.events.v1[0] position unknown" in (verdict.reason() or "")


def test_ends_not_learnt_keep_the_last_ones_and_revoked_partitions_are_forgotten() -> None:
    watch = ProgressWatch(stall_after_s=60)
    watch.observe({P0: 10, P1: 10}, {P0: 20, P1: 20}, now=0)
    verdict = watch.observe({P0: 10}, {}, now=60)  # P1 revoked; the broker did not answer
    assert [(p.partition, p.end, p.lag) for p in verdict.partitions] == [(0, 20, 10)]
    assert watch.position_of(P1) is None


@given(
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=30),  # seconds until the next look
            st.integers(min_value=0, max_value=50),  # records published meanwhile
            st.integers(min_value=0, max_value=50),  # records processed meanwhile
        ),
        max_size=40,
    )
)
def test_stalled_exactly_when_records_waited_with_no_progress_for_the_limit(
    steps: list[tuple[float, int, int]],
) -> None:
    watch = ProgressWatch(stall_after_s=60)
    now, end, position, since = 0.0, 0, 0, 0.0
    watch.observe({P0: position}, {P0: end}, now)
    for wait, published, processed in steps:
        now += wait
        end += published
        done = min(processed, end - position)
        if done:
            position += done
            watch.processed({P0: position - 1}, now)
            since = now
        verdict = watch.observe({P0: position}, {P0: end}, now)
        if end == position:
            since = now
        assert verdict.partitions[0].lag == end - position
        assert bool(verdict.stalled) == (end > position and now - since >= 60)


# --- the monitor and /readyz ----------------------------------------------------------------


@dataclass
class Monitor:
    liveness: ConsumerLiveness
    readiness: Readiness
    registry: CollectorRegistry
    watch: ProgressWatch


def _monitor(consumer: FakeConsumer, ends: FakeEnds, clock: MonotonicClock) -> Monitor:
    registry = create_registry()
    watch = ProgressWatch(stall_after_s=60)
    liveness = ConsumerLiveness(
        "scoring",
        consumers=lambda: [consumer],
        ends=ends,
        metrics=LivenessMetrics(registry, "scoring"),
        watch=watch,
        clock=clock,
    )
    readiness = Readiness(
        {}, FrameMetrics(registry, "scoring", "test"), conditions={"progress": liveness.reason}
    )
    return Monitor(liveness, readiness, registry, watch)


async def test_a_stalled_consumer_turns_readyz_to_503_with_the_reason_and_recovers() -> None:
    clock = MonotonicClock()
    consumer = FakeConsumer({P0: 100, P1: 40})
    ends = FakeEnds({P0: 130, P1: 40})
    monitor = _monitor(consumer, ends, clock)
    liveness, readiness, registry, watch = (
        monitor.liveness,
        monitor.readiness,
        monitor.registry,
        monitor.watch,
    )
    app = service_http(
        "scoring", version="test", faststream=None, readiness=readiness, registry=registry
    )

    async def readyz() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.get("/readyz")

    def sample(name: str, **labels: str) -> float | None:
        value: float | None = registry.get_sample_value(name, {"service": "scoring", **labels})
        return value

    await liveness.check()
    assert (await readyz()).status_code == 200
    assert sample("kpi_consumer_lag_records", topic=EVENTS, partition="0") == 30
    assert sample("kpi_consumer_lag_records", topic=EVENTS, partition="1") == 0

    clock.advance(45)
    await liveness.check()
    assert sample("kpi_consumer_no_progress_seconds") == 45
    assert sample("kpi_consumer_stalled") == 0

    clock.advance(15)
    ends.down = True  # the last ends learnt stand
    await liveness.check()
    answer = await readyz()
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "not_ready",
        "service": "scoring",
        "checks": {"progress": False},
        "reasons": {
            "progress": "no progress for 60s (limit 60s, KPI_STALL_TIMEOUT_S) with records "
            "waiting: kpi.events.v1[0] 30 records behind"
        },
    }
    assert sample("kpi_consumer_stalled") == 1
    assert sample("kpi_consumer_no_progress_seconds") == 60

    ends.down = False
    watch.processed({P0: 129}, clock())
    consumer.positions[P0] = 130
    clock.advance(5)
    await liveness.check()
    assert (await readyz()).status_code == 200
    assert sample("kpi_consumer_stalled") == 0
    assert sample("kpi_consumer_lag_records", topic=EVENTS, partition="0") == 0

    del consumer.positions[P1]  # revoked: its lag is no longer exported
    await liveness.check()
    assert sample("kpi_consumer_lag_records", topic=EVENTS, partition="1") is None


@pytest.mark.parametrize("stall", [1.0, 59.0])
async def test_below_the_limit_nothing_is_reported(stall: float) -> None:
    clock = MonotonicClock()
    monitor = _monitor(FakeConsumer({P0: 0}), FakeEnds({P0: 5}), clock)
    liveness, readiness = monitor.liveness, monitor.readiness
    await liveness.check()
    clock.advance(stall)
    await liveness.check()
    assert readiness.reasons == {}
    assert readiness.status == {"progress": True}


async def test_batches_finished_while_the_ends_are_asked_count_as_progress() -> None:
    # Regression (resilience CI run, 2026-11-30): the monitor read where processing stood, then
    # waited for the partition ends while the handler finished the last batches of the input.
    # The position read before was taken for a seek back, and the partition looked 300 records
    # behind with no progress for ever: ingest's /readyz stayed 503 at the end of a replay.
    clock = MonotonicClock()
    consumer = FakeConsumer({P0: 100})
    watch_box: list[ProgressWatch] = []

    class FinishingEnds(FakeEnds):
        async def __call__(self, keys: Iterable[PartitionKey]) -> dict[PartitionKey, int]:
            watch_box[0].processed({P0: 399}, clock())  # the last batch, done meanwhile
            return await super().__call__(keys)

    monitor = _monitor(consumer, FinishingEnds({P0: 400}), clock)
    watch_box.append(monitor.watch)
    monitor.watch.processed({P0: 99}, clock())
    consumer.positions[P0] = 400
    verdict = await monitor.liveness.check()
    assert [(p.position, p.lag) for p in verdict.partitions] == [(400, 0)]
    clock.advance(120)
    assert (await monitor.liveness.check()).stalled == ()
