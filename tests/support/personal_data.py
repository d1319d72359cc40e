"""Looking for raw phone numbers where none may be (DESIGN §3): every topic the services write,
every collection of every database, and the services' logs.

A number is looked for as it was sent ("090-1234-5678") and as its bare digits with and without
the country code ("09012345678", "819012345678"), in record values, in the original bytes a
dead letter carries (`payload_base64`), in every stored document and in every log line.
"""

import base64
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from shared import topics
from shared.settings import Settings
from tests.support.pipeline_runs import records_of

_SYSTEM_DATABASES = frozenset({"admin", "config", "local"})


def phone_forms(phones: Iterable[str]) -> set[bytes]:
    """Each number as sent and as bare digits, national and with the country code."""
    forms: set[bytes] = set()
    for phone in phones:
        digits = re.sub(r"\D", "", phone)
        forms.add(phone.encode())
        forms.add(digits.encode())
        if phone.startswith("0") and not phone.startswith("00"):
            forms.add(("81" + digits[1:]).encode())
    return {form for form in forms if len(form) >= 10}


def _found(where: str, blob: bytes, forms: set[bytes]) -> list[str]:
    return [f"{where}: {form.decode()}" for form in forms if form in blob]


def _dead_letter_payload(value: bytes) -> bytes:
    try:
        document: Any = json.loads(value)
        return base64.b64decode(document.get("payload_base64") or "")
    except (ValueError, AttributeError):
        return b""


async def raw_phones_in_topics(
    settings: Settings, forms: set[bytes], names: Iterable[str] = topics.INTERNAL
) -> list[str]:
    """Where a raw number appears on the services' own topics (never the upstream ones, which
    carry what the core systems sent)."""
    found: list[str] = []
    for topic in names:
        for record in await records_of(settings, topic):
            where = f"{topic}[{record.partition}]@{record.offset}"
            found += _found(where, (record.key or b"") + b"\n" + (record.value or b""), forms)
            if topic == topics.DEADLETTER:
                found += _found(f"{where} payload", _dead_letter_payload(record.value), forms)
    return found


async def raw_phones_in_databases(settings: Settings, forms: set[bytes]) -> list[str]:
    """Where a raw number appears in any document of any collection of any database."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    found: list[str] = []
    try:
        for database in await client.list_database_names():
            if database in _SYSTEM_DATABASES:
                continue
            db = client[database]
            for collection in await db.list_collection_names():
                async for document in db[collection].find():
                    blob = json.dumps(document, default=repr, ensure_ascii=False).encode()
                    found += _found(f"{database}.{collection} {document.get('_id')}", blob, forms)
    finally:
        await client.close()
    return found


def raw_phones_in_logs(logs: Iterable[Path], forms: set[bytes]) -> list[str]:
    """Where a raw number appears in a log file."""
    found: list[str] = []
    for log in logs:
        for number, line in enumerate(log.read_bytes().splitlines(), start=1):
            found += _found(f"{log.name}:{number}", line, forms)
    return found
