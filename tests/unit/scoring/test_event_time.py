"""Event time per channel (DESIGN §4, shared/watermarks.py): lateness is judged against the
event's own channel, so no interleaving of partitions, no cutting into batches and no restart
changes a decision or the state; the low watermark is the minimum over the active channels."""

import itertools
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.batch import BatchOutcome, InputRecord, Position, apply_batch
from services.scoring.domain.model import Fact
from shared.config import CalendarConfig
from shared.events import KpiEvent
from shared.kpi.components import C
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.watermarks import (
    InputClocks,
    PartitionClock,
    combined_low,
    product_low,
)
from tests.support.scoring_events import survey

JST = timezone(timedelta(hours=9))
CALENDAR = FiscalCalendar(CalendarConfig(timezone="Asia/Tokyo", allowed_lateness_days=7))
TOPIC = "kpi.events.v1"
PARTITION_OF = {"A1": 0, "A2": 1, "A3": 2}
SOURCES = 3
# May closes at 2024-06-01 00:00 JST; with 7 days' lateness it takes events until 06-08 00:00.
MAY_DEADLINE = datetime(2024, 6, 8, tzinfo=JST)


def _from(event: KpiEvent, source: int, offset: int) -> KpiEvent:
    return event.model_copy(update={"source_partition": source, "source_offset": offset})


def _upstream() -> list[KpiEvent]:
    """Three survey-tool source partitions, each in its own (mostly time) order, with events
    that arrive late in their own source: some within the allowed lateness, some past it."""
    rng = random.Random(11)
    events: list[KpiEvent] = []
    number = 0
    for source in range(SOURCES):
        at = datetime(2024, 5, 20, 9, tzinfo=JST)
        for offset in range(40):
            number += 1
            agent = rng.choice(sorted(PARTITION_OF))
            at += timedelta(hours=rng.randint(1, 30))
            occurred = at
            if offset in (22, 27, 33):  # May's events arriving late in their own source
                occurred = datetime(2024, 5, 30, 12, tzinfo=JST)
            event = survey(number, agent, occurred, score=rng.randint(0, 10))
            events.append(_from(event, source, offset))
    return events


UPSTREAM = _upstream()


def _partitions(events: Sequence[KpiEvent]) -> dict[int, list[KpiEvent]]:
    """Each input partition: its agents' events, sources interleaved as one ingest run
    happened to publish them (source order kept within each source)."""
    by_partition: dict[int, list[KpiEvent]] = {p: [] for p in range(3)}
    for event in sorted(events, key=lambda e: e.source_offset * 7 + e.source_partition * 3):
        by_partition[PARTITION_OF[event.org.agent or ""]].append(event)
    return by_partition


def _records(partitions: dict[int, list[KpiEvent]], order: Sequence[int]) -> list[InputRecord]:
    """The partitions merged in the given order of partition numbers (one entry per record)."""
    cursors = dict.fromkeys(partitions, 0)
    records = []
    for partition in order:
        offset = cursors[partition]
        records.append(InputRecord(TOPIC, partition, offset, partitions[partition][offset]))
        cursors[partition] += 1
    return records


State = tuple[dict[tuple[str, str, str], int], dict[str, dict[str, list[Fact]]], object, object]


def _run(batches: Sequence[Sequence[InputRecord]]) -> State:
    counters: dict[tuple[str, str, str], int] = {}
    records: dict[str, dict[str, list[Fact]]] = {}
    positions = {(TOPIC, p): Position(None, {}) for p in range(3)}
    rejected: set[tuple[int, int, str]] = set()
    for batch in batches:
        outcome: BatchOutcome = apply_batch(
            batch, positions=positions, record_state=records, calendar=CALENDAR
        )
        for key, delta in outcome.deltas.items():
            counters[key] = counters.get(key, 0) + delta
        for bucket, by_id in outcome.records.items():
            records.setdefault(bucket, {}).update(by_id)
        positions.update(outcome.positions)
        rejected |= {(r.partition, r.offset, reason.value) for r, reason, _ in outcome.rejected}
    return {k: v for k, v in counters.items() if v}, records, positions, rejected


PARTITIONS = _partitions(UPSTREAM)
IN_PARTITION_ORDER = [p for p in range(3) for _ in PARTITIONS[p]]
REFERENCE = _run([_records(PARTITIONS, IN_PARTITION_ORDER)])


