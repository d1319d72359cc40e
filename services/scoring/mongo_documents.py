"""How scoring's state is laid out in MongoDB documents, purely: where a logical counter
document or record bucket is kept, and the whole documents a batch writes back (see
`mongo_store.py` for the collections)."""

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from bson.binary import Binary
from bson.decimal128 import Decimal128
from pymongo import ReplaceOne

from .domain.model import Fact
from .ports import CounterDocument

Document = dict[str, Any]
DAY_LENGTH = len("2024-05-17")  # day buckets feed rolling windows; their changes are not kept
# Agents' counters and records share documents by a stable hash of the agent id. Changing it
# moves every agent to another document: the state must then be rebuilt (docs/scoring.md).
AGENT_SHARDS: Final = 64
AGENT = "agent:"
# Raised by one at every write of a counter or record document: a document cached between
# batches is replaced only where the stored revision is still the cached one (state_cache.py).
# Documents written before revisions have none, and are read in the batch's transaction.
REVISION: Final = "rev"
# Bucket and component names become field-path segments: nothing but these characters.
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
# BSON's integers are 64-bit. A component beyond them (premium sums are kept in ten-thousandths:
# about 75 premiums at the contract's maximum in one month) is stored as a Decimal128, exact to
# 34 digits, and its entry is flagged `wide`, so that reads convert only flagged entries.
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
WIDE: Final = "wide"
# A record document's records, packed into one MessagePack value: the database handles one
# BSON element per document instead of a few dozen per record. SecantusDB's cost is per
# element (it decodes, deep-copies and encodes each one in Python): 200 documents of 130
# records replaced in 0.19 s packed against 1.25 s nested, read in 0.05 s against 0.73 s.
# Documents written before packing keep their records nested under `r` until their next write.
PACKED: Final = "p"
NESTED: Final = "r"
_PACK = msgspec.msgpack.Encoder()
_UNPACK = msgspec.msgpack.Decoder(dict[str, dict[str, Any]])
# A counter document's content (`buckets`, `touched`, `members`, `wide`) is packed the same way;
# `_id`, `rev`, `fiscal_year` and `entity` stay fields, for the index and the `_id` reads.
_COUNTER_CONTENT: Final = ("buckets", "touched", "members", WIDE)
_UNPACK_COUNTER = msgspec.msgpack.Decoder(dict[str, Any])


def record_key(record_id: str) -> str:
    """A field-path-safe key for a record id, which may contain '.' or start with '$'."""
    return hashlib.sha1(record_id.encode(), usedforsecurity=False).hexdigest()


def counter_location(doc_id: str) -> tuple[str, str | None]:
    """Where the logical counter document `{entity}|{fiscal year}` is kept: the MongoDB
    document's `_id`, and for an agent its key in that document's `members`."""
    entity, _, fiscal_year = doc_id.rpartition("|")
    if entity.startswith(AGENT):
        return f"agents#{_shard(entity):02d}|{fiscal_year}", record_key(entity)
    return doc_id, None


def record_location(bucket: str) -> str:
    """The `_id` of the MongoDB document that holds the logical record bucket
    `{kind}|{owner}|{suffix}`: shared by the agents of a shard, an own one for other owners."""
    kind, _, rest = bucket.partition("|")
    owner, _, suffix = rest.partition("|")
    if owner.startswith(AGENT):
        return f"{kind}|agents#{_shard(owner):02d}|{suffix}"
    return bucket


