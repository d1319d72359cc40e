"""Adapters of `deadletters`' ports: the topic read to its true end, and the re-drive ledger in
MongoDB (`deadletter_redrives`, one document per letter sent back)."""

import asyncio
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Final

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from shared import topics
from shared.errors import KpiError
from shared.idle import end_offsets
from shared.kafka import aiokafka_options
from shared.messages import DeadLetter
from shared.settings import Settings

from .deadletters import LetterBatch, StoredLetter

LEDGER_COLLECTION: Final = "deadletter_redrives"
_DUPLICATE_KEY: Final = 11000
_LOOKUP_CHUNK: Final = 1_000


class DeadLetterReadError(KpiError):
    """kpi.deadletter.v1 could not be read to its end."""


class KafkaLetterSource:
    """`LetterSource` on kpi.deadletter.v1, from the beginning to the end found by reading on
    (`shared.idle.end_offsets`: Tansu answers ListOffsets(latest) short of the real end)."""

    def __init__(self, settings: Settings, timeout_s: float = 120.0) -> None:
        self._settings = settings
        self._timeout_s = timeout_s

    async def read_all(self) -> LetterBatch:
        ends = await end_offsets(self._settings, [topics.DEADLETTER])
        if not ends:
            return LetterBatch(())
        consumer = AIOKafkaConsumer(**aiokafka_options(self._settings), enable_auto_commit=False)
        await consumer.start()
        letters: list[StoredLetter] = []
        unreadable = 0
        try:
            consumer.assign(list(ends))
            starts = await consumer.beginning_offsets(list(ends))
            pending = {tp for tp, end in ends.items() if end > starts[tp]}
            for tp in pending:
                consumer.seek(tp, starts[tp])
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._timeout_s
            while pending:
                if loop.time() >= deadline:
                    raise DeadLetterReadError(
                        f"{topics.DEADLETTER} not read to its end in {self._timeout_s:.0f}s"
                    )
                batches = await consumer.getmany(*pending, timeout_ms=500, max_records=10_000)
                for tp, records in batches.items():
                    for record in records:
                        if record.offset >= ends[tp]:
                            break  # published after we looked: the next listing shows it
                        try:
                            letter = DeadLetter.model_validate_json(record.value or b"")
                        except ValidationError:
                            unreadable += 1
                            continue
                        letters.append(StoredLetter(letter, record.partition, record.offset))
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        finally:
            await consumer.stop()
        return LetterBatch(tuple(letters), unreadable)


class MongoRedriveLedger:
    """`RedriveLedger` on a MongoDB collection: `_id` is the letter's source position."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    @classmethod
    def on(cls, client: AsyncMongoClient[dict[str, Any]], database: str) -> "MongoRedriveLedger":
        """The ledger in the platform's database."""
        return cls(client[database][LEDGER_COLLECTION])

    async def redriven(self, positions: Collection[str]) -> set[str]:
        wanted = sorted(set(positions))
        found: set[str] = set()
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            query = {"_id": {"$in": wanted[start : start + _LOOKUP_CHUNK]}}
            found.update(
                [str(doc["_id"]) async for doc in self._collection.find(query, {"_id": 1})]
            )
        return found

    async def remember(self, positions: Sequence[str], at: datetime) -> None:
        if not positions:
            return
        documents = [{"_id": position, "redriven_at": at} for position in positions]
        try:
            await self._collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            # Remembered already (a re-drive that crashed after sending): the first time stands.
            if any(e.get("code") != _DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise
