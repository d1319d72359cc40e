"""The ingest pipeline (DESIGN §2, §9): every record gives exactly one output or one counted
duplicate, outputs are keyed by their owner, and a lost broker or database stalls the batch
until it comes back instead of losing it."""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from services.ingest.metrics import IngestMetrics
from services.ingest.org_directory import OrgDirectory
from services.ingest.pipeline import BatchSummary, IngestPipeline
from services.ingest.triage import Record
from shared import topics
from shared.events import KpiEvent
from shared.messages import DeadLetter
from tests.support.fakes import FakeClock, MemoryClaimStore, RecordingOutput, RecordingSleep
from tests.support.unit_triage import CONFIG, make_triage
from tests.support.upstream_samples import BRANCH_COMPLAINT, POLICY

NOW: Final = datetime(2024, 10, 2, 9, 0, tzinfo=UTC)
MAX_BACKOFF_S: Final = 0.05


@pytest.fixture(scope="module")
def org() -> OrgDirectory:
    return OrgDirectory.from_file(CONFIG / "org.yaml")


@dataclass
class Harness:
    pipeline: IngestPipeline
    output: RecordingOutput
    claims: MemoryClaimStore
    registry: CollectorRegistry
    clock: FakeClock
    sleep: RecordingSleep

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def build(
    org: OrgDirectory, *, max_backoff_s: float = MAX_BACKOFF_S, real_sleep: bool = False
) -> Harness:
    """A pipeline on fakes; `real_sleep` leaves IngestPipeline's default sleep in place."""
    registry = CollectorRegistry()
    output = RecordingOutput()
    claims = MemoryClaimStore()
    clock = FakeClock(NOW)
    sleep = RecordingSleep()
    pipeline = IngestPipeline(
        triage=make_triage(org=org),
        claims=claims,
        output=output,
        metrics=IngestMetrics(registry),
        clock=clock,
        max_backoff_s=max_backoff_s,
        sleep=asyncio.sleep if real_sleep else sleep,
    )
    return Harness(pipeline, output, claims, registry, clock, sleep)


@pytest.fixture
def harness(org: OrgDirectory) -> Harness:
    return build(org)


def record(
    document: object,
    offset: int,
    topic: str = topics.POLICY,
    partition: int = 0,
    timestamp_ms: int | None = None,
) -> Record:
    value = document if isinstance(document, bytes) else json.dumps(document).encode()
    return Record(topic, partition, offset, value, timestamp_ms)


def policy(event_id: str, offset: int, *, timestamp_ms: int | None = None, **fields: Any) -> Record:
    """A policy record on partition 0; `fields` change the document."""
    return record({**POLICY, "event_id": event_id, **fields}, offset, timestamp_ms=timestamp_ms)


def event_of(value: bytes) -> KpiEvent:
    return KpiEvent.model_validate_json(value)


# -- one output per record -------------------------------------------------------------------


async def test_every_record_gives_exactly_one_output_in_input_order(harness: Harness) -> None:
    batch = [
        policy("pol-1", 10),
        record(b"{not json", 11),
        record(BRANCH_COMPLAINT, 12, topics.COMPLAINT, partition=2),
        policy("pol-2", 13, agent_id="A9999"),
        policy("pol-3", 14, agent_id="A0600"),
    ]

    summary = await harness.pipeline.handle(batch)

    assert summary == BatchSummary(accepted=3, rejected=2, duplicates=0)
    sent = harness.output.sent
    assert [m.topic for m in sent] == [
        topics.EVENTS,
        topics.DEADLETTER,
        topics.EVENTS,
        topics.DEADLETTER,
        topics.EVENTS,
    ]
    events = [event_of(m.value) for m in harness.output.on(topics.EVENTS)]
    assert [(e.source_topic, e.source_partition, e.source_offset) for e in events] == [
        (topics.POLICY, 0, 10),
        (topics.COMPLAINT, 2, 12),
        (topics.POLICY, 0, 14),
    ]
    dead = [DeadLetter.model_validate_json(m.value) for m in harness.output.on(topics.DEADLETTER)]
    assert [(d.reason.value, d.offset) for d in dead] == [
        ("malformed_json", 11),
        ("unknown_entity", 13),
    ]
    assert dead[0].payload == b"{not json"


