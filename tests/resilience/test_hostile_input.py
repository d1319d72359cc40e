"""Hostile input through the real ingest service on the real broker (DESIGN §9, issue 14):
100,000 records mutated from valid events (tests/support/hostile_corpus.py: truncated JSON,
wrong types, huge strings and arrays, deep nesting, NaN and Infinity, numbers as strings,
invalid UTF-8, unknown fields, wrong schema versions, timestamps without an offset or in the
year 9999, garbage keys and headers) mixed with 5,000 valid events.

Expected: ingest never crashes and never logs an error; every record has exactly one outcome,
an event or a dead letter with a reason, so accepted + rejected = published exactly; no record
is a `processing_error` (that would be ingest failing, not the record); every valid event is
accepted; scoring's state over what was accepted equals the independent recomputation
(tests/support/reference_scoring.py). Afterwards no raw phone number is on any of the services'
topics, in any collection or in any log (the valid surveys and their mutations carry phones).
"""

import asyncio
import json
import random
import signal
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared import topics
from shared.config.loading import load_calendar, load_org
from shared.events import KpiEvent, RejectReason
from shared.idle import end_offsets
from shared.kafka import aiokafka_options
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.localstack import LocalStack
from shared.settings import Settings
from tests.support.bad_corpus import PHONES, good_messages
from tests.support.hostile_corpus import HostileRecord, garbage_envelope, hostile_records
from tests.support.personal_data import (
    phone_forms,
    raw_phones_in_databases,
    raw_phones_in_logs,
    raw_phones_in_topics,
)
from tests.support.pipeline_runs import (
    assert_same,
    records_of,
    scoring_state,
    serve,
    stop,
    wait_idle,
)
from tests.support.reference_scoring import reference_counters
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import Position

pytestmark = pytest.mark.resilience
FUZZED: Final = 100_000
VALID: Final = 5_000
SEED: Final = 14
CALENDAR = FiscalCalendar(load_calendar("config/calendar.yaml"))


# The corpus writes the contract's largest premiums (14 integer digits) for one policy in four:
# about 75 of them in one month pass 64 bits in scoring's counters (premium × 10,000), which
# keeps such sums as Decimal128 (docs/resilience.md, "Hostile input"). They go through as they
# are, and their KPIs are compared like the others'.


