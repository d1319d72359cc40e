"""The generations' control document in MongoDB, and the two ways of reading state through it.

- `MongoGenerations` reads the control document and changes it by compare-and-set: an update
  names the active, previous and building generations it expects, so two operators (or an
  operator and a resumed recompute) cannot both switch; the loser is told to look again.
- `ActiveStateStore` is the state as readers see it: every read is of the generation active
  when the read starts (the read model, `kpi scores`, `kpi wait-idle`).
- `GenerationFence` is the live scoring service's store: one generation's state, whose commits
  are refused (`GenerationSwitched`, nothing written) once that generation is no longer the
  active one, so the service stops writing to it and restarts on the new one.
"""

import logging
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.transient import mongo_transient

from .domain.model import Fact
from .generations import (
    CONTROL,
    CONTROL_ID,
    REVISIONS_ID,
    GenerationError,
    Generations,
    RevisionProgress,
    collections_of,
    from_document,
    progress_document,
    progress_from,
    republish_from,
    to_document,
)
from .mongo_documents import PACKED, touched_of
from .mongo_store import MongoStateStore
from .ports import (
    BatchWrite,
    BeforeCommit,
    Document,
    GroupClock,
    StaleOffsets,
    StateStoreError,
    StateStoreUnavailable,
    StoredPosition,
    Unscored,
)
from .state_cache import StateCache

logger = logging.getLogger(__name__)
_CHANGED = (
    "the state generations changed meanwhile; look again (`kpi recompute --status`) and retry"
)


class GenerationSwitched(StaleOffsets):
    """The generation this instance writes is no longer the active one: nothing was written.
    A `StaleOffsets`, so the service drops the batch as it does when fenced by another
    instance, and its owner restarts it on the active generation."""


def _failure(exc: PyMongoError, message: str) -> StateStoreError:
    kind = StateStoreUnavailable if mongo_transient(exc) else StateStoreError
    return kind(message)


class MongoGenerations:
    """The control document `scoring_generations/scoring`, and the generations' state."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        database: str,
        *,
        store_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._database = database
        # Passed on to each generation's `MongoStateStore` (the live service's settings).
        self._store_options = dict(store_options or {})
        self._control = client[database][CONTROL]

    @property
    def database(self) -> str:
        """The database the generations' state and the control document are in."""
        return self._database

    async def read(self) -> Generations:
        """The control state (none stored: `g0` active, nothing else)."""
        try:
            document = await self._control.find_one({"_id": CONTROL_ID})
        except PyMongoError as exc:
            raise _failure(exc, f"cannot read the state generations: {exc}") from exc
        return from_document(document)

    async def active(self) -> str:
        return (await self.read()).active

    async def republished_from(self, since: str) -> str | None:
        """The first period the move from generation `since` to the active one republishes
        (`kpi recompute --from`); None: every period."""
        state = await self.read()
        return republish_from(state, since, state.active)

    async def replace(self, expected: Generations, new: Generations) -> None:
        """Store `new` if the control document still names `expected`'s generations (one
        atomic update); otherwise raise `GenerationError` (someone changed them meanwhile)."""
        fields = to_document(new)
        condition = {
            "_id": CONTROL_ID,
            "active": expected.active,
            "previous": expected.previous,
            "building": expected.building,
        }
        try:
            # Nothing stored reads as the default state: the first change inserts the document
            # (upsert); a document that names other generations makes the upsert's insert a
            # duplicate `_id`.
            result = await self._control.update_one(condition, {"$set": fields}, upsert=True)
        except DuplicateKeyError as exc:
            raise GenerationError(_CHANGED) from exc
        except PyMongoError as exc:
            raise _failure(exc, f"cannot change the state generations: {exc}") from exc
        if result.matched_count != 1 and result.upserted_id is None:
            raise GenerationError(_CHANGED)

    async def note_definitions(self, generation: str, definitions_hash: str) -> None:
        """Record the definitions applied to the active generation when none are recorded (the
        first generation, built before anyone recorded them): a rollback to it can then tell
        whether the files are the ones it was built with."""
        state = await self.read()
        if state.active != generation or state.info(generation).definitions_hash is not None:
            return
        field = f"known.{generation}.definitions_hash"
        try:
            await self._control.update_one(
                {"_id": CONTROL_ID, "active": generation},
                {"$set": {field: definitions_hash}},
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # switched meanwhile: the generation is no longer the active one
        except PyMongoError as exc:
            raise _failure(exc, f"cannot record the definitions of {generation}: {exc}") from exc

    async def revisions(self) -> RevisionProgress | None:
        """How far the score revisions of the last switch went (None: none begun)."""
        try:
            document = await self._control.find_one({"_id": REVISIONS_ID})
        except PyMongoError as exc:
            raise _failure(exc, f"cannot read the score revisions' progress: {exc}") from exc
        return progress_from(document)

    async def note_revisions(self, progress: RevisionProgress) -> None:
        """Record how far the score revisions went (after each chunk sent)."""
        try:
            await self._control.replace_one(
                {"_id": REVISIONS_ID}, progress_document(progress), upsert=True
            )
        except PyMongoError as exc:
            raise _failure(exc, f"cannot record the score revisions' progress: {exc}") from exc

    async def counter_keys(self, generation: str) -> set[tuple[str, str]]:
        """Every (entity, bucket) with counters in a generation, days left out."""
        counters = self._client[self._database][collections_of(generation).counters]
        try:
            return {
                (entity, bucket)
                async for doc in counters.find(
                    {}, {"entity": 1, "touched": 1, "members": 1, PACKED: 1}
                )
                for entity, buckets in touched_of(doc)
                for bucket in buckets
            }
        except PyMongoError as exc:
            raise _failure(exc, f"cannot list the counters of {generation}: {exc}") from exc

    def store(self, generation: str) -> MongoStateStore:
        """One generation's state."""
        return MongoStateStore(self._client, self._database, collections=collections_of(generation))

    async def drop(self, generation: str) -> None:
        """Drop a generation's collections (never the active one's: the caller made sure)."""
        db = self._client[self._database]
        try:
            for name in collections_of(generation).all():
                await db.drop_collection(name)
        except PyMongoError as exc:
            raise _failure(exc, f"cannot drop generation {generation}: {exc}") from exc


class ActiveStateStore:
    """The state of the active generation, read-only: each read looks up the control document
    first, so a switch is seen by the next read. (A `StateStore` for readers: `commit` and
    `mark_scored` refuse.)"""

    def __init__(self, generations: MongoGenerations) -> None:
        self._generations = generations

    async def _active(self) -> MongoStateStore:
        return self._generations.store(await self._generations.active())

    def forget(self) -> None:
        """Nothing kept: each read goes to the active generation's collections."""

    async def ensure_schema(self) -> None:
        await (await self._active()).ensure_schema()

    async def positions(
        self, group: str, partitions: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], StoredPosition]:
        return await (await self._active()).positions(group, partitions)

    async def stream_time(self, group: str) -> datetime | None:
        return await (await self._active()).stream_time(group)

    async def group_clock(self, group: str) -> GroupClock | None:
        return await (await self._active()).group_clock(group)

    async def records(self, bucket_ids: Collection[str]) -> dict[str, dict[str, list[Fact]]]:
        return await (await self._active()).records(bucket_ids)

    async def counter_documents(self, doc_ids: Collection[str]) -> dict[str, Document]:
        return await (await self._active()).counter_documents(doc_ids)

    async def commit(self, write: BatchWrite, before_commit: BeforeCommit) -> None:
        raise StateStoreError("the active generation's state is read-only here")

    async def mark_scored(
        self, group: str, partitions: Collection[tuple[str, int]], through: datetime
    ) -> None:
        raise StateStoreError("the active generation's state is read-only here")

    async def unscored(self, group: str, partitions: Collection[tuple[str, int]]) -> Unscored:
        return await (await self._active()).unscored(group, partitions)


