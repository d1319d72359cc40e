"""A mutation fuzzer over valid upstream events, for the hostile-input resilience test.

`hostile_records(n, ...)` yields `n` records built from valid documents
(`bad_corpus.valid_document`) by one or two mutations each, drawn from `MUTATIONS`: truncated
JSON, wrong types, huge strings and arrays, deep nesting, NaN and Infinity, numbers written as
strings, invalid UTF-8, unknown fields, wrong schema versions, timestamps without an offset or
out of range, missing fields, values that are no object. Any record, hostile or valid, may
carry a garbage key and garbage headers (`garbage_envelope`). Everything comes from one seed:
the same arguments give the same bytes.

Every record gets an `event_id` of its own (`fz-<n>`), and every identifier of the business
object too (policy, customer, case, …): whatever ingest accepts of them is a new, independent
event, never a duplicate that ingest would drop without an outcome.
"""

import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tests.support.bad_corpus import EVENT_TYPES, LANGUAGES, valid_document

Document = dict[str, Any]
Headers = list[tuple[str, bytes | None]]
Mutate = Callable[[Document, random.Random], bytes]

_IDS: Final = (
    "policy_id", "customer_id", "renewal_id", "case_id", "response_id", "assessment_id",
    "session_id",
)  # fmt: skip
_SIZES: Final = (1_000, 20_000, 60_000, 70_000, 150_000)  # the contract's limit is 64 KiB
_DEPTHS: Final = (10, 50, 200, 1_000, 5_000)  # and one in fifty 30,000 deep
_NON_FINITE: Final = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "-0", "1e-400")
_NUMBER_TEXT: Final = ("1", "10", "9", "1e5", "0x10", " 42 ", "４２", "1_000", "+1", "NaN", "")
_INVALID_UTF8: Final = (
    b"\xff",
    b"\xfe\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xe5\xaf",
)
_SCHEMA_VERSIONS: Final = (0, 2, 999, -1, 1.5, None, True, "v1", "1", [1], {"v": 1}, 2**63)
_TIMESTAMPS: Final = (
    "2024-09-30T10:00:00",  # no offset
    "2024-09-30 10:00:00",
    "9999-12-31T23:59:59+09:00",
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00:00Z",
    "2024-02-30T10:00:00+09:00",
    "2024-09-30T25:00:00+09:00",
    "2024-09-30T10:00:00+24:00",
    "2024-09-30T10:00:00.123456789+09:00",
    "+10000-01-01T00:00:00Z",
    "",
    "yesterday",
    1_727_658_000,
    "2024-W40-1T10:00:00Z",
)
_UNKNOWN_NAMES: Final = ("x_note", "extra", "ünknown", "__proto__", "", "event_id ", "EVENT_TYPE")
_ANY: Final[tuple[object, ...]] = (
    None, True, False, 0, -1, 2**64, 3.5, "", "x", "日本語", [], [1, "a"], {}, {"a": {"b": None}},
)  # fmt: skip


def _encode(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _field(document: Document, rng: random.Random) -> str:
    return rng.choice(sorted(document))


def _truncated(document: Document, rng: random.Random) -> bytes:
    raw = _encode(document)
    return raw[: rng.randrange(0, len(raw))]


def _wrong_type(document: Document, rng: random.Random) -> bytes:
    name = _field(document, rng)
    current = type(document[name])
    document[name] = rng.choice([v for v in _ANY if type(v) is not current])
    return _encode(document)


def _huge_string(document: Document, rng: random.Random) -> bytes:
    size = rng.choice(_SIZES)
    document[rng.choice([_field(document, rng), "note"])] = rng.choice("xé") * size
    return _encode(document)


def _huge_array(document: Document, rng: random.Random) -> bytes:
    size = rng.choice(_SIZES) // 4
    document[rng.choice([_field(document, rng), "items"])] = [rng.randrange(10)] * size
    return _encode(document)


def _deep_nesting(document: Document, rng: random.Random) -> bytes:
    depth = 30_000 if rng.random() < 0.02 else rng.choice(_DEPTHS)
    name = rng.choice([_field(document, rng), "nested"])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    document[name] = "\x00NEST\x00"
    text = json.dumps(document, ensure_ascii=False)
    return text.replace('"\\u0000NEST\\u0000"', opener * depth + "1" + closer * depth).encode()


def _non_finite(document: Document, rng: random.Random) -> bytes:
    numeric = [n for n in ("premium", "score", "scale", "hours", "schema_version") if n in document]
    name = rng.choice(numeric or [_field(document, rng)])
    document[name] = "\x00NUM\x00"
    text = json.dumps(document, ensure_ascii=False)
    return text.replace('"\\u0000NUM\\u0000"', rng.choice(_NON_FINITE)).encode()


def _number_as_string(document: Document, rng: random.Random) -> bytes:
    numeric = [n for n in ("schema_version", "scale", "score", "premium", "hours") if n in document]
    document[rng.choice(numeric or ["schema_version"])] = rng.choice(_NUMBER_TEXT)
    return _encode(document)


def _invalid_utf8(document: Document, rng: random.Random) -> bytes:
    raw = _encode(document)
    at = rng.randrange(1, len(raw))
    return raw[:at] + rng.choice(_INVALID_UTF8) + raw[at:]


def _unknown_fields(document: Document, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 5)):
        name = rng.choice(_UNKNOWN_NAMES) + (str(rng.randrange(100)) if rng.random() < 0.5 else "")
        document[name] = rng.choice(_ANY)
    return _encode(document)


