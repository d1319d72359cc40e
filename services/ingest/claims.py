"""De-duplication by claiming `(source, event_id)` keys in MongoDB.

A claim is an insert of `{_id: key}`; the first insert wins and a duplicate-key error says the
key was seen before. Each claim records the topic, partition and offset of its claimant, so a
message re-delivered after a crash (claimed, but maybe not published) is recognised as itself
and published again rather than mistaken for a duplicate; downstream de-duplicates by `key`.
Inserts of new keys are cheap; the claimant is looked up only on a conflict. PyMongo's errors
are translated at this boundary (`shared/transient.py`): `StoreUnavailable` is retried by the
pipeline, a permanent `StoreError` is not.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, PyMongoError

from shared.transient import store_failure

DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class Claim:
    """A key and where the message claiming it was read."""

    key: str
    claimant: str  # "topic:partition:offset"


class ClaimStore(Protocol):
    """Remembers which event keys were accepted, within a horizon."""

    async def claim(self, claims: Sequence[Claim], now: datetime) -> set[str]:
        """Claim keys; return the claimants whose key belongs to an earlier, other message."""
        ...


class MongoClaimStore:
    """`ClaimStore` on a MongoDB collection with an expiry index."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], horizon: timedelta) -> None:
        self._collection = collection
        self._horizon = horizon

    @classmethod
    def on(
        cls, client: AsyncMongoClient[dict[str, Any]], database: str, horizon: timedelta
    ) -> "MongoClaimStore":
        """The store in the platform's database."""
        return cls(client[database]["ingest_claims"], horizon)

    async def ensure_indexes(self) -> None:
        """Expire claims after the horizon (where the server honours TTL indexes)."""
        try:
            await self._collection.create_index(
                [("expires_at", ASCENDING)], expireAfterSeconds=0, name="claims_ttl"
            )
        except PyMongoError as exc:
            raise store_failure(exc, "cannot create the claims expiry index") from exc

    async def claim(self, claims: Sequence[Claim], now: datetime) -> set[str]:
        if not claims:
            return set()
        expires = now + self._horizon
        documents = [
            {"_id": c.key, "claimant": c.claimant, "claimed_at": now, "expires_at": expires}
            for c in claims
        ]
        conflicts: list[int] = []
        try:
            await self._collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != DUPLICATE_KEY for error in errors):
                raise store_failure(exc, f"cannot claim {len(claims)} event keys") from exc
            conflicts = [int(error["index"]) for error in errors]
        except PyMongoError as exc:
            raise store_failure(exc, f"cannot claim {len(claims)} event keys") from exc
        if not conflicts:
            return set()
        contested = {claims[i].key for i in conflicts}
        try:
            owners = {
                doc["_id"]: doc.get("claimant")
                async for doc in self._collection.find({"_id": {"$in": sorted(contested)}})
            }
        except PyMongoError as exc:
            raise store_failure(
                exc, f"cannot read the claimants of {len(contested)} contested keys"
            ) from exc
        # A conflict whose stored claimant is this very message is a re-delivery after a crash:
        # not a duplicate. Within one batch, a later copy of a key conflicts with the earlier.
        return {
            claims[i].claimant for i in conflicts if owners.get(claims[i].key) != claims[i].claimant
        }

    async def purge_expired(self, now: datetime) -> int:
        """Delete expired claims (for servers without TTL support); return how many."""
        try:
            result = await self._collection.delete_many({"expires_at": {"$lt": now}})
        except PyMongoError as exc:
            raise store_failure(exc, "cannot purge expired claims") from exc
        return int(result.deleted_count)
