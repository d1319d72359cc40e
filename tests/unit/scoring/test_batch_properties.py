"""Cutting the same events into any batches, and reordering them within the allowed lateness,
gives identical state (DESIGN §7)."""

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.batch import InputRecord, Position, apply_batch
from services.scoring.domain.model import Fact
from shared.config import CalendarConfig
from shared.events import KpiEvent
from shared.kpi.components import C
from shared.kpi.fiscal_calendar import FiscalCalendar
from tests.support.scoring_events import complaint, policy, renewal, survey

CALENDAR = FiscalCalendar(CalendarConfig())
START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
Counters = dict[tuple[str, str, str], int]
State = dict[str, dict[str, list[Fact]]]


def _events() -> list[KpiEvent]:
    events: list[KpiEvent] = []
    n = 0
    for i, agent in enumerate(("A1", "A2", "A3")):
        for j in range(4):
            n += 1
            at = START + timedelta(days=j, hours=i)
            due = date(2024, 6, 1 + j)
            rid = f"R{i}{j}"
            events.append(renewal(n, agent, at, "due", due, rid))
            n += 1
            events.append(renewal(n, agent, at + timedelta(hours=2), "contacted", due, rid))
            # More contacts, one of them earlier than the first sent: a renewal record keeps
            # only its earliest contact and earliest outcome, whatever order they come in.
            for hours in (30, 1, 2):
                n += 1
                events.append(renewal(n, agent, at + timedelta(hours=hours), "contacted", due, rid))
            n += 1
            outcome = "renewed" if j % 3 else "lost"
            events.append(renewal(n, agent, at + timedelta(days=2), outcome, due, rid))
            n += 1
            events.append(survey(n, agent, at + timedelta(hours=5), score=6 + j))
            n += 1
            events.append(policy(n, agent, at, "issued", new_business=True, referral=j == 1))
            # The same customer buys again that month and the month after: a customer record
            # keeps the first purchase of each month.
            customer = f"C{n}"
            for days in (1, 31, 33):
                n += 1
                later = at + timedelta(days=days)
                events.append(policy(n, agent, later, "issued", customer_id=customer))
            n += 1
            events.append(complaint(n, agent, at, "complaint", "opened", f"K{i}{j}"))
            n += 1
            events.append(
                complaint(n, agent, at + timedelta(days=3), "complaint", "resolved", f"K{i}{j}")
            )
            n += 1  # resolved again, a day earlier: the earliest resolution counts
            events.append(
                complaint(n, agent, at + timedelta(days=2), "complaint", "resolved", f"K{i}{j}")
            )
        n += 1
        events.append(
            policy(
                n,
                agent,
                START + timedelta(days=5),
                "lapsed",
                issued=date(2023, 4, 20),
                policy_id=f"OLD{i}",
            )
        )
    return events


def _records(events: Sequence[KpiEvent]) -> list[InputRecord]:
    return [InputRecord("kpi.events.v1", 0, offset, e) for offset, e in enumerate(events)]


def _run(batches: Sequence[Sequence[InputRecord]]) -> tuple[Counters, State]:
    counters: Counters = {}
    state: State = {}
    positions = {("kpi.events.v1", 0): Position(None, {})}
    for batch in batches:
        outcome = apply_batch(
            batch,
            positions=positions,
            record_state=state,
            calendar=CALENDAR,
        )
        for key, delta in outcome.deltas.items():
            if key[2] != C.REVISIONS:
                counters[key] = counters.get(key, 0) + delta
        for bucket, by_id in outcome.records.items():
            state.setdefault(bucket, {}).update(by_id)
        positions = dict(outcome.positions)
    return {k: v for k, v in counters.items() if v}, state


EVENTS = _events()
ONE_BATCH = _run([_records(EVENTS)])


