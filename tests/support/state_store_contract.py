"""The promises every `StateStore` keeps, written once and run against each implementation.

A test module subclasses `StateStoreContract` as `Test...`, gives the class a `store` fixture
that yields a fresh, empty store, and adds the tests only its implementation needs:
`tests/unit/scoring/test_fake_state_store.py` (`MemoryStateStore`) and
`tests/integration/test_scoring_store.py` (`MongoStateStore` on the real local database).
"""

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.scoring.domain.model import Fact
from services.scoring.ports import (
    BatchWrite,
    CounterDocument,
    Document,
    PartitionCommit,
    StaleOffsets,
    StateStore,
    StoredPosition,
    Unscored,
)

GROUP = "kpi-scoring"
TOPIC = "kpi.events.v1"
MAY = datetime(2024, 5, 17, 9, 30, 0, 123000, tzinfo=UTC)  # BSON keeps milliseconds
WALL = datetime(2026, 11, 1, 12, tzinfo=UTC)  # the wall-clock time of a commit
IDLE_AFTER = timedelta(seconds=30)


class Boom(Exception):
    pass


def counter(doc_id: str, increments: Mapping[str, int]) -> CounterDocument:
    entity, fiscal_year = doc_id.split("|")
    return CounterDocument(doc_id, entity, fiscal_year, increments)


def move(
    expected: int | None, to: int, partition: int = 0, marks: Mapping[str, int] | None = None
) -> PartitionCommit:
    return PartitionCommit(
        topic=TOPIC,
        partition=partition,
        expected_next_offset=expected,
        next_offset=to,
        source_marks=marks or {},
    )


def batch(
    *partitions: PartitionCommit,
    counters: Sequence[CounterDocument] = (),
    records: Mapping[str, Mapping[str, Sequence[Fact]]] | None = None,
    stream_time: datetime | None = None,
    at: datetime = WALL,
) -> BatchWrite:
    """A batch committed at wall-clock time `at`; `stream_time` is every partition's low and
    the committing instance's."""
    return BatchWrite(
        counters=counters,
        records=records or {},
        partitions=[
            dataclasses.replace(p, low=stream_time) if stream_time is not None else p
            for p in partitions
        ],
        group=GROUP,
        committed_at=at,
        idle_after=IDLE_AFTER,
        low=stream_time,
        latest=stream_time,
    )


async def low_of(store: StateStore) -> datetime | None:
    clock = await store.group_clock(GROUP)
    return None if clock is None else clock.low


async def nothing() -> None:
    return None


async def state_of(store: StateStore) -> tuple[object, ...]:
    """Everything `seed` and the failing batches of the cases below could touch."""
    return (
        await store.counter_documents(["agent:A001|FY2024", "agent:A002|FY2024"]),
        await store.records(["b1", "b2"]),
        await store.positions(GROUP, [(TOPIC, 0), (TOPIC, 1)]),
        await store.stream_time(GROUP),
    )


async def seed(store: StateStore) -> None:
    """Partition 0 at offset 5, partition 1 at 7, one counter, one record, stream time `MAY`."""
    await store.commit(
        batch(
            move(None, 5, partition=0),
            move(None, 7, partition=1),
            counters=[counter("agent:A001|FY2024", {"2024-05/sales": 1})],
            records={"b1": {"r1": [{"n": 1}]}},
            stream_time=MAY,
        ),
        nothing,
    )