def test_the_reference_run_rejects_exactly_the_events_past_their_own_channels_lateness() -> None:
    rejected = REFERENCE[3]
    assert isinstance(rejected, set)
    expected = set()
    for partition, events in PARTITIONS.items():
        seen: dict[int, datetime] = {}
        for offset, event in enumerate(events):
            watermark = seen.get(event.source_partition)
            occurred = event.event.occurred_at
            if watermark is not None and watermark > MAY_DEADLINE and occurred < MAY_DEADLINE:
                expected.add((partition, offset, "too_late"))
                continue
            seen[event.source_partition] = max(watermark or occurred, occurred)
    assert rejected == expected
    assert 0 < len(expected) < len(UPSTREAM)


def test_a_late_event_inside_the_allowed_lateness_revises_may() -> None:
    counters = REFERENCE[0]
    assert isinstance(counters, dict)
    assert counters.get(("company:ACME", "2024-05", C.REVISIONS), 0) > 0


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(1, 119), max_size=10))
def test_any_interleaving_of_partitions_and_any_batches_give_identical_decisions_and_state(
    seed: int, cuts: list[int]
) -> None:
    order = list(IN_PARTITION_ORDER)
    random.Random(seed).shuffle(order)  # a merge that keeps each partition's own order
    records = _records(PARTITIONS, order)
    bounds = [0, *sorted({c for c in cuts if c < len(records)}), len(records)]
    batches = [records[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    assert _run(batches) == REFERENCE


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), restart=st.integers(1, 119))
def test_a_restart_from_the_stored_positions_changes_nothing(seed: int, restart: int) -> None:
    """The second half runs from positions that went through the store's representation."""
    order = list(IN_PARTITION_ORDER)
    random.Random(seed).shuffle(order)
    records = _records(PARTITIONS, order)
    first = _run([records[:restart]])
    positions = first[2]
    assert isinstance(positions, dict)
    restored = {
        key: Position(
            p.next_offset,
            dict(p.source_marks),
            {s: datetime.fromisoformat(w.isoformat()) for s, w in p.watermarks.items()},
        )
        for key, p in positions.items()
    }
    state = {b: {r: list(f) for r, f in by_id.items()} for b, by_id in first[1].items()}
    outcome = apply_batch(
        records[restart:], positions=restored, record_state=state, calendar=CALENDAR
    )
    counters = dict(first[0])
    for key, delta in outcome.deltas.items():
        counters[key] = counters.get(key, 0) + delta
    assert {k: v for k, v in counters.items() if v} == REFERENCE[0]


def _one(event_at: datetime, watermark: datetime) -> list[str]:
    event = _from(survey(1, "A1", event_at, score=9), 0, 5)
    source = "insurance.survey.v1:0"
    outcome = apply_batch(
        [InputRecord(TOPIC, 0, 0, event)],
        positions={(TOPIC, 0): Position(None, {source: 4}, {source: watermark})},
        record_state={},
        calendar=CALENDAR,
    )
    return [reason.value for _, reason, _ in outcome.rejected]


def test_exactly_seven_days_late_is_accepted_and_one_second_more_is_not() -> None:
    may = datetime(2024, 5, 31, 23, 0, tzinfo=JST)
    assert _one(may, MAY_DEADLINE) == []
    assert _one(may, MAY_DEADLINE + timedelta(seconds=1)) == ["too_late"]


def test_a_channel_that_has_not_delivered_yet_accepts_its_first_event() -> None:
    event = _from(survey(1, "A1", datetime(2023, 1, 5, tzinfo=JST), score=9), 2, 0)
    other = "insurance.survey.v1:0"
    outcome = apply_batch(
        [InputRecord(TOPIC, 0, 0, event)],
        positions={
            (TOPIC, 0): Position(None, {other: 9}, {other: datetime(2024, 9, 1, tzinfo=UTC)})
        },
        record_state={},
        calendar=CALENDAR,
    )
    assert outcome.rejected == []
    assert outcome.positions[(TOPIC, 0)].watermarks["insurance.survey.v1:2"] == (
        event.event.occurred_at
    )


# The low watermark -----------------------------------------------------------------------

T0 = datetime(2026, 11, 29, 12, tzinfo=UTC)  # wall clock
IDLE = timedelta(seconds=30)
JAN = datetime(2024, 1, 31, tzinfo=UTC)
FEB = datetime(2024, 2, 29, tzinfo=UTC)
MAR = datetime(2024, 3, 31, tzinfo=UTC)