def _shard(owner: str) -> int:
    digest = hashlib.blake2b(owner.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % AGENT_SHARDS


def touched_of(stored: Document) -> Iterable[tuple[str, Mapping[str, datetime]]]:
    """(entity, {bucket: last changed}) of a stored counter document, or of each of its
    members."""
    doc = unpacked_counter(stored)
    if "members" in doc:
        for member in doc["members"].values():
            yield member["entity"], member.get("touched", {})
    else:
        yield doc["entity"], doc.get("touched", {})


def revision_of(doc: Mapping[str, Any] | None) -> int | None:
    """A stored document's revision (None: no document, or one written before revisions)."""
    if doc is None:
        return None
    revision = doc.get(REVISION)
    return revision if isinstance(revision, int) else None


def _next_revision(before: Mapping[str, Any] | None) -> int:
    return (revision_of(before) or 0) + 1


def counter_replacements(
    counters: Iterable[CounterDocument], current: Mapping[str, Document], touched_at: datetime
) -> list[ReplaceOne[Document]]:
    """`counters_after` as upserts by `_id`."""
    return _replacements(counters_after(counters, current, touched_at))


def counters_after(
    counters: Iterable[CounterDocument], current: Mapping[str, Document], touched_at: datetime
) -> dict[str, Document]:
    """Each MongoDB counter document, by `_id`, as it stands after the batch's increments
    (several entries for one logical document are summed), with the time each bucket other
    than a day's last changed (`touched`) and the next revision; an agent's entry changes only
    its own member."""
    merged: dict[str, Document] = {}
    copied: set[tuple[str, str]] = set()  # members already copied from `current`
    wide: dict[int, Document] = {}  # entries with a component beyond 64 bits, by id()
    for counter in counters:
        physical, member = counter_location(counter.doc_id)
        doc = merged.get(physical)
        if doc is None:
            doc = _writable(physical, counter, member, unpacked_counter(current.get(physical)))
            merged[physical] = doc
        if member is None:
            entry = doc
        else:
            members = doc["members"]
            if (physical, member) not in copied:
                members[member] = _copied(counter.entity, members.get(member) or {})
                copied.add((physical, member))
            entry = members[member]
        buckets, touched = entry["buckets"], entry["touched"]
        for key, delta in counter.increments.items():
            bucket, component = _increment_key(key)
            components = buckets.setdefault(bucket, {})
            value = components.get(component, 0) + delta
            components[component] = value
            # A wide entry was narrowed when copied: widen it again whatever this batch adds.
            if not _INT64_MIN <= value <= _INT64_MAX or WIDE in entry:
                wide[id(entry)] = entry
            if len(bucket) != DAY_LENGTH:
                last = aware(touched.get(bucket))
                touched[bucket] = touched_at if last is None else max(last, touched_at)
    for entry in wide.values():
        _widen(entry)
    for doc in merged.values():
        content = {key: doc.pop(key) for key in _COUNTER_CONTENT if key in doc}
        doc[PACKED] = Binary(_PACK.encode(content))
    return merged


def unpacked_counter(doc: Mapping[str, Any] | None) -> Document:
    """A stored counter document with its content unpacked (`buckets`, `touched`, `members`,
    `wide` as fields, as documents written before packing hold them)."""
    if doc is None:
        return {}
    packed = doc.get(PACKED)
    if packed is None:
        return dict(doc)
    unpacked = {key: value for key, value in doc.items() if key != PACKED}
    unpacked.update(_UNPACK_COUNTER.decode(packed))
    return unpacked


def _replacements(documents: Mapping[str, Document]) -> list[ReplaceOne[Document]]:
    return [ReplaceOne({"_id": doc_id}, doc, upsert=True) for doc_id, doc in documents.items()]


def _widen(entry: Document) -> None:
    """Store the entry's components beyond 64 bits as decimal strings (MessagePack, like BSON,
    has no wider integer), and flag it."""
    for components in entry["buckets"].values():
        for component, value in components.items():
            # Compared, not `in range(...)`: that scans for an int subclass such as bson's Int64.
            if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
                components[component] = str(value)
    entry[WIDE] = True


def narrowed(entry: Document) -> Document:
    """A stored counter entry with every component an int again (only a `wide` entry has a
    decimal string in it, or a Decimal128 if written before packing: the others are returned
    as they are)."""
    if not entry.get(WIDE):
        return entry
    buckets = {
        bucket: {c: _integer(v) for c, v in components.items()}
        for bucket, components in entry.get("buckets", {}).items()
    }
    return {**entry, "buckets": buckets}


def _integer(value: object) -> object:
    if isinstance(value, Decimal128):
        return int(value.to_decimal())
    if isinstance(value, str):
        return int(value)
    return value


def _writable(
    physical: str, counter: CounterDocument, member: str | None, before: Document
) -> Document:
    """The document to write, started from what is stored: the members of a shard are
    copied lazily (only those the batch changes are copied deep)."""
    head: Document = {
        "_id": physical,
        REVISION: _next_revision(before),
        "fiscal_year": counter.fiscal_year,
    }
    if member is None:
        return head | _copied(counter.entity, before)
    return head | {
        "entity": physical.rpartition("|")[0],
        "members": dict(before.get("members", {})),
    }


def _copied(entity: str, entry: Document) -> Document:
    copy: Document = {
        "entity": entity,
        "buckets": {b: dict(c) for b, c in narrowed(entry).get("buckets", {}).items()},
        "touched": dict(entry.get("touched", {})),
    }
    if entry.get(WIDE):
        copy[WIDE] = True  # once wide, stays flagged: cheaper than scanning every write
    return copy


def _increment_key(key: str) -> tuple[str, str]:
    """`"2024-05/renewal_due"` -> `("2024-05", "renewal_due")`; anything else is refused."""
    bucket, _, component = key.partition("/")
    if not (_PATH_SEGMENT.fullmatch(bucket) and _PATH_SEGMENT.fullmatch(component)):
        raise ValueError(f"counter increment key {key!r} is not 'bucket/component'")
    return bucket, component


def record_replacements(
    records: Mapping[str, Mapping[str, Sequence[Fact]]], stored: Mapping[str, Document]
) -> list[ReplaceOne[Document]]:
    """`records_after` as upserts by `_id`."""
    return _replacements(records_after(records, stored))


def records_after(
    records: Mapping[str, Mapping[str, Sequence[Fact]]], stored: Mapping[str, Document]
) -> dict[str, Document]:
    """Each record document, by `_id`, as stored, with the facts of every record the batch
    changed replaced (other records, of this bucket or of others sharing the document, kept)
    and the next revision."""
    merged: dict[str, Document] = {}
    for bucket, by_record in records.items():
        if not by_record:
            continue
        physical = record_location(bucket)
        doc = merged.get(physical)
        if doc is None:
            before = stored.get(physical)
            doc = {
                "_id": physical,
                REVISION: _next_revision(before),
                PACKED: stored_records(before),
            }
            merged[physical] = doc
        entries = doc[PACKED]
        for record_id, facts in by_record.items():
            entries[record_key(f"{bucket}|{record_id}")] = {
                "id": record_id,
                "b": bucket,
                "facts": [dict(f) for f in facts],
            }
    for doc in merged.values():
        doc[PACKED] = Binary(_PACK.encode(doc[PACKED]))
    return merged


def stored_records(doc: Mapping[str, Any] | None) -> dict[str, Document]:
    """The records of a stored record document, `{key: {id, b: bucket, facts}}`: unpacked, or
    as they were nested before packing."""
    if doc is None:
        return {}
    packed = doc.get(PACKED)
    if packed is not None:
        return _UNPACK.decode(packed)
    return dict(doc.get(NESTED, {}))


def aware(value: datetime | None) -> datetime | None:
    """A BSON date as an aware datetime (a client without tz_aware=True reads naive UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
