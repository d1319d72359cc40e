"""De-duplication by claiming `(source, event_id)` keys in MongoDB, a chunk of keys at a time.

The claims are an append-only log in the collection `ingest_claim_log`: one document per claim
call (a chunk of a batch), its `_id` the next number of the log, holding the chunk's keys, the
position each was read at (`topic:partition:offset`, its claimant) and a 64-bit hash of each
key. Every ingest instance keeps the hashes of the log in memory (about 100 bytes a key) and
reads the chunks other instances appended before it judges a chunk of its own:

- a key no earlier chunk holds is claimed by appending a chunk with the next number; the
  insert of that `_id` is the arbiter between instances: when another instance took the number
  first, the insert fails as a duplicate `_id`, and the chunk is judged again after reading it;
- a key an earlier chunk holds is a duplicate, unless the claimant stored with it is this very
  record: a record re-delivered after a crash (claimed, but maybe not published) is published
  again rather than mistaken for a duplicate; downstream de-duplicates by `key`;
- within one call, a later copy of a key loses to the earlier.

A hash only points at the chunks to read: the stored key is compared before anything is called a
duplicate, so a collision of hashes costs a read, never an event.

Claims expire after the horizon (35 days): expired chunks leave the memory and the database,
except the newest, which keeps the log's numbering going. One document per chunk instead of
one per key is what makes this fast on the local SecantusDB: it spent about 165 µs of its CPU
per claim document (60 µs without the TTL index the per-key layout needed) and about 1 µs per
key in a chunk (docs/ingest.md, Throughput).

PyMongo's errors are translated at this boundary (`shared/transient.py`): `StoreUnavailable` is
retried by the pipeline, a permanent `StoreError` is not.
"""

import asyncio
import hashlib
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple, Protocol

from bson import Binary
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.transient import store_failure

COLLECTION: Final = "ingest_claim_log"
# The layout before the log: one document per key. Its live claims are moved into the log once.
LEGACY_COLLECTION: Final = "ingest_claims"
_HASH_BITS: Final = (1 << 60) - 1  # an int below 2**60 is the smallest Python int of 8 bytes
_IMPORT_CHUNK: Final = 10_000
# Keys and claimants are stored as one text each, joined by a character neither can hold (the
# contract's patterns and topic names exclude it): one BSON string encodes and decodes at the
# speed of a copy, 10,000 strings do not.
_SEPARATOR: Final = "\n"
_CHUNK_FIELDS: Final = {"hashes": 1, "expires_at": 1}
REFRESH_WINDOW: Final = 16  # chunk numbers asked for at once after the head
# Instances' clocks may differ: a head chunk this close to its expiry may have a successor
# another instance already counts as expired and deleted.
EXPIRY_MARGIN: Final = timedelta(hours=1)


class Claim(NamedTuple):
    """A key and where the message claiming it was read."""

    key: str
    claimant: str  # "topic:partition:offset"


class ClaimStore(Protocol):
    """Remembers which event keys were accepted, within a horizon."""

    async def claim(self, claims: Sequence[Claim], now: datetime) -> set[str]:
        """Claim keys; return the claimants whose key belongs to an earlier, other message."""
        ...


