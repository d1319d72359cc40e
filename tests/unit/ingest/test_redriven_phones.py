"""A survey dead-lettered with its phones hashed, re-driven after the fix, is accepted with the
same hashes its raw numbers give: a hash is never hashed again."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pytest
import yaml

from services.ingest.normalise import load_codebook
from services.ingest.phones import is_phone_hash
from services.ingest.redaction import redact_phones
from services.ingest.triage import Accepted, Record, Rejected, Triage
from shared import topics
from shared.events import SurveyEvent
from tests.support import upstream_samples
from tests.support.unit_triage import CONFIG, HASHER, make_triage

RECEIVED: Final = datetime(2024, 10, 2, 9, 0, tzinfo=UTC)
NEW_SPELLING: Final = "テレフォン調査"
CALLBACK: Final = "090-1234-5678"
AGENT_PHONE: Final = "+81 90 0000 0123"
SURVEY: Final = {
    **upstream_samples.SURVEY,
    "event_id": "sur-redrive-1",
    "channel": NEW_SPELLING,
    "callback_phone": CALLBACK,
    "agent_phone": AGENT_PHONE,
}


def _triage(codes: Path) -> Triage:
    return make_triage(codebook=load_codebook(codes))


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