async def test_events_are_keyed_by_agent_and_branch_events_by_branch(harness: Harness) -> None:
    batch = [
        policy("pol-1", 1),
        policy("pol-2", 2, agent_id="A0600"),
        record(BRANCH_COMPLAINT, 3, topics.COMPLAINT),
    ]

    await harness.pipeline.handle(batch)

    assert [m.key for m in harness.output.sent] == [b"A0123", b"A0600", b"B05"]


async def test_dead_letters_go_to_the_dead_letter_topic_keyed_by_source_topic(
    harness: Harness,
) -> None:
    await harness.pipeline.handle([record(b"[]", 7, topics.RENEWAL, partition=4)])

    (message,) = harness.output.sent
    assert message.topic == topics.DEADLETTER
    assert message.key == topics.RENEWAL.encode()
    dead = DeadLetter.model_validate_json(message.value)
    assert (dead.source_topic, dead.partition, dead.offset) == (topics.RENEWAL, 4, 7)
    assert dead.payload == b"[]"


async def test_an_empty_batch_publishes_nothing(harness: Harness) -> None:
    summary = await harness.pipeline.handle([])

    assert summary == BatchSummary(accepted=0, rejected=0, duplicates=0)
    assert harness.output.sent == []


async def test_times_are_judged_against_the_injected_clock(harness: Harness) -> None:
    harness.clock.set(datetime(2024, 9, 30, 0, 0, tzinfo=UTC))
    # 10:00 JST on Oct 2nd is more than a day after the clock's "now": from the future.
    batch = [policy("pol-1", 1), policy("pol-2", 2, occurred_at="2024-10-02T10:00:00+09:00")]

    summary = await harness.pipeline.handle(batch)

    assert summary == BatchSummary(accepted=1, rejected=1, duplicates=0)
    first = event_of(harness.output.sent[0].value)
    assert first.received_at == datetime(2024, 9, 30, 0, 0, tzinfo=UTC)
    dead = DeadLetter.model_validate_json(harness.output.sent[1].value)
    assert dead.reason.value == "out_of_range"


# -- duplicates and re-deliveries ------------------------------------------------------------


async def test_a_duplicate_within_a_batch_is_counted_and_the_first_copy_kept(
    harness: Harness,
) -> None:
    batch = [
        policy("pol-1", 20, premium="100"),
        policy("pol-1", 21, premium="999"),  # a re-send under the same event_id
        policy("pol-2", 22),
    ]

    summary = await harness.pipeline.handle(batch)

    assert summary == BatchSummary(accepted=2, rejected=0, duplicates=1)
    events = [event_of(m.value) for m in harness.output.sent]
    assert [(e.key, e.source_offset) for e in events] == [
        ("policy-admin:pol-1", 20),
        ("policy-admin:pol-2", 22),
    ]
    assert str(events[0].event.premium) == "100"  # type: ignore[union-attr]


async def test_a_duplicate_in_a_later_batch_is_counted_not_published(harness: Harness) -> None:
    await harness.pipeline.handle([policy("pol-1", 1)])

    summary = await harness.pipeline.handle([policy("pol-1", 50), policy("pol-9", 51)])

    assert summary == BatchSummary(accepted=1, rejected=0, duplicates=1)
    assert [event_of(m.value).source_offset for m in harness.output.sent] == [1, 51]


async def test_the_same_event_id_from_another_source_is_not_a_duplicate(
    harness: Harness,
) -> None:
    batch = [policy("pol-1", 1), policy("pol-1", 2, source="legacy-admin")]

    summary = await harness.pipeline.handle(batch)

    assert summary == BatchSummary(accepted=2, rejected=0, duplicates=0)


async def test_a_redelivered_record_is_republished_not_counted_as_duplicate(
    harness: Harness,
) -> None:
    # The first delivery was claimed and published, but its offset was never committed
    # (a crash): the same topic:partition:offset comes again.
    first = await harness.pipeline.handle([policy("pol-1", 30)])

    again = await harness.pipeline.handle([policy("pol-1", 30)])

    assert first == again == BatchSummary(accepted=1, rejected=0, duplicates=0)
    assert len(harness.output.sent) == 2
    # the same event; only the watermark stamp may have moved on meanwhile
    once, twice = (event_of(m.value) for m in harness.output.sent)
    assert once.model_copy(update={"watermark": None}) == twice.model_copy(
        update={"watermark": None}
    )
    assert harness.metric("kpi_ingest_duplicates_total", event_type="policy") == 0


# -- the watermark stamp (shared/watermarks.py) ------------------------------------------------


def _stamps(harness: Harness) -> list[datetime | None]:
    return [event_of(m.value).watermark for m in harness.output.sent if m.topic == topics.EVENTS]