def key_hash(key: str) -> int:
    """A stable 60-bit hash of a key (the same in every process, unlike `hash`)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & _HASH_BITS


@dataclass(frozen=True, slots=True)
class _Chunk:
    expires_at: datetime
    hashes: "array[int]"  # of "Q"


class MongoClaimStore:
    """`ClaimStore` on an append-only log of claim chunks in MongoDB, indexed in memory."""

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        horizon: timedelta,
        *,
        legacy: AsyncCollection[dict[str, Any]] | None = None,
    ) -> None:
        self._collection = collection
        self._legacy = legacy
        self._horizon = horizon
        self._head = 0  # the highest chunk number read or written
        # hash → the chunk holding it, or the chunks when a hash is in several (a collision,
        # or a key claimed again after its first claim expired)
        self._index: dict[int, int | tuple[int, ...]] = {}
        self._chunks: dict[int, _Chunk] = {}
        self._next_expiry: datetime | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def on(
        cls, client: AsyncMongoClient[dict[str, Any]], database: str, horizon: timedelta
    ) -> "MongoClaimStore":
        """The store in the platform's database."""
        return cls(
            client[database][COLLECTION], horizon, legacy=client[database][LEGACY_COLLECTION]
        )

    async def prepare(self, now: datetime) -> None:
        """Move the live claims of the per-key layout into the log (once), then read the log."""
        async with self._lock:
            if self._legacy is not None:
                await self._import_legacy(self._legacy, now)
                self._legacy = None
            await self._refresh(now)

    async def claim(self, claims: Sequence[Claim], now: datetime) -> set[str]:
        if not claims:
            return set()
        async with self._lock:
            try:
                while True:
                    await self._refresh(now)
                    fresh, hashes, duplicates = await self._judge(claims, now)
                    if not fresh or await self._append(fresh, hashes, now):
                        return duplicates
                    # Another instance appended this number first: read it and judge again.
            except PyMongoError as exc:
                raise store_failure(exc, f"cannot claim {len(claims)} event keys") from exc

    @property
    def keys_held(self) -> int:
        """Hashes held in memory (for tests and the docs' memory figure)."""
        return len(self._index)

    async def _refresh(self, now: datetime) -> None:
        """Read the chunks appended since the last read; forget the expired ones.

        The chunks after the head are asked for by number, `REFRESH_WINDOW` at a time, until a
        window is not full: an `$in` of numbers is served by the `_id` index on the local
        SecantusDB, where a `$gt` read every chunk of the log, a scan that grew with the log
        (a fifth of the database's CPU at a steady 2,000 events/s after a year's backlog, and
        about 70 µs a chunk of 2,000 keys). Numbers are taken in order, so no chunk is
        missing above the head unless it expired and was deleted: while the head chunk is
        live, so are the chunks after it; when it is not (a restart, an instance idle for the
        horizon), the log is read by range as before."""
        head = self._chunks.get(self._head)
        if head is None or head.expires_at <= now + EXPIRY_MARGIN:
            await self._read(
                self._collection.find({"_id": {"$gt": self._head}}, _CHUNK_FIELDS).sort(
                    "_id", ASCENDING
                )
            )
        else:
            while True:
                numbers = list(range(self._head + 1, self._head + 1 + REFRESH_WINDOW))
                cursor = self._collection.find({"_id": {"$in": numbers}}, _CHUNK_FIELDS)
                if await self._read(cursor.sort("_id", ASCENDING)) < REFRESH_WINDOW:
                    break
        if self._next_expiry is not None and self._next_expiry <= now:
            await self._expire(now)

    async def _read(self, cursor: AsyncCursor[dict[str, Any]]) -> int:
        """Add the chunks a cursor returns; how many."""
        read = 0
        async for document in cursor:
            hashes = _unpacked(bytes(document["hashes"]))
            self._add(int(document["_id"]), _aware(document["expires_at"]), hashes)
            read += 1
        return read

    async def _judge(
        self, claims: Sequence[Claim], now: datetime
    ) -> tuple[list[Claim], "array[int]", set[str]]:
        """The claims to append (keys no live chunk holds), their hashes, and the duplicates'
        claimants."""
        hashes = [key_hash(c.key) for c in claims]
        wanted: set[int] = set()
        for value in map(self._index.get, hashes):
            if value is not None:
                wanted.update((value,) if isinstance(value, int) else value)
        owners = await self._stored_owners(
            [seq for seq in wanted if self._chunks[seq].expires_at > now]
        )
        fresh: list[Claim] = []
        fresh_hashes = array("Q")
        duplicates: set[str] = set()
        for claim, value in zip(claims, hashes, strict=True):
            owner = owners.get(claim.key)
            if owner is None:
                owners[claim.key] = claim.claimant  # a later copy in this call loses to it
                fresh.append(claim)
                fresh_hashes.append(value)
            elif owner != claim.claimant:
                duplicates.add(claim.claimant)
        return fresh, fresh_hashes, duplicates

    async def _stored_owners(self, chunks: Iterable[int]) -> dict[str, str]:
        """Key → claimant in the given chunks, the earliest chunk first."""
        numbers = sorted(chunks)
        if not numbers:
            return {}
        owners: dict[str, str] = {}
        cursor = self._collection.find({"_id": {"$in": numbers}}, {"keys": 1, "claimants": 1}).sort(
            "_id", ASCENDING
        )
        async for document in cursor:
            keys = document["keys"].split(_SEPARATOR)
            claimants = document["claimants"].split(_SEPARATOR)
            for key, claimant in zip(keys, claimants, strict=True):
                owners.setdefault(key, claimant)
        return owners

    async def _append(self, fresh: Sequence[Claim], hashes: "array[int]", now: datetime) -> bool:
        """Append a chunk with the next number; False if another instance took it first."""
        expires = now + self._horizon
        seq = self._head + 1
        keys = _joined([c.key for c in fresh])
        claimants = _joined([c.claimant for c in fresh])
        try:
            await self._collection.insert_one(
                {
                    "_id": seq,
                    "keys": keys,
                    "claimants": claimants,
                    "hashes": Binary(_packed(hashes)),
                    "claimed_at": now,
                    "expires_at": expires,
                }
            )
        except DuplicateKeyError:
            return False
        self._add(seq, expires, hashes)
        return True

    def _add(self, seq: int, expires_at: datetime, hashes: "array[int]") -> None:
        self._head = max(self._head, seq)
        self._chunks[seq] = _Chunk(expires_at, hashes)
        index = self._index
        for value in hashes:
            held = index.setdefault(value, seq)
            if held != seq:
                index[value] = (*((held,) if isinstance(held, int) else held), seq)
        if self._next_expiry is None or expires_at < self._next_expiry:
            self._next_expiry = expires_at

    async def _expire(self, now: datetime) -> None:
        """Forget the expired chunks; delete them, all but the newest, from the database."""
        gone = [seq for seq, chunk in self._chunks.items() if chunk.expires_at <= now]
        index = self._index
        for seq in gone:
            for value in self._chunks.pop(seq).hashes:
                held = index.get(value)
                if held == seq:
                    del index[value]
                elif isinstance(held, tuple):
                    rest = tuple(s for s in held if s != seq)
                    index[value] = rest[0] if len(rest) == 1 else rest
        self._next_expiry = min((c.expires_at for c in self._chunks.values()), default=None)
        await self._collection.delete_many(
            {"_id": {"$lt": self._head}, "expires_at": {"$lte": now}}
        )

    async def _import_legacy(self, legacy: AsyncCollection[dict[str, Any]], now: datetime) -> None:
        """Append the unexpired per-key claims as chunks (expiring with the latest of each
        chunk, so none expires earlier than it would have), then drop the old collection.
        Interrupted, it runs again at the next start: a key appended twice with the same
        claimant is harmless."""
        try:
            cursor = legacy.find({"expires_at": {"$gt": now}}).sort("expires_at", ASCENDING)
            documents = [d async for d in cursor]
            if documents:
                await self._refresh(now)
            for start in range(0, len(documents), _IMPORT_CHUNK):
                part = documents[start : start + _IMPORT_CHUNK]
                claims = [Claim(str(d["_id"]), str(d.get("claimant", ""))) for d in part]
                expires = _aware(part[-1]["expires_at"])
                while not await self._append_expiring(claims, now, expires):
                    await self._refresh(now)
            await legacy.drop()
        except PyMongoError as exc:
            raise store_failure(exc, "cannot move the per-key claims into the claim log") from exc

    async def _append_expiring(
        self, claims: Sequence[Claim], now: datetime, expires: datetime
    ) -> bool:
        horizon, self._horizon = self._horizon, expires - now
        try:
            return await self._append(claims, array("Q", (key_hash(c.key) for c in claims)), now)
        finally:
            self._horizon = horizon


def _joined(texts: list[str]) -> str:
    joined = _SEPARATOR.join(texts)
    if joined.count(_SEPARATOR) != len(texts) - 1:
        raise ValueError("a claim key or claimant holds a line break; the contract allows none")
    return joined


def _aware(moment: datetime) -> datetime:
    """PyMongo reads BSON dates as naive UTC unless the client is tz-aware."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _packed(hashes: "array[int]") -> bytes:
    """Little-endian bytes of the hashes, whatever the machine's byte order."""
    if sys.byteorder == "little":
        return hashes.tobytes()
    swapped = array("Q", hashes)
    swapped.byteswap()
    return swapped.tobytes()


def _unpacked(data: bytes) -> "array[int]":
    hashes = array("Q")
    hashes.frombytes(data)
    if sys.byteorder != "little":
        hashes.byteswap()
    return hashes
