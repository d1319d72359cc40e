"""Dead-letter payloads: phone numbers replaced, every other byte kept."""

from services.ingest.phones import PhoneHasher
from services.ingest.redaction import WITHHELD, redact_phones

HASHER = PhoneHasher(b"k" * 32)


def test_a_payload_without_phones_is_kept_byte_for_byte() -> None:
    raw = b'{"premium": 9.123456789012345678,  "due_date": "2024-09-30"}'
    assert redact_phones(raw, HASHER) == raw


def test_only_the_phone_value_changes_in_a_json_payload() -> None:
    raw = b'{"premium": 9.123456789012345678, "callback_phone": "090-1234-5678", "x": 1}'
    expected_hash = HASHER.hash("090-1234-5678")
    assert redact_phones(raw, HASHER) == (
        b'{"premium": 9.123456789012345678, "callback_phone": "'
        + expected_hash.encode()
        + b'", "x": 1}'
    )


def test_a_value_that_is_not_a_number_is_withheld() -> None:
    raw = b'{"agent_phone": "call me maybe"}'
    assert redact_phones(raw, HASHER) == b'{"agent_phone": "' + WITHHELD.encode() + b'"}'


def test_unparseable_payloads_mask_phone_runs_but_not_dates() -> None:
    raw = b'{broken "occurred_at": "2024-09-30 10:00:00", "callback_phone": "+81 90 1234 5678"'
    redacted = redact_phones(raw, HASHER)
    assert b"2024-09-30 10:00:00" in redacted
    assert b"1234 5678" not in redacted
    assert WITHHELD.encode() in redacted
