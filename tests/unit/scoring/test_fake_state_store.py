"""`MemoryStateStore` keeps `MongoStateStore`'s promises (the shared cases of
`tests/support/state_store_contract.py`, which `tests/integration/test_scoring_store.py` runs
against the real database), so unit tests of the scoring service can trust it."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.ports import StaleOffsets, StateStore, StateStoreError
from tests.support.fake_state_store import MemoryStateStore
from tests.support.state_store_contract import (
    GROUP,
    TOPIC,
    Boom,
    StateStoreContract,
    batch,
    counter,
    move,
    nothing,
    seed,
)


class TestMemoryStateStore(StateStoreContract):
    @pytest.fixture
    def store(self) -> MemoryStateStore:
        return MemoryStateStore()

    def assert_installed_commits(self, store: StateStore, count: int) -> None:
        assert isinstance(store, MemoryStateStore)
        assert store.commits == count

    async def test_documents_handed_out_are_copies(self, store: MemoryStateStore) -> None:
        doc = "agent:A001|FY2024"
        await store.commit(
            batch(move(None, 1), counters=[counter(doc, {"2024-05/sales": 1})]), nothing
        )
        (await store.counter_documents([doc]))[doc]["buckets"].clear()

        assert (await store.counter_documents([doc]))[doc]["buckets"] == {"2024-05": {"sales": 1}}

    async def test_a_lost_database_fails_commits_until_it_returns(
        self, store: MemoryStateStore
    ) -> None:
        store.fail_next(2)
        for _ in range(2):
            with pytest.raises(StateStoreError):
                await store.commit(batch(move(None, 1)), nothing)
        assert await store.positions(GROUP, [(TOPIC, 0)]) == {}

        await store.commit(batch(move(None, 1)), nothing)
        assert (await store.positions(GROUP, [(TOPIC, 0)]))[(TOPIC, 0)].next_offset == 1

    async def test_of_two_racing_instances_only_the_first_commits(
        self, store: MemoryStateStore
    ) -> None:
        await seed(store)
        first_inside = asyncio.Event()
        release = asyncio.Event()

        async def slow() -> None:
            first_inside.set()
            await release.wait()

        doc = "agent:A001|FY2024"
        first = asyncio.create_task(
            store.commit(batch(move(5, 8), counters=[counter(doc, {"2024-05/sales": 1})]), slow)
        )
        await first_inside.wait()
        second = asyncio.create_task(
            store.commit(batch(move(5, 9), counters=[counter(doc, {"2024-05/sales": 1})]), nothing)
        )
        release.set()
        await first
        with pytest.raises(StaleOffsets):
            await second

        assert (await store.counter_documents([doc]))[doc]["buckets"] == {"2024-05": {"sales": 2}}

    @settings(max_examples=50, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.booleans(), st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers())
            ),
            max_size=8,
        )
    )
    def test_only_the_batches_that_commit_count(
        self, batches: list[tuple[bool, dict[str, int]]]
    ) -> None:
        async def run() -> None:
            store = MemoryStateStore()
            offset: int | None = None
            expected: dict[str, int] = {}
            doc = "agent:A001|FY2024"
            for number, (fails, deltas) in enumerate(batches):
                increments = {f"2024-05/{name}": delta for name, delta in deltas.items()}

                async def maybe_fail(fails: bool = fails) -> None:
                    if fails:
                        raise Boom

                write = batch(move(offset, number + 1), counters=[counter(doc, increments)])
                if fails:
                    with pytest.raises(Boom):
                        await store.commit(write, maybe_fail)
                    continue
                await store.commit(write, maybe_fail)
                offset = number + 1
                for name, delta in deltas.items():
                    expected[name] = expected.get(name, 0) + delta

            stored = await store.counter_documents([doc])
            assert stored.get(doc, {}).get("buckets", {}).get("2024-05", {}) == expected

        asyncio.run(run())