def test_the_reference_run_counts_what_was_sent() -> None:
    counters, _ = ONE_BATCH
    assert counters[("agent:A1", "2024-06", C.RENEWAL_DUE)] == 4
    assert counters[("company:ACME", "2024-06", C.RENEWAL_DUE)] == 12
    assert counters[("company:ACME", "2024-05", C.COMPLAINTS_OPENED)] == 12
    assert counters[("company:ACME", "2024-05", C.RESOLUTION_COUNT)] == 12
    # The earliest of two resolutions, two days after opening.
    assert counters[("company:ACME", "2024-05", C.RESOLUTION_SECONDS)] == 12 * 2 * 86400
    # From the earliest contact (an hour after the due notice) to renewal two days later;
    # two renewals of an agent's four are renewed.
    assert counters[("company:ACME", "2024-06", C.RENEWAL_CYCLE_COUNT)] == 6
    assert counters[("company:ACME", "2024-06", C.RENEWAL_CYCLE_SECONDS)] == 6 * 47 * 3600
    # Every first policy's customer buys again in May and in June (twice: counted once).
    assert counters[("company:ACME", "2024-06", C.CUSTOMERS_REPEAT)] == 12


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(EVENTS) - 1), max_size=12))
def test_any_cutting_into_batches_gives_identical_state(cuts: list[int]) -> None:
    records = _records(EVENTS)
    bounds = [0, *sorted(set(cuts)), len(records)]
    batches = [records[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    assert _run(batches) == ONE_BATCH


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(range(len(EVENTS))), cuts=st.lists(st.integers(1, 60), max_size=6))
def test_any_order_within_the_allowed_lateness_gives_identical_state(
    order: list[int], cuts: list[int]
) -> None:
    records = _records([EVENTS[i] for i in order])
    bounds = [0, *sorted({c for c in cuts if c < len(records)}), len(records)]
    batches = [records[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    counters, _ = _run(batches)
    assert counters == ONE_BATCH[0]


def test_replaying_a_batch_with_its_records_known_changes_nothing() -> None:
    counters, state = ONE_BATCH
    # The same events re-published by ingest after a crash, under new offsets: the source
    # marks recognise them and nothing is counted twice.
    positions = {
        ("kpi.events.v1", 0): Position(
            len(EVENTS), {f"{e.source_topic}:{e.source_partition}": e.source_offset for e in EVENTS}
        )
    }
    again = [InputRecord("kpi.events.v1", 0, len(EVENTS) + i, e) for i, e in enumerate(EVENTS)]
    outcome = apply_batch(again, positions=positions, record_state=state, calendar=CALENDAR)
    assert outcome.deltas.nonzero() == {}
    assert outcome.duplicates == len(EVENTS)
    assert counters  # the reference itself counted something


def _at(late: KpiEvent, watermark: datetime) -> dict[tuple[str, int], Position]:
    """A partition whose channel of `late`'s source has reached `watermark`."""
    source = f"{late.source_topic}:{late.source_partition}"
    return {("kpi.events.v1", 0): Position(None, {source: -1}, {source: watermark})}


def test_an_event_past_the_allowed_lateness_is_refused_as_too_late() -> None:
    late = survey(9_999, "A1", datetime(2024, 3, 10, tzinfo=UTC), score=9)
    outcome = apply_batch(
        [InputRecord("kpi.events.v1", 0, 0, late)],
        positions=_at(late, datetime(2024, 5, 1, tzinfo=UTC)),
        record_state={},
        calendar=CALENDAR,
    )
    assert [reason.value for _, reason, _ in outcome.rejected] == ["too_late"]
    assert outcome.deltas.nonzero() == {}


def test_a_late_event_inside_the_lateness_revises_its_closed_month() -> None:
    late = survey(9_998, "A1", datetime(2024, 4, 29, tzinfo=UTC), score=9)
    outcome = apply_batch(
        [InputRecord("kpi.events.v1", 0, 0, late)],
        positions=_at(late, datetime(2024, 5, 3, tzinfo=UTC)),
        record_state={},
        calendar=CALENDAR,
    )
    assert outcome.rejected == []
    assert outcome.deltas[("agent:A1", "2024-04", C.REVISIONS)] == 1
    assert outcome.deltas[("agent:A1", "2024-04", C.SURVEY_TOP_BOX)] == 1


def test_the_independent_reference_recomputation_agrees() -> None:
    from tests.support.reference_scoring import reference_counters  # noqa: PLC0415

    assert reference_counters(EVENTS, CALENDAR) == ONE_BATCH[0]
