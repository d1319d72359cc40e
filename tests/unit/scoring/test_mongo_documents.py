"""Scoring's MongoDB document layout, purely: agents share a document per shard and year, and
writing batch after batch of whole documents keeps every entity's counters and every record
exactly as if each had a document of its own."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.mongo_documents import (
    AGENT_SHARDS,
    counter_location,
    counter_replacements,
    narrowed,
    record_location,
    record_replacements,
    stored_records,
    unpacked_counter,
)
from services.scoring.ports import CounterDocument

AT = datetime(2026, 11, 1, tzinfo=UTC)
ENTITIES = [f"agent:A{i:04d}" for i in range(40)] + ["team:T01", "branch:B01", "company:ACME"]


def test_an_agent_lives_in_its_shard_and_other_entities_in_their_own_document() -> None:
    physical, member = counter_location("agent:A0001|FY2024")
    assert physical.startswith("agents#")
    assert physical.endswith("|FY2024")
    assert member is not None
    assert counter_location("agent:A0001|FY2024") == (physical, member)  # stable
    assert counter_location("branch:B01|FY2024") == ("branch:B01|FY2024", None)
    shards = {counter_location(f"agent:A{i:04d}|FY2024")[0] for i in range(1_000)}
    assert len(shards) == AGENT_SHARDS
    assert (
        record_location("policy|agent:A0001|2024-05")
        == "policy|" + physical.split("|")[0] + "|2024-05"
    )
    assert record_location("case|team:T01|3") == "case|team:T01|3"


increments = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(ENTITIES),
            st.sampled_from(["2024-05", "2024-06", "2024-05-17"]),
            st.sampled_from(["sales", "renewal_due"]),
            st.integers(min_value=-3, max_value=5),
        ),
        max_size=30,
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(increments)
def test_whole_documents_written_batch_after_batch_add_up_per_entity(
    batches: list[list[tuple[str, str, str, int]]],
) -> None:
    stored: dict[str, Any] = {}
    expected: Counter[tuple[str, str, str]] = Counter()
    for number, batch in enumerate(batches):
        counters = [
            CounterDocument(f"{entity}|FY2024", entity, "FY2024", {f"{bucket}/{component}": n})
            for entity, bucket, component, n in batch
        ]
        for entity, bucket, component, n in batch:
            expected[(entity, bucket, component)] += n
        for op in counter_replacements(counters, stored, AT + timedelta(seconds=number)):
            stored[op._filter["_id"]] = op._doc  # what the replacement stores

    found: Counter[tuple[str, str, str]] = Counter()
    for doc in map(unpacked_counter, stored.values()):
        members = doc.get("members")
        for entry in members.values() if isinstance(members, dict) else [doc]:
            assert isinstance(entry, dict)
            for bucket, components in entry["buckets"].items():
                for component, value in components.items():
                    found[(entry["entity"], bucket, component)] += value
            # Only non-day buckets carry the time they last changed.
            assert all(len(bucket) == 7 for bucket in entry["touched"])
    assert {k: v for k, v in found.items() if v} == {k: v for k, v in expected.items() if v}


def test_a_record_replacement_keeps_the_other_records_of_the_document() -> None:
    bucket_a, bucket_b = "policy|agent:A0001|2024-05", "policy|agent:A0002|2024-05"
    first = record_replacements({bucket_a: {"P.1": [{"n": 1}]}, bucket_b: {"P.1": [{"n": 2}]}}, {})
    stored: dict[str, Any] = {op._filter["_id"]: op._doc for op in first}
    second = record_replacements({bucket_a: {"P.1": [{"n": 1}, {"lapsed": 1}]}}, stored)
    for op in second:
        stored[op._filter["_id"]] = op._doc
    entries = [entry for doc in stored.values() for entry in stored_records(doc).values()]
    assert sorted((e["b"], e["id"], e["facts"]) for e in entries) == sorted(
        [
            (bucket_a, "P.1", [{"n": 1}, {"lapsed": 1}]),
            (bucket_b, "P.1", [{"n": 2}]),
        ]
    )


def test_a_document_written_before_packing_is_read_and_written_back_packed() -> None:
    bucket = "renewal|agent:A0001|2024-06"
    [first] = record_replacements({bucket: {"R.1": [{"k": "a", "t": "c", "ts": 5}]}}, {})
    packed = first._doc
    assert set(packed) == {"_id", "rev", "p"}  # one element holds every record
    nested = {"_id": packed["_id"], "rev": 1, "r": stored_records(packed)}
    assert stored_records(nested) == stored_records(packed)
    [second] = record_replacements(
        {bucket: {"R.2": [{"k": "b", "t": "c", "ts": 6}]}}, {packed["_id"]: nested}
    )
    assert "r" not in second._doc
    assert second._doc["rev"] == 2
    assert sorted((r["id"], r["facts"]) for r in stored_records(second._doc).values()) == [
        ("R.1", [{"k": "a", "t": "c", "ts": 5}]),
        ("R.2", [{"k": "b", "t": "c", "ts": 6}]),
    ]


# Premium sums are kept in ten-thousandths: the contract's largest premium is about 10^18 of
# them, so a few such events in one bucket pass BSON's 64-bit integers.
huge = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(ENTITIES[:3] + ENTITIES[-2:]),
            st.sampled_from(["2024-05", "2024-05-17"]),
            st.sampled_from(["premium_written_e4", "sales"]),
            st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
        ),
        max_size=20,
    ),
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(huge)
def test_sums_beyond_64_bits_are_stored_exactly_and_read_back_as_ints(
    batches: list[list[tuple[str, str, str, int]]],
) -> None:
    stored: dict[str, Any] = {}
    expected: Counter[tuple[str, str, str]] = Counter()
    for batch in batches:
        counters = [
            CounterDocument(f"{entity}|FY2024", entity, "FY2024", {f"{bucket}/{component}": n})
            for entity, bucket, component, n in batch
        ]
        for entity, bucket, component, n in batch:
            expected[(entity, bucket, component)] += n
        for op in counter_replacements(counters, stored, AT):
            # What MongoDB would store and give back: BSON refuses an int beyond 64 bits.
            stored[op._filter["_id"]] = bson.decode(bson.encode(op._doc))

    found: Counter[tuple[str, str, str]] = Counter()
    for doc in map(unpacked_counter, stored.values()):
        members = doc.get("members")
        for entry in members.values() if isinstance(members, dict) else [doc]:
            for bucket, components in narrowed(entry)["buckets"].items():
                for component, value in components.items():
                    assert isinstance(value, int)  # Int64 is an int
                    found[(entry["entity"], bucket, component)] += value
    assert {k: v for k, v in found.items() if v} == {k: v for k, v in expected.items() if v}


def test_an_entry_within_64_bits_is_read_as_stored() -> None:
    entry = {"entity": "team:T01", "buckets": {"2024-05": {"sales": 3}}}
    assert narrowed(entry) is entry  # no copy on the common path