class StateStoreContract:
    """Shared cases; a subclass provides the `store` fixture (typed here by the port)."""

    def assert_installed_commits(self, store: StateStore, count: int) -> None:
        """Check how many commits were installed, where the implementation counts them.

        The port does not expose a count, so by default there is nothing to check.
        """

    async def test_a_committed_batch_reads_back_exactly(self, store: StateStore) -> None:
        await store.commit(
            batch(
                move(None, 42, marks={"insurance.policy.v1:3": 17}),
                counters=[
                    counter(
                        "agent:A001|FY2024", {"2024-05/renewal_due": 3, "2024-06/renewal_due": 1}
                    ),
                    counter("branch:B01|FY2024", {"2024-05/renewal_renewed": 2}),
                ],
                records={
                    "renewal|agent:A001|2024-06": {"R-1": [{"kind": "due", "month": "2024-06"}]}
                },
                stream_time=MAY,
            ),
            nothing,
        )

        assert await store.counter_documents(["agent:A001|FY2024", "branch:B01|FY2024"]) == {
            "agent:A001|FY2024": {
                "entity": "agent:A001",
                "fiscal_year": "FY2024",
                "buckets": {"2024-05": {"renewal_due": 3}, "2024-06": {"renewal_due": 1}},
            },
            "branch:B01|FY2024": {
                "entity": "branch:B01",
                "fiscal_year": "FY2024",
                "buckets": {"2024-05": {"renewal_renewed": 2}},
            },
        }
        assert await store.records(["renewal|agent:A001|2024-06", "absent"]) == {
            "renewal|agent:A001|2024-06": {"R-1": [{"kind": "due", "month": "2024-06"}]}
        }
        assert await store.positions(GROUP, [(TOPIC, 0), (TOPIC, 1)]) == {
            (TOPIC, 0): StoredPosition(
                next_offset=42, source_marks={"insurance.policy.v1:3": 17}, low=MAY
            )
        }
        assert await store.stream_time(GROUP) == MAY
        assert await store.positions("other-group", [(TOPIC, 0)]) == {}
        assert await store.stream_time("other-group") is None
        self.assert_installed_commits(store, 1)

    async def test_increments_add_up_across_batches(self, store: StateStore) -> None:
        doc = "agent:A001|FY2024"
        await store.commit(
            batch(move(None, 10), counters=[counter(doc, {"2024-05/sales": 2})]), nothing
        )
        await store.commit(
            batch(
                move(10, 20), counters=[counter(doc, {"2024-05/sales": 5, "2024-05/lapsed": -1})]
            ),
            nothing,
        )
        # two entries for one document in one batch are summed
        await store.commit(
            batch(
                move(20, 30),
                counters=[counter(doc, {"2024-05/sales": 1}), counter(doc, {"2024-07/sales": 4})],
            ),
            nothing,
        )

        stored = await store.counter_documents([doc])
        assert stored[doc]["buckets"] == {
            "2024-05": {"sales": 8, "lapsed": -1},
            "2024-07": {"sales": 4},
        }
        assert (await store.positions(GROUP, [(TOPIC, 0)]))[(TOPIC, 0)].next_offset == 30

    async def test_sums_beyond_64_bits_add_up_exactly(self, store: StateStore) -> None:
        # Premium sums are kept in ten-thousandths: ten premiums at the contract's maximum
        # (99,999,999,999,999.9999) pass BSON's 64-bit integers.
        top = 999_999_999_999_999_999
        docs = ["agent:A001|FY2024", "company:C|FY2024"]
        for n in range(10):
            await store.commit(
                batch(
                    move(n or None, n + 1),
                    counters=[
                        counter(d, {"2024-05/premium_e4": top, "2024-05/sales": 1}) for d in docs
                    ],
                ),
                nothing,
            )
        await store.commit(
            batch(move(10, 11), counters=[counter(d, {"2024-05/premium_e4": -1}) for d in docs]),
            nothing,
        )

        stored = await store.counter_documents(docs)
        for doc in docs:
            assert stored[doc]["buckets"] == {"2024-05": {"premium_e4": 10 * top - 1, "sales": 10}}

    async def test_record_facts_are_replaced_and_other_records_kept(
        self, store: StateStore
    ) -> None:
        bucket = "policy|agent:A001|2024-05"
        await store.commit(
            batch(
                move(None, 1),
                records={bucket: {"P.1": [{"state": "issued"}], "P.2": [{"state": "issued"}]}},
            ),
            nothing,
        )
        await store.commit(
            batch(
                move(1, 2), records={bucket: {"P.1": [{"state": "lapsed"}, {"cohort": "2025-06"}]}}
            ),
            nothing,
        )

        assert await store.records([bucket]) == {
            bucket: {
                "P.1": [{"state": "lapsed"}, {"cohort": "2025-06"}],
                "P.2": [{"state": "issued"}],
            }
        }

    @pytest.mark.parametrize(
        "stale",
        [
            move(4, 9, partition=0),  # another instance moved partition 0 on
            move(None, 9, partition=0),  # we think it was never committed; it was
        ],
    )
    async def test_a_stale_offset_raises_and_writes_nothing(
        self, store: StateStore, stale: PartitionCommit
    ) -> None:
        await seed(store)
        before = await state_of(store)
        published: list[bool] = []

        async def publish() -> None:
            published.append(True)

        with pytest.raises(StaleOffsets, match=f"{TOPIC}:0"):
            await store.commit(
                batch(
                    move(7, 12, partition=1),  # this one alone would be fine
                    stale,
                    counters=[
                        counter("agent:A001|FY2024", {"2024-05/sales": 10}),
                        counter("agent:A002|FY2024", {"2024-05/sales": 10}),
                    ],
                    records={"b1": {"r1": [{"n": 2}]}, "b2": {"r2": [{"n": 2}]}},
                    stream_time=datetime(2024, 6, 1, tzinfo=UTC),
                ),
                publish,
            )

        assert await state_of(store) == before
        assert published == []
        self.assert_installed_commits(store, 1)

    async def test_an_error_in_before_commit_leaves_nothing_behind(self, store: StateStore) -> None:
        await seed(store)
        before = await state_of(store)

        async def fail() -> None:
            raise Boom

        with pytest.raises(Boom):
            await store.commit(
                batch(
                    move(5, 9, partition=0),
                    move(None, 3, partition=2),
                    counters=[counter("agent:A002|FY2024", {"2024-05/sales": 1})],
                    records={"b2": {"r2": [{"n": 1}]}},
                    stream_time=datetime(2024, 6, 1, tzinfo=UTC),
                ),
                fail,
            )

        assert await state_of(store) == before
        assert await store.positions(GROUP, [(TOPIC, 2)]) == {}
        # the fence did not move: the same batch commits when retried
        await store.commit(batch(move(5, 9, partition=0)), nothing)

    async def test_before_commit_runs_before_anyone_sees_the_increments(
        self, store: StateStore
    ) -> None:
        await seed(store)
        outside: dict[str, Document] = {}

        async def publish() -> None:
            outside.update(await store.counter_documents(["agent:A001|FY2024"]))

        await store.commit(
            batch(
                move(5, 6, partition=0),
                counters=[counter("agent:A001|FY2024", {"2024-05/sales": 2})],
            ),
            publish,
        )

        # until the commit, other readers see the state before the batch
        assert outside["agent:A001|FY2024"]["buckets"] == {"2024-05": {"sales": 1}}
        after = await store.counter_documents(["agent:A001|FY2024"])
        assert after["agent:A001|FY2024"]["buckets"] == {"2024-05": {"sales": 3}}

    async def test_what_was_committed_and_never_published_is_told_after_a_crash(
        self, store: StateStore
    ) -> None:
        partitions = [(TOPIC, 0), (TOPIC, 1)]
        assert await store.unscored(GROUP, partitions) == Unscored()
        first, second = WALL, WALL + timedelta(seconds=5)
        await store.commit(
            batch(
                move(None, 5, partition=0),
                move(None, 2, partition=1),
                counters=[
                    counter("agent:A001|FY2024", {"2024-05/sales": 1, "2024-05-17/sales": 1}),
                    counter("branch:B01|FY2024", {"2024-04/sales": 1}),
                ],
                at=first,
            ),
            nothing,
        )
        # Nothing published yet: every non-day bucket the commit touched, since the start.
        assert await store.unscored(GROUP, partitions) == Unscored(
            frozenset({("agent:A001", "2024-05"), ("branch:B01", "2024-04")}), first
        )
        await store.mark_scored(GROUP, partitions, first)
        assert await store.unscored(GROUP, partitions) == Unscored()
        await store.commit(
            batch(
                move(2, 3, partition=1),
                counters=[counter("agent:A002|FY2024", {"2024-06/sales": 1})],
                at=second,
            ),
            nothing,
        )
        # Only what changed after the mark; the mark never moves back.
        await store.mark_scored(GROUP, [(TOPIC, 0)], WALL - timedelta(days=1))
        assert await store.unscored(GROUP, partitions) == Unscored(
            frozenset({("agent:A002", "2024-06")}), second
        )
        assert await store.unscored(GROUP, [(TOPIC, 0)]) == Unscored()
        assert await store.unscored("other-group", partitions) == Unscored()
        # The touched times are not counters.
        stored = await store.counter_documents(["agent:A001|FY2024"])
        assert set(stored["agent:A001|FY2024"]) == {"entity", "fiscal_year", "buckets"}

    async def test_many_agents_and_their_records_stay_apart_across_batches(
        self, store: StateStore
    ) -> None:
        # 300 agents: MongoDB keeps several agents in one document; each reads back alone,
        # and a batch that changes one agent leaves its neighbours as they were.
        agents = [f"agent:A{i:04d}" for i in range(300)]
        await store.commit(
            batch(
                move(None, 1),
                counters=[
                    counter(f"{a}|FY2024", {"2024-05/sales": i}) for i, a in enumerate(agents)
                ],
                records={
                    f"policy|{a}|2024-05": {"P.1": [{"agent": i}], f"P.{a}": [{"n": i}]}
                    for i, a in enumerate(agents)
                },
            ),
            nothing,
        )
        await store.commit(
            batch(
                move(1, 2),
                counters=[counter(f"{agents[7]}|FY2024", {"2024-05/sales": 100})],
                records={f"policy|{agents[7]}|2024-05": {"P.1": [{"agent": 7}, {"lapsed": 1}]}},
            ),
            nothing,
        )
        counters = await store.counter_documents([f"{a}|FY2024" for a in agents])
        expected = {a: i + (100 if i == 7 else 0) for i, a in enumerate(agents)}
        assert {doc["entity"]: doc["buckets"]["2024-05"]["sales"] for doc in counters.values()} == (
            expected
        )
        records = await store.records([f"policy|{a}|2024-05" for a in agents])
        assert records == {
            f"policy|{a}|2024-05": {
                "P.1": [{"agent": i}, {"lapsed": 1}] if i == 7 else [{"agent": i}],
                f"P.{a}": [{"n": i}],
            }
            for i, a in enumerate(agents)
        }

    async def test_reads_of_250_ids_come_back_whole(self, store: StateStore) -> None:
        ids = [f"agent:A{i:04d}|FY2024" for i in range(250)]
        buckets = [f"policy|agent:A{i:04d}|2024-05" for i in range(250)]
        partitions = [(f"kpi.events.{i}.v1", i % 7) for i in range(250)]

        await store.commit(
            BatchWrite(
                counters=[counter(doc_id, {"2024-05/sales": i}) for i, doc_id in enumerate(ids)],
                records={bucket: {f"P.{i}": [{"i": i}]} for i, bucket in enumerate(buckets)},
                partitions=[
                    PartitionCommit(topic, partition, None, 100 + i, {f"{topic}:{partition}": i})
                    for i, (topic, partition) in enumerate(partitions)
                ],
                group=GROUP,
                committed_at=WALL,
                idle_after=IDLE_AFTER,
            ),
            nothing,
        )

        counters = await store.counter_documents([*ids, "absent|FY2024"])
        assert len(counters) == 250
        assert all(counters[d]["buckets"] == {"2024-05": {"sales": i}} for i, d in enumerate(ids))
        records = await store.records(buckets)
        assert len(records) == 250
        assert all(records[b] == {f"P.{i}": [{"i": i}]} for i, b in enumerate(buckets))
        positions = await store.positions(GROUP, partitions)
        assert len(positions) == 250
        assert [positions[p].next_offset for p in partitions] == [100 + i for i in range(250)]

    async def test_source_marks_with_dotted_names_round_trip(self, store: StateStore) -> None:
        marks = {"insurance.policy.v1:3": 17, "insurance.renewal.v1:0": 0, "a.b.c.$d:12": 5}
        await store.commit(batch(move(None, 3, marks=marks)), nothing)
        newer = {**marks, "insurance.policy.v1:3": 40}
        await store.commit(batch(move(3, 8, marks=newer)), nothing)

        stored = await store.positions(GROUP, [(TOPIC, 0)])
        assert stored == {(TOPIC, 0): StoredPosition(next_offset=8, source_marks=newer)}

    async def test_stream_time_only_moves_forward_at_bson_precision(
        self, store: StateStore
    ) -> None:
        await store.commit(batch(move(None, 1), stream_time=MAY), nothing)
        await store.commit(batch(move(1, 2), stream_time=datetime(2024, 5, 1, tzinfo=UTC)), nothing)
        assert await store.stream_time(GROUP) == MAY

        later = datetime(2024, 6, 1, 8, tzinfo=UTC)
        await store.commit(batch(move(2, 3), stream_time=later), nothing)
        assert await store.stream_time(GROUP) == later

        # kept at BSON's precision: microseconds below the millisecond are dropped
        await store.commit(
            batch(move(3, 4), stream_time=datetime(2024, 6, 1, 8, 0, 0, 456789, tzinfo=UTC)),
            nothing,
        )
        assert await store.stream_time(GROUP) == datetime(2024, 6, 1, 8, 0, 0, 456000, tzinfo=UTC)

    async def test_channel_watermarks_round_trip_to_the_microsecond(
        self, store: StateStore
    ) -> None:
        marks = {"insurance.policy.v1:3": 17, "a.b.c.$d:12": 5}
        watermarks = {
            "insurance.policy.v1:3": datetime(2024, 5, 31, 23, 59, 59, 999999, tzinfo=UTC),
            "a.b.c.$d:12": datetime(2024, 6, 1, 9, tzinfo=timezone(timedelta(hours=9))),
        }
        commit = dataclasses.replace(move(None, 3, marks=marks), watermarks=watermarks)
        await store.commit(batch(commit), nothing)

        stored = (await store.positions(GROUP, [(TOPIC, 0)]))[(TOPIC, 0)]
        assert stored.watermarks == watermarks
        assert stored.source_marks == marks

    async def test_the_group_low_is_the_minimum_over_partitions_that_committed_lately(
        self, store: StateStore
    ) -> None:
        june = datetime(2024, 6, 1, tzinfo=UTC)
        await store.commit(batch(move(None, 1, partition=0), stream_time=MAY), nothing)
        # partition 1 is ahead; partition 0 committed within the idle time and holds the low
        await store.commit(
            batch(move(None, 1, partition=1), stream_time=june, at=WALL + IDLE_AFTER / 2),
            nothing,
        )
        assert await low_of(store) == MAY
        # partition 0 has been idle for longer than the idle time: it stops holding it back
        later = WALL + IDLE_AFTER * 2
        await store.commit(batch(move(1, 2, partition=1), stream_time=june, at=later), nothing)
        assert await low_of(store) == june
        clock = await store.group_clock(GROUP)
        assert clock is not None
        assert clock.committed_at == later
        assert clock.latest == june

    async def test_the_group_keeps_the_earliest_event_time_applied(self, store: StateStore) -> None:
        june = datetime(2024, 6, 1, tzinfo=UTC)
        await store.commit(dataclasses.replace(batch(move(None, 1)), earliest=june), nothing)
        await store.commit(dataclasses.replace(batch(move(1, 2)), earliest=MAY), nothing)
        await store.commit(dataclasses.replace(batch(move(2, 3)), earliest=june), nothing)
        clock = await store.group_clock(GROUP)
        assert clock is not None
        assert clock.earliest == MAY

    async def test_a_partition_that_holds_keeps_the_group_low_where_it_was(
        self, store: StateStore
    ) -> None:
        await store.commit(batch(move(None, 1, partition=0), stream_time=MAY), nothing)
        held = move(None, 1, partition=1)  # low None: a new partition holding for one idle time
        await store.commit(batch(held, at=WALL + IDLE_AFTER / 2), nothing)
        await store.commit(
            batch(move(1, 2, partition=0), stream_time=MAY + timedelta(days=9)), nothing
        )
        assert await low_of(store) == MAY

    async def test_a_partition_with_a_backlog_holds_the_group_low_however_long_ago(
        self, store: StateStore
    ) -> None:
        behind = dataclasses.replace(move(None, 1, partition=0), backlog=True)
        await store.commit(batch(behind, stream_time=MAY), nothing)
        later = WALL + IDLE_AFTER * 10
        june = datetime(2024, 6, 1, tzinfo=UTC)
        await store.commit(batch(move(None, 1, partition=1), stream_time=june, at=later), nothing)
        assert await low_of(store) == MAY
        stored = await store.positions(GROUP, [(TOPIC, 0)])
        assert stored[(TOPIC, 0)].low == MAY
        clock = await store.group_clock(GROUP)
        assert clock is not None
        assert clock.backlog

    async def test_an_unsafe_counter_key_is_refused_before_writing(self, store: StateStore) -> None:
        bad = CounterDocument("agent:A001|FY2024", "agent:A001", "FY2024", {"2024.05/sales": 1})
        with pytest.raises(ValueError, match="bucket/component"):
            await store.commit(batch(move(None, 1), counters=[bad]), nothing)

        assert await store.positions(GROUP, [(TOPIC, 0)]) == {}