def _clocks(*keys: str) -> InputClocks[str]:
    clocks: InputClocks[str] = InputClocks(IDLE)
    for key in keys:
        clocks.assign(key, None, T0)
    return clocks


def test_the_low_watermark_is_the_minimum_over_active_inputs_and_idle_ones_drop_out() -> None:
    clocks = _clocks("p0", "p1")
    clocks.observe({"p0": FEB, "p1": JAN}, T0)
    clocks.set_backlog({"p0": False, "p1": False})
    assert clocks.low(T0) == JAN
    # p1 delivers nothing for the idle time and has nothing left to read; p0 goes on
    clocks.observe({"p0": MAR}, T0 + IDLE)
    assert clocks.low(T0 + IDLE) == MAR
    # p1 counts again when it delivers, but the low watermark never moves back
    clocks.observe({"p1": FEB}, T0 + 2 * IDLE)
    assert clocks.low(T0 + 2 * IDLE) == MAR


def test_peeking_at_the_low_watermark_moves_nothing() -> None:
    clocks = _clocks("p0", "p1")
    clocks.observe({"p0": MAR, "p1": JAN}, T0)
    clocks.set_backlog({"p0": False, "p1": False})
    assert clocks.low(T0) == JAN
    # Were p1's idleness taken for good, the low would stay at MAR once p1 delivers FEB again.
    assert clocks.peek_low(T0 + IDLE) == MAR
    clocks.observe({"p1": FEB}, T0 + IDLE)
    assert clocks.low(T0 + IDLE) == FEB


def test_an_input_with_a_backlog_holds_however_long_it_has_been_silent() -> None:
    clocks = _clocks("p0", "p1")
    clocks.observe({"p0": MAR, "p1": JAN}, T0)
    clocks.set_backlog({"p0": False, "p1": True})
    assert clocks.low(T0 + 100 * IDLE) == JAN


def test_an_assigned_input_that_has_delivered_nothing_holds_until_it_is_idle() -> None:
    clocks = _clocks("p0", "p1")
    clocks.observe({"p0": FEB}, T0 + IDLE / 2)
    assert clocks.low(T0 + IDLE / 2) is None  # p1 may still have a backlog: unknown
    clocks.set_backlog({"p0": False, "p1": True})
    assert clocks.low(T0 + 10 * IDLE) is None  # it has: it holds
    clocks.set_backlog({"p1": False})  # it has nothing to read after all
    assert clocks.low(T0 + IDLE) == FEB


def test_records_without_a_watermark_do_not_move_an_input() -> None:
    clocks = _clocks("p0")
    clocks.observe({"p0": FEB}, T0)
    clocks.observe({"p0": None}, T0)
    clocks.observe({"p0": JAN}, T0)  # an older stamp (a republished record) moves nothing
    assert clocks.watermark("p0") == FEB


def test_when_every_input_is_idle_the_low_watermark_is_the_greatest() -> None:
    clocks = _clocks("p0", "p1")
    clocks.observe({"p0": JAN, "p1": MAR}, T0)
    clocks.set_backlog({"p0": False, "p1": False})
    assert clocks.low(T0 + IDLE) == MAR


def test_following_an_assignment_drops_revoked_inputs_and_holds_for_new_ones() -> None:
    clocks = _clocks("p0", "p1")
    clocks.observe({"p0": FEB, "p1": JAN}, T0)
    clocks.set_backlog({"p0": False, "p1": False})
    clocks.keep_only({"p0", "p2"}, T0)
    assert clocks.low(T0) is None  # p2 is new: it may have a backlog
    clocks.observe({"p2": MAR}, T0)
    assert clocks.low(T0) == FEB


def test_the_group_low_watermark_over_partitions() -> None:
    recent, old = T0 - IDLE / 2, T0 - 2 * IDLE

    def low(*clocks: PartitionClock) -> datetime | None:
        return product_low(clocks, now=T0, idle_after=IDLE)

    assert low(PartitionClock(FEB, recent), PartitionClock(JAN, recent)) == JAN
    assert low(PartitionClock(FEB, recent), PartitionClock(JAN, old)) == FEB
    assert low(PartitionClock(FEB, recent), PartitionClock(JAN, old, backlog=True)) == JAN
    assert low(PartitionClock(None, recent), PartitionClock(MAR, recent)) is None
    assert low(PartitionClock(FEB, old), PartitionClock(MAR, old)) == MAR
    assert low() is None
    assert combined_low([], every=[None]) is None