async def test_events_carry_the_low_watermark_from_before_their_batch(harness: Harness) -> None:
    p0, p1 = (topics.POLICY, 0), (topics.POLICY, 1)
    both = {p0: True, p1: True}
    sep = "2024-09-{:02d}T10:00:00+09:00"
    await harness.pipeline.handle([policy("pol-1", 1, occurred_at=sep.format(20))], both)
    # partition 1 has a backlog and has delivered nothing: the first two batches carry no stamp
    await harness.pipeline.handle(
        [record({**POLICY, "event_id": "pol-2", "occurred_at": sep.format(10)}, 1, partition=1)],
        both,
    )
    await harness.pipeline.handle([policy("pol-3", 2, occurred_at=sep.format(25))], both)
    assert _stamps(harness) == [None, None, datetime(2024, 9, 10, 1, 0, tzinfo=UTC)]


async def test_a_partition_with_nothing_to_read_stops_holding_after_the_idle_time(
    harness: Harness,
) -> None:
    p0, p1 = (topics.POLICY, 0), (topics.POLICY, 1)
    await harness.pipeline.handle(
        [policy("pol-1", 1, occurred_at="2024-09-20T10:00:00+09:00")], {p0: True, p1: False}
    )
    harness.clock.advance(timedelta(seconds=29))
    await harness.pipeline.handle([policy("pol-2", 2)], {p0: True, p1: False})
    harness.clock.advance(timedelta(seconds=1))  # 30 s: partition 1 is idle
    await harness.pipeline.handle([policy("pol-3", 3)], {p0: True, p1: False})
    assert _stamps(harness) == [None, None, datetime(2024, 9, 30, 1, 0, tzinfo=UTC)]


async def test_rejected_copies_claim_nothing(harness: Harness) -> None:
    # A rejected record must not take the key: its corrected re-send is the first valid copy.
    batch = [policy("pol-1", 1, premium="-5"), policy("pol-1", 2)]

    summary = await harness.pipeline.handle(batch)

    assert summary == BatchSummary(accepted=1, rejected=1, duplicates=0)
    assert harness.claims.owners == {"policy-admin:pol-1": f"{topics.POLICY}:0:2"}


# -- metrics ---------------------------------------------------------------------------------


async def test_counters_match_what_was_published(harness: Harness) -> None:
    batch = [
        policy("pol-1", 1, timestamp_ms=1),
        policy("pol-1", 2, timestamp_ms=2),
        policy("pol-2", 3),
        record(BRANCH_COMPLAINT, 4, topics.COMPLAINT, timestamp_ms=4),
        record(b"{not json", 5),
        record({**POLICY, "event_type": "claim"}, 6),
        policy("pol-3", 7, premium="-1"),
    ]

    await harness.pipeline.handle(batch)

    metric = harness.metric
    assert metric("kpi_ingest_accepted_total", event_type="policy") == 2
    assert metric("kpi_ingest_accepted_total", event_type="complaint") == 1
    assert metric("kpi_ingest_duplicates_total", event_type="policy") == 1
    # Publishers cannot add label values: unparsed and unknown types are both "unknown".
    assert metric("kpi_ingest_rejected_total", event_type="unknown", reason="malformed_json") == 1
    assert (
        metric("kpi_ingest_rejected_total", event_type="unknown", reason="unknown_event_type") == 1
    )
    assert metric("kpi_ingest_rejected_total", event_type="policy", reason="out_of_range") == 1
    assert metric("kpi_ingest_batch_records_count") == 1
    assert metric("kpi_ingest_batch_records_sum") == 7
    assert metric("kpi_ingest_batch_seconds_count") == 1
    assert metric("kpi_ingest_latency_seconds_count") == 3  # records with a broker timestamp
    assert metric("kpi_ingest_retries_total") == 0


async def test_counters_add_up_over_batches(harness: Harness) -> None:
    await harness.pipeline.handle([policy("pol-1", 1), policy("pol-2", 2)])
    await harness.pipeline.handle([policy("pol-2", 3), policy("pol-3", 4)])

    assert harness.metric("kpi_ingest_accepted_total", event_type="policy") == 3
    assert harness.metric("kpi_ingest_duplicates_total", event_type="policy") == 1
    assert harness.metric("kpi_ingest_batch_records_count") == 2
    assert harness.metric("kpi_ingest_batch_records_sum") == 4


# -- faults ----------------------------------------------------------------------------------