def _schema_version(document: Document, rng: random.Random) -> bytes:
    document["schema_version"] = rng.choice(_SCHEMA_VERSIONS)
    return _encode(document)


def _timestamp(document: Document, rng: random.Random) -> bytes:
    name = rng.choice(
        [n for n in ("occurred_at", "issued_at", "due_date") if n in document] or ["occurred_at"]
    )
    document[name] = rng.choice(_TIMESTAMPS)
    return _encode(document)


def _missing_field(document: Document, rng: random.Random) -> bytes:
    del document[_field(document, rng)]
    return _encode(document)


def _not_an_object(document: Document, rng: random.Random) -> bytes:
    return _encode(rng.choice([[document], list(document.values()), document.get("event_id")]))


MUTATIONS: Final[dict[str, Mutate]] = {
    "truncated_json": _truncated,
    "wrong_type": _wrong_type,
    "huge_string": _huge_string,
    "huge_array": _huge_array,
    "deep_nesting": _deep_nesting,
    "nan_infinity": _non_finite,
    "number_as_string": _number_as_string,
    "invalid_utf8": _invalid_utf8,
    "unknown_fields": _unknown_fields,
    "schema_version": _schema_version,
    "timestamp": _timestamp,
    "missing_field": _missing_field,
    "not_an_object": _not_an_object,
}
_FINAL: Final = frozenset(
    {"truncated_json", "invalid_utf8", "deep_nesting", "nan_infinity", "not_an_object"}
)
# Huge records are few (about 400 of each in 100,000): each costs the broker up to 300 kB.
_WEIGHTS: Final = {name: 0.05 if name.startswith("huge") else 1.0 for name in MUTATIONS}


@dataclass(frozen=True)
class HostileRecord:
    """One record to publish: its value, key and headers, and how it was made."""

    value: bytes
    key: bytes | None
    headers: Headers
    mutations: tuple[str, ...]  # empty for a valid event
    event_type: str  # of the document it was made from: its upstream topic


def garbage_envelope(rng: random.Random) -> tuple[bytes | None, Headers]:
    """A key and headers as a careless or hostile producer sets them: mostly ordinary, sometimes
    random bytes, invalid UTF-8 or null header values."""
    roll = rng.random()
    if roll < 0.6:
        return None, []
    key = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    headers: Headers = [
        (
            rng.choice(["trace", "", "ключ", "x" * 200, "content-type"]),
            rng.choice(
                [None, b"", b"\xff\xfe", bytes(rng.randrange(256) for _ in range(16)), b"ok"]
            ),
        )
        for _ in range(rng.randrange(0, 4))
    ]
    return key, headers


def hostile_records(
    n: int, agents: Sequence[str], start: datetime, span: timedelta, *, seed: int
) -> Iterator[HostileRecord]:
    """`n` mutated records (one mutation, or two in one record of five) whose documents occurred
    between `start` and `start + span`."""
    rng = random.Random(seed)
    names = list(MUTATIONS)
    weights = [_WEIGHTS[name] for name in names]
    minutes = max(1, int(span.total_seconds() // 60))
    for number in range(n):
        event_type = EVENT_TYPES[number % len(EVENT_TYPES)]
        occurred = (start + timedelta(minutes=rng.randrange(minutes))).isoformat()
        language = LANGUAGES[number % len(LANGUAGES)]
        document = valid_document(
            event_type, number, rng.choice(agents), occurred, language, rng, id_prefix="fz-"
        )
        document["event_id"] = f"fz-{number:07d}"
        for name in _IDS:
            if name in document:
                document[name] = f"{name[0].upper()}fz{number:07d}"
        chosen = rng.choices(names, weights, k=2 if rng.random() < 0.2 else 1)
        value, applied = b"", []
        for mutation in chosen:
            value = MUTATIONS[mutation](document, rng)
            applied.append(mutation)
            if mutation in _FINAL:
                break  # bytes now, no longer a document to mutate further
        key, headers = garbage_envelope(rng)
        yield HostileRecord(value, key, headers, tuple(applied), event_type)
