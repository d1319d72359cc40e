"""The read side's pieces that keep personal data off the console and the API (alert evidence and
messages, dead-letter details), the dead-letter counts kept from the topic, and entity names."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from pydantic import JsonValue

from services.reporting.deadletters import WITHHELD, DeadLetterSummary, scrub
from services.reporting.names import display_name, labelled
from services.reporting.redaction import WITHHELD as HIDDEN
from services.reporting.redaction import public_evidence, public_message
from shared.config.loading import load_org
from shared.events.decoding import RejectReason
from shared.messages import DeadLetter

ORG: Final = load_org(Path(__file__).resolve().parents[3] / "config" / "org.yaml")
HASH: Final = "hmac-sha256:" + "0f" * 32
T0: Final = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def letter(reason: RejectReason, at: datetime, offset: int = 0, detail: str = "d") -> DeadLetter:
    return DeadLetter(
        reason=reason,
        detail=detail,
        source_topic="insurance.policy.v1",
        partition=1,
        offset=offset,
        received_at=at,
        payload_base64="e30=",
    )


def test_alert_evidence_counts_lists_and_withholds_personal_fields() -> None:
    evidence: dict[str, JsonValue] = {
        "callback_phone_hash": HASH,
        "customer_ids": ["C1", "C2"],
        "response_ids": ["R1"],
        "window_days": 30.0,
        "source": "policy-admin",
        "note": f"seen {HASH}",
        "nested": {"customer_id": "C1"},
    }

    assert public_evidence(evidence) == {
        "callback_phone_hash": HIDDEN,
        "customer_ids_count": 2,
        "response_ids_count": 1,
        "window_days": 30.0,
        "source": "policy-admin",
        "note": "seen withheld",
    }


def test_alert_messages_lose_the_customer_ids_and_phone_hashes_they_name() -> None:
    evidence: dict[str, JsonValue] = {"customer_ids": ["C-1", "C-12"], "callback_phone_hash": HASH}

    many = public_message("agent:A1: one phone used by 2 customers (C-1, C-12)", evidence)
    one = public_message("agent:A1: callback to own phone (customer C-12) C-1x", evidence)

    assert many == "agent:A1: one phone used by 2 customers (2 withheld)"
    assert one == "agent:A1: callback to own phone (customer withheld) C-1x"
    assert public_message(f"hash {HASH}", {}) == "hash withheld"
    assert public_message("renewal rate 0.7", {"customer_ids": []}) == "renewal rate 0.7"


def test_a_dead_letter_detail_keeps_the_field_and_loses_a_personal_value() -> None:
    assert scrub("customer_id: 'C-99' does not match the pattern ^C") == (
        f"customer_id: {WITHHELD}"
    )
    assert scrub("event.customer_id: field required") == "event.customer_id: field required"
    assert scrub("callback_phone: expected a JSON string (got <phone withheld>)") == (
        f"callback_phone: {WITHHELD}"
    )
    assert scrub(f"premium: must be ≥ 0 (got -1); agent_phone_hash {HASH}") == (
        f"premium: must be ≥ 0 (got -1); agent_phone_hash {WITHHELD}"
    )
    assert scrub("not valid JSON: Expecting value") == "not valid JSON: Expecting value"


def test_dead_letters_are_counted_by_reason_source_and_hour() -> None:
    summary = DeadLetterSummary(samples_per_reason=2)
    summary.add(
        [
            letter(RejectReason.TOO_LATE, T0, 1),
            letter(RejectReason.TOO_LATE, T0 + timedelta(minutes=40), 2),
            letter(RejectReason.TOO_LATE, T0 + timedelta(minutes=50), 3, "customer_id: 'C-7' x"),
            letter(RejectReason.MALFORMED_JSON, T0 + timedelta(hours=2), 4),
        ]
    )
    summary.add_unreadable()

    counts = summary.counts()
    assert counts.total == 4
    assert counts.unreadable == 1
    assert counts.by_reason == {"too_late": 3, "malformed_json": 1}
    assert counts.by_source_topic == {"insurance.policy.v1": 4}
    assert counts.by_reason_and_source == {
        ("malformed_json", "insurance.policy.v1"): 1,
        ("too_late", "insurance.policy.v1"): 3,
    }
    hour = T0.replace(minute=0)
    assert counts.by_hour == {
        hour: {"too_late": 1},
        hour + timedelta(hours=1): {"too_late": 2},
        hour + timedelta(hours=2): {"malformed_json": 1},
    }
    assert [s.offset for s in counts.samples] == [4, 3, 2]  # newest first, 2 per reason
    assert "C-7" not in repr(counts)
    assert counts.latest_received_at == T0 + timedelta(hours=2)


def test_hours_older_than_thirty_days_are_forgotten_but_stay_counted() -> None:
    summary = DeadLetterSummary()
    summary.add([letter(RejectReason.TOO_LATE, T0)])
    summary.add([letter(RejectReason.TOO_LATE, T0 + timedelta(days=31), 2)])

    counts = summary.counts()
    assert counts.total == 2
    assert list(counts.by_hour) == [(T0 + timedelta(days=31)).replace(minute=0)]


def test_entities_are_named_from_org_yaml_with_their_ids() -> None:
    assert display_name(ORG, "branch:B01", "en") == "Tokyo Chuo Branch"
    assert labelled(ORG, "region:R1", "ja") == "関東本部 (region:R1)"
    assert display_name(ORG, "company:ACME", "zh") == "ACME财产保险代理公司"
    assert labelled(ORG, "agent:A0001", "zh") == "桥本阳菜 (agent:A0001)"
    assert display_name(ORG, "branch:B99", "en") is None
    assert display_name(ORG, "nonsense", "en") is None