class GenerationFence:
    """One generation's state for the live scoring service: a commit checks, inside its
    transaction and before anything is published, that the generation is still the active
    one, and raises `GenerationSwitched` (the transaction aborts) when it is not."""

    def __init__(self, generations: MongoGenerations, generation: str) -> None:
        self._generations = generations
        self.generation = generation
        self._store = generations.store(generation)
        self.switched_to: str | None = None  # the active generation, once it is not ours

    @property
    def cache(self) -> StateCache | None:
        """The documents its store keeps between batches (None: not a cached store)."""
        return self._store.cache if isinstance(self._store, MongoStateStore) else None

    def forget(self) -> None:
        self._store.forget()

    async def check(self) -> bool:
        """Whether this generation is still the active one (remembers the new one if not)."""
        active = await self._generations.active()
        if active != self.generation:
            self.switched_to = active
        return active == self.generation

    async def ensure_schema(self) -> None:
        await self._store.ensure_schema()

    async def positions(
        self, group: str, partitions: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], StoredPosition]:
        return await self._store.positions(group, partitions)

    async def stream_time(self, group: str) -> datetime | None:
        return await self._store.stream_time(group)

    async def group_clock(self, group: str) -> GroupClock | None:
        return await self._store.group_clock(group)

    async def records(self, bucket_ids: Collection[str]) -> dict[str, dict[str, list[Fact]]]:
        return await self._store.records(bucket_ids)

    async def counter_documents(self, doc_ids: Collection[str]) -> dict[str, Document]:
        return await self._store.counter_documents(doc_ids)

    async def commit(self, write: BatchWrite, before_commit: BeforeCommit) -> None:
        async def fenced() -> None:
            if not await self.check():
                raise GenerationSwitched(
                    f"generation {self.generation} is no longer the active one "
                    f"({self.switched_to} is): the batch is not committed to it"
                )
            await before_commit()

        await self._store.commit(write, fenced)

    async def mark_scored(
        self, group: str, partitions: Collection[tuple[str, int]], through: datetime
    ) -> None:
        await self._store.mark_scored(group, partitions, through)

    async def unscored(self, group: str, partitions: Collection[tuple[str, int]]) -> Unscored:
        return await self._store.unscored(group, partitions)
