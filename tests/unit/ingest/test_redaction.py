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


# Found by the hostile-input fuzzer (tests/resilience/test_hostile_input.py): numbers that no
# field name ending in "phone" pointed at reached kpi.deadletter.v1 raw.
def test_a_phone_in_a_document_sent_as_a_list_of_its_values_is_hashed() -> None:
    raw = b'["fz-1", "survey", 10, "+81 90 1234 5678", "12345678901234.5678", "2024-09-30"]'
    assert redact_phones(raw, HASHER) == (
        b'["fz-1", "survey", 10, "'
        + HASHER.hash("+81 90 1234 5678").encode()
        + b'", "12345678901234.5678", "2024-09-30"]'
    )


def test_a_phone_under_a_misspelt_name_is_hashed() -> None:
    raw = b'{"channel": "web", "agent_phon\xed\xa0\x80e": "+86 138 0013 8000"}'
    redacted = redact_phones(raw, HASHER)
    assert b"138 0013 8000" not in redacted
    assert HASHER.hash("+86 138 0013 8000").encode() in redacted
    assert redacted.startswith(b'{"channel": "web", "agent_phon\xed\xa0\x80e": "')


def test_identifiers_amounts_and_dates_are_not_taken_for_phones() -> None:
    raw = b'{"policy_id": "P0901234567", "premium": "12345678901234.5678", "due": "2024-09-30"}'
    assert redact_phones(raw, HASHER) == raw
