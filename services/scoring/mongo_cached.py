"""Scoring's counter and record collections with the documents of the last batches kept in
memory (`state_cache.py`): reads that take what is cached and read the rest, and whole-document
writes fenced by each cached document's revision. Used by `mongo_store.py` alone.

The local SecantusDB slows down quadratically on `$in` lists of more than ~100 ids and is slow
on `$or`, so every read by id goes in chunks of `ID_CHUNK` (DESIGN §10).
"""

import logging
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from typing import Any, TypeVar

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from .mongo_documents import REVISION, revision_of
from .ports import StateStoreUnavailable
from .state_cache import CacheKey, StateCache

logger = logging.getLogger(__name__)
Document = dict[str, Any]
Written = tuple[CacheKey, int, bytes]  # a document written, its revision and BSON
ID_CHUNK = 100


class StaleCache(StateStoreUnavailable):
    """A cached document's stored revision moved: another instance wrote it since this one
    cached it. Nothing was committed; the batch is retried with fresh reads."""


class CachedDocuments:
    """One collection of revisioned state documents, sharing the store's cache."""

    def __init__(self, collection: AsyncCollection[Document], cache: StateCache) -> None:
        self._collection = collection
        self._cache = cache
        # The documents `read` decoded, by id, with the BSON they were decoded from: the commit
        # that follows takes them as they are rather than decoding the same bytes again (a
        # batch's record documents were decoded twice, a sixth of scoring's CPU when live).
        self._decoded: dict[str, tuple[bytes, Document]] = {}

    @property
    def _options(self) -> CodecOptions[Document]:
        return self._collection.codec_options

    def _raw(self) -> AsyncCollection[RawBSONDocument]:
        """The collection read as BSON, to be cached as it came."""
        options = self._options.with_options(document_class=RawBSONDocument)
        return self._collection.with_options(codec_options=options)

    def cached(self, ids: Iterable[str]) -> dict[str, Document]:
        """The documents of `ids` held in the cache, decoded (callers do not change them)."""
        found: dict[str, Document] = {}
        name = self._collection.name
        for doc_id in ids:
            entry = self._cache.get((name, doc_id))
            if entry is None:
                continue
            decoded = self._decoded.get(doc_id)
            if decoded is not None and decoded[0] is entry.raw:  # the very version cached
                found[doc_id] = decoded[1]
            else:
                found[doc_id] = bson.decode(entry.raw, codec_options=self._options)
        return found

    async def read(self, ids: Collection[str]) -> dict[str, Document]:
        """The documents of `ids`, outside a transaction: cached ones from the cache, the others
        read and cached (if they carry a revision)."""
        self._decoded.clear()
        documents = self.cached(ids)
        async for raw in find_by_ids(self._raw(), set(ids) - documents.keys()):
            data = bytes(raw.raw)
            doc: Document = bson.decode(data, codec_options=self._options)
            revision = revision_of(doc)
            if revision is not None:
                self._cache.put((self._collection.name, doc["_id"]), revision, data)
            documents[doc["_id"]] = doc
        name = self._collection.name
        for doc_id, doc in documents.items():
            entry = self._cache.get((name, doc_id))
            if entry is not None:
                self._decoded[doc_id] = (entry.raw, doc)
        return documents

    async def current(
        self, ids: Collection[str], session: AsyncClientSession
    ) -> tuple[set[str], dict[str, Document]]:
        """The documents a batch writes as they stand: from the cache where held (their ids
        come first), the others read in the transaction."""
        current = self.cached(ids)
        self._decoded.clear()  # a batch's worth at most
        missing = set(ids) - current.keys()
        async for doc in find_by_ids(self._collection, missing, session=session):
            current[doc["_id"]] = doc
        return set(ids) - missing, current

    async def replace(
        self, after: Mapping[str, Document], cached: Collection[str], session: AsyncClientSession
    ) -> list[Written]:
        """Write whole documents in one unordered bulk: a cached one only where its stored
        revision is the one before this write (raise `StaleCache` when one is not), the others
        upserted by `_id` (read in this transaction). Returns what to cache once committed."""
        ops: list[ReplaceOne[Document]] = []
        written: list[Written] = []
        name = self._collection.name
        for doc_id, doc in after.items():
            raw = bson.encode(doc, codec_options=self._options)
            replacement: Document = RawBSONDocument(raw)  # type: ignore[assignment]
            if doc_id in cached:
                expected = {"_id": doc_id, REVISION: doc[REVISION] - 1}
                ops.append(ReplaceOne(expected, replacement))
            else:
                ops.append(ReplaceOne({"_id": doc_id}, replacement, upsert=True))
            written.append(((name, doc_id), doc[REVISION], raw))
        result = await self._collection.bulk_write(ops, ordered=False, session=session)
        missed = len(ops) - result.matched_count - result.upserted_count
        if missed:
            logger.warning(
                "%d cached %s documents were written by another instance; retrying with "
                "fresh reads",
                missed,
                name,
            )
            raise StaleCache(
                f"{missed} of {len(cached)} cached {name} documents were written by another "
                "instance since this one cached them"
            )
        return written


_Doc = TypeVar("_Doc", Document, RawBSONDocument)


async def find_by_ids(
    collection: AsyncCollection[_Doc],
    ids: Iterable[str],
    projection: Mapping[str, int] | None = None,
    session: AsyncClientSession | None = None,
) -> AsyncIterator[_Doc]:
    """The documents with these ids, `ID_CHUNK` ids a query."""
    unique = sorted(set(ids))
    for start in range(0, len(unique), ID_CHUNK):
        chunk = unique[start : start + ID_CHUNK]
        async for doc in collection.find({"_id": {"$in": chunk}}, projection, session=session):
            yield doc
