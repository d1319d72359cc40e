"""A survey dead-lettered with its phones hashed, re-driven after the fix, is accepted with the
same hashes its raw numbers give: a hash is never hashed again."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from services.ingest.future import FutureGate
from services.ingest.normalise import load_codebook
from services.ingest.org_directory import OrgDirectory
from services.ingest.phones import PhoneHasher, is_phone_hash
from services.ingest.redaction import redact_phones
from services.ingest.triage import Accepted, Record, Rejected, Triage
from shared import topics
from shared.config import load_calendar
from shared.events import MAX_MESSAGE_BYTES, SurveyEvent

CONFIG: Final = Path(__file__).resolve().parents[3] / "config"
HASHER: Final = PhoneHasher(b"unit-test-phone-hash-key-32-bytes!")
RECEIVED: Final = datetime(2024, 10, 2, 9, 0, tzinfo=UTC)
NEW_SPELLING: Final = "テレフォン調査"
CALLBACK: Final = "090-1234-5678"
AGENT_PHONE: Final = "+81 90 0000 0123"
SURVEY: Final[dict[str, Any]] = {
    "event_id": "sur-redrive-1",
    "event_type": "survey",
    "source": "survey-tool",
    "schema_version": 1,
    "occurred_at": "2024-09-30T10:00:00+09:00",
    "agent_id": "A0123",
    "response_id": "S0000001",
    "policy_id": "P0000001",
    "customer_id": "C000001",
    "scale": 10,
    "score": "9",
    "channel": NEW_SPELLING,
    "callback_phone": CALLBACK,
    "agent_phone": AGENT_PHONE,
}


def _triage(codes: Path) -> Triage:
    calendar = load_calendar(CONFIG / "calendar.yaml")
    return Triage(
        codebook=load_codebook(codes),
        org=OrgDirectory.from_file(CONFIG / "org.yaml"),
        hasher=HASHER,
        calendar=calendar,
        gate=FutureGate(timedelta(days=1)),
        max_bytes=MAX_MESSAGE_BYTES,
    )


@pytest.fixture
def fixed_codes(tmp_path: Path) -> Path:
    """codes.yaml with the new spelling of `phone` in every list that has that code."""
    document = yaml.safe_load((CONFIG / "codes.yaml").read_text(encoding="utf-8"))
    for codes in document.values():
        if "phone" in codes:
            codes["phone"] = [*codes["phone"], NEW_SPELLING]
    path = tmp_path / "codes.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_a_hash_is_not_hashed_again() -> None:
    hashed = HASHER.hash(CALLBACK)

    assert is_phone_hash(hashed)
    assert HASHER.hash(hashed) == hashed
    assert not is_phone_hash("hmac-sha256:" + "0" * 63)


def test_a_redriven_survey_gets_the_hashes_its_raw_numbers_give(fixed_codes: Path) -> None:
    raw = json.dumps(SURVEY, ensure_ascii=False).encode()
    before = _triage(CONFIG / "codes.yaml")(Record(topics.SURVEY, 0, 5, raw), RECEIVED)
    assert isinstance(before, Rejected), "the spelling is not in the shipped code list"
    stored = before.dead_letter.payload
    assert CALLBACK.encode() not in stored
    assert HASHER.hash(CALLBACK).encode() in stored

    after = _triage(fixed_codes)(Record(topics.SURVEY, 0, 9, stored), RECEIVED)

    assert isinstance(after, Accepted), after
    assert isinstance(after.event.event, SurveyEvent)
    assert after.event.callback_phone_hash == HASHER.hash(CALLBACK)
    assert after.event.agent_phone_hash == HASHER.hash(AGENT_PHONE)


def test_a_redriven_survey_rejected_again_keeps_its_hashes() -> None:
    once = redact_phones(json.dumps(SURVEY, ensure_ascii=False).encode(), HASHER)

    assert redact_phones(once, HASHER) == once