async def test_a_failing_output_is_retried_until_it_recovers(harness: Harness) -> None:
    harness.output.fail_next(3)
    batch = [policy("pol-1", 1), record(b"{not json", 2), policy("pol-1", 3)]

    summary = await harness.pipeline.handle(batch)

    assert summary == BatchSummary(accepted=1, rejected=1, duplicates=1)
    assert harness.output.calls == 4
    # Only the attempt that went through was acknowledged: each output exactly once.
    assert [(m.topic, m.key) for m in harness.output.sent] == [
        (topics.EVENTS, b"A0123"),
        (topics.DEADLETTER, topics.POLICY.encode()),
    ]
    assert harness.metric("kpi_ingest_retries_total") == 3
    assert harness.sleep.delays == [MAX_BACKOFF_S] * 3
    # Claims made by the failed attempts are this batch's own: no record became a duplicate
    # of itself, and counters count the batch once.
    assert harness.metric("kpi_ingest_accepted_total", event_type="policy") == 1
    assert harness.metric("kpi_ingest_duplicates_total", event_type="policy") == 1


async def test_a_failing_claim_store_is_retried_until_it_recovers(harness: Harness) -> None:
    harness.claims.fail_next(2)

    summary = await harness.pipeline.handle([policy("pol-1", 1), policy("pol-2", 2)])

    assert summary == BatchSummary(accepted=2, rejected=0, duplicates=0)
    assert harness.claims.calls == 3
    assert harness.output.calls == 1  # nothing is sent before the claims went through
    assert len(harness.output.sent) == 2
    assert harness.metric("kpi_ingest_retries_total") == 2


async def test_backoff_doubles_up_to_the_maximum(org: OrgDirectory) -> None:
    harness = build(org, max_backoff_s=3.0)
    harness.output.fail_next(5)

    await harness.pipeline.handle([policy("pol-1", 1)])

    assert harness.sleep.delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert len(harness.output.sent) == 1


async def test_cancellation_is_not_retried(harness: Harness) -> None:
    harness.output.fail_next(1, asyncio.CancelledError())

    with pytest.raises(asyncio.CancelledError):
        await harness.pipeline.handle([policy("pol-1", 1)])

    assert harness.metric("kpi_ingest_retries_total") == 0
    assert harness.sleep.delays == []
    assert harness.output.sent == []


async def test_retries_wait_with_the_real_sleep_by_default(org: OrgDirectory) -> None:
    harness = build(org, max_backoff_s=0, real_sleep=True)  # asyncio.sleep(0): no real wait
    harness.output.fail_next(2)

    summary = await harness.pipeline.handle([policy("pol-1", 1)])

    assert summary.accepted == 1
    assert harness.output.calls == 3
    assert harness.sleep.delays == []  # the fake was not handed in


# -- replay ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_mix_of_copies_and_redeliveries_publishes_each_event_from_its_first_claimant(
    org: OrgDirectory, data: st.DataObject
) -> None:
    # Copies: records at distinct offsets, several of them carrying the same event_id.
    event_numbers = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=8), label="events")
    copies = [policy(f"pol-{n}", offset) for offset, n in enumerate(event_numbers)]
    # Deliveries: batches in any order; a copy delivered again is a re-delivery after a crash.
    batches = data.draw(
        st.lists(
            st.lists(st.sampled_from(range(len(copies))), unique=True, min_size=1),
            min_size=1,
            max_size=4,
        ),
        label="batches",
    )
    harness = build(org)
    # A private loop: asyncio.run would replace the thread's loop under pytest-asyncio's.
    loop = asyncio.new_event_loop()

    # The rule, stated plainly: the first record to carry a key owns it for good.
    owner: dict[str, int] = {}
    expected_sent: list[tuple[str, int]] = []
    try:
        for batch in batches:
            summary = loop.run_until_complete(harness.pipeline.handle([copies[i] for i in batch]))
            published = duplicates = 0
            for i in batch:
                key = f"policy-admin:pol-{event_numbers[i]}"
                if owner.setdefault(key, i) == i:
                    published += 1
                    expected_sent.append((key, i))
                else:
                    duplicates += 1
            assert summary == BatchSummary(accepted=published, rejected=0, duplicates=duplicates)
    finally:
        loop.close()

    sent = [event_of(m.value) for m in harness.output.sent]
    assert [(e.key, e.source_offset) for e in sent] == expected_sent
    # Every event delivered at least once was published at least once.
    assert {e.key for e in sent} == set(owner)