def _corpus(agents: Sequence[str]) -> list[HostileRecord]:
    """The valid events, one a minute over 3.5 days ending 10 days ago, at random places among
    the hostile records made from documents of the same days; any of them with garbage keys and
    headers."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=14)
    rng = random.Random(SEED)
    records = list(hostile_records(FUZZED, agents, start, timedelta(minutes=VALID), seed=SEED))
    for raw in good_messages(VALID, agents, start, seed=SEED, id_prefix="ok-"):
        key, headers = garbage_envelope(rng)
        event_type = json.loads(raw)["event_type"]
        records.insert(
            rng.randrange(len(records) + 1), HostileRecord(raw, key, headers, (), event_type)
        )
    return records


async def _publish(settings: Settings, records: Sequence[HostileRecord]) -> list[Position]:
    """Publish every record to its event type's topic as it is; where each landed."""
    producer = AIOKafkaProducer(
        **aiokafka_options(settings), acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    positions: list[Position] = []
    try:
        for at in range(0, len(records), 5_000):
            sends = [
                await producer.send(
                    topics.UPSTREAM_BY_EVENT_TYPE[r.event_type],
                    r.value,
                    key=r.key,
                    headers=r.headers,
                )
                for r in records[at : at + 5_000]
            ]
            positions += [(m.topic, m.partition, m.offset) for m in await asyncio.gather(*sends)]
    finally:
        await producer.stop()
    return positions


def _source(record: Any) -> Position:
    document = json.loads(record.value)
    if record.topic == topics.EVENTS:
        return (document["source_topic"], document["source_partition"], document["source_offset"])
    return (document["source_topic"], document["partition"], document["offset"])


async def _outcomes(
    settings: Settings, published: int, timeout_s: float
) -> tuple[list[Any], list[Any]]:
    """Every record on kpi.events.v1 and kpi.deadletter.v1, once ingest's outputs cover
    `published` upstream positions (and then up to the topics' true ends, so that a second
    outcome of a record would be seen too)."""
    names = [topics.EVENTS, topics.DEADLETTER]
    consumer = AIOKafkaConsumer(
        *names, **aiokafka_options(settings), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    events: list[Any] = []
    letters: list[Any] = []
    upstream = 0
    try:
        async with asyncio.timeout(timeout_s):
            while upstream < published:
                for batch in (await consumer.getmany(timeout_ms=500, max_records=20_000)).values():
                    for record in batch:
                        (events if record.topic == topics.EVENTS else letters).append(record)
                        upstream += _source(record)[0] in topics.UPSTREAM
            ends = await end_offsets(settings, names)
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    for record in batch:
                        (events if record.topic == topics.EVENTS else letters).append(record)
    finally:
        await consumer.stop()
    return events, letters


async def test_hostile_input_gives_one_outcome_each_and_leaves_the_kpis_and_no_phone(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    env = service_env(settings)
    agents = sorted(load_org(settings.config_dir / "org.yaml").agent_ids)
    records = _corpus(agents)
    valid_count = sum(1 for r in records if not r.mutations)
    ingest_log, scoring_log = tmp_path / "ingest.log", tmp_path / "scoring.log"
    ingest = serve("ingest", env, ingest_log)
    scoring = serve("scoring", env, scoring_log)
    clock = asyncio.get_running_loop().time
    began = clock()
    try:
        positions = await _publish(settings, records)
        published_at = clock()
        events, letters = await _outcomes(settings, len(positions), timeout_s=600)
        triaged_at = clock()
        await wait_idle(env, "ingest", "scoring", timeout_s=600)
        idle_at = clock()
        assert ingest.poll() is None, "ingest exited"
        assert scoring.poll() is None, "scoring exited"
    finally:
        for child in (ingest, scoring):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        codes = [child.wait(timeout=60) for child in (ingest, scoring)]
        stop([ingest, scoring])
    assert codes == [0, 0], "ingest or scoring did not stop cleanly"

    # One outcome per published record, exactly.
    kind = dict(zip(positions, records, strict=True))
    ingest_letters = [r for r in letters if _source(r)[0] in topics.UPSTREAM]
    outcomes = Counter(_source(r) for r in [*events, *ingest_letters])
    assert set(outcomes) == set(positions)
    assert set(outcomes.values()) == {1}, [p for p, n in outcomes.items() if n > 1][:5]
    assert len(events) + len(ingest_letters) == len(positions) == FUZZED + VALID

    # Every rejection names a reason; none is ingest failing.
    reasons = Counter(json.loads(r.value)["reason"] for r in ingest_letters)
    assert set(reasons) <= {reason.value for reason in RejectReason}
    assert reasons[RejectReason.PROCESSING_ERROR] == 0, reasons
    assert all(json.loads(r.value)["detail"] for r in ingest_letters)
    accepted_valid = sum(1 for r in events if not kind[_source(r)].mutations)
    assert accepted_valid == valid_count == VALID

    # Scoring's state over what ingest accepted (less what scoring itself dead-lettered as
    # too late) equals the recomputation.
    # (Read again now that scoring is idle: its dead letters come after ingest's outputs.)
    everything = await records_of(settings, topics.DEADLETTER)
    late = {_source(r) for r in everything if _source(r)[0] == topics.EVENTS}
    scoring_reasons = Counter(
        json.loads(r.value)["reason"] for r in everything if _source(r) in late
    )
    canonical = [
        KpiEvent.model_validate_json(r.value)
        for r in events
        if (r.topic, r.partition, r.offset) not in late
    ]
    assert_same(await scoring_state(settings), reference_counters(canonical, CALENDAR))

    # No raw phone number anywhere the services write.
    forms = phone_forms(PHONES)
    assert await raw_phones_in_topics(settings, forms) == []
    assert await raw_phones_in_databases(settings, forms) == []
    assert raw_phones_in_logs([ingest_log, scoring_log], forms) == []
    errors = [
        line
        for log in (ingest_log, scoring_log)
        for line in log.read_text(errors="replace").splitlines()
        if '"level": "error"' in line or "Traceback" in line
    ]
    assert errors == []
    assert set(scoring_reasons) <= {RejectReason.TOO_LATE}, scoring_reasons
    _record_figures(reasons, len(events), len(ingest_letters), records, kind, events)
    seconds = {
        "publish": published_at - began,
        "until_every_outcome": triaged_at - began,
        "until_scoring_idle": idle_at - began,
    }
    print(json.dumps({"scoring_dead_letters": scoring_reasons, "seconds": seconds}))


def _record_figures(
    reasons: Counter[str],
    accepted: int,
    rejected: int,
    records: Sequence[HostileRecord],
    kind: dict[Position, HostileRecord],
    events: Sequence[Any],
) -> None:
    """The run's figures, printed for docs/resilience.md (pytest -s shows them)."""
    accepted_by_mutation = Counter(
        "+".join(kind[_source(r)].mutations) for r in events if kind[_source(r)].mutations
    )
    print(
        json.dumps(
            {
                "published": len(records),
                "accepted": accepted,
                "rejected": rejected,
                "reasons": reasons,
                "mutations": Counter(m for r in records for m in r.mutations),
                "accepted_mutated": accepted_by_mutation,
                "bytes": sum(len(r.value) for r in records),
            },
            indent=1,
        )
    )
