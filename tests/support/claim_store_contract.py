"""The promises every `ClaimStore` keeps, written once and run against each implementation.

A test module subclasses `ClaimStoreContract` as `Test...` and gives the class a `store`
fixture that yields a fresh, empty store: `tests/unit/ingest/test_fake_claim_store.py`
(`MemoryClaimStore`) and `tests/integration/test_claim_log.py` (`MongoClaimStore` on the real
local database).
"""

from datetime import UTC, datetime

from services.ingest.claims import Claim, ClaimStore

NOW = datetime(2024, 5, 1, 9, tzinfo=UTC)


class ClaimStoreContract:
    async def test_nothing_to_claim_is_no_duplicate(self, store: ClaimStore) -> None:
        assert await store.claim([], NOW) == set()

    async def test_the_first_claimant_wins_and_a_later_one_is_a_duplicate(
        self, store: ClaimStore
    ) -> None:
        assert await store.claim([Claim("src:1", "t:0:1"), Claim("src:2", "t:0:2")], NOW) == set()

        assert await store.claim([Claim("src:1", "t:1:7"), Claim("src:3", "t:1:8")], NOW) == {
            "t:1:7"
        }
        assert await store.claim([Claim("src:3", "t:2:9")], NOW) == {"t:2:9"}

    async def test_the_same_claimant_again_is_a_redelivery_not_a_duplicate(
        self, store: ClaimStore
    ) -> None:
        await store.claim([Claim("src:1", "t:0:1")], NOW)

        assert await store.claim([Claim("src:1", "t:0:1"), Claim("src:1", "t:0:5")], NOW) == {
            "t:0:5"
        }

    async def test_within_one_call_the_first_copy_wins(self, store: ClaimStore) -> None:
        claims = [Claim("src:1", "t:0:1"), Claim("src:1", "t:0:2"), Claim("src:1", "t:0:3")]

        assert await store.claim(claims, NOW) == {"t:0:2", "t:0:3"}
        assert await store.claim([Claim("src:1", "t:0:1")], NOW) == set()

    async def test_many_keys_in_one_call(self, store: ClaimStore) -> None:
        first = [Claim(f"src:{n}", f"t:0:{n}") for n in range(2_000)]
        again = [Claim(f"src:{n}", f"t:1:{n}") for n in range(1_000, 3_000)]

        assert await store.claim(first, NOW) == set()
        assert await store.claim(again, NOW) == {f"t:1:{n}" for n in range(1_000, 2_000)}
