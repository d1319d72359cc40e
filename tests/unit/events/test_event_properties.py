"""Properties of the decoder over generated inputs: money and instants survive exactly."""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import ContractViolation, PolicyEvent, RejectReason, decode_upstream

POLICY: Final[dict[str, Any]] = {
    "event_id": "evt-0001",
    "event_type": "policy",
    "occurred_at": "2024-04-01T09:30:00+09:00",
    "source": "policy-admin",
    "schema_version": 1,
    "agent_id": "A001",
    "policy_id": "P0001",
    "customer_id": "C0001",
    "action": "issued",
    "product_line": "auto",
    "premium": "0",
    "currency": "JPY",
    "channel": "online",
}

# Every premium the contract allows: ≥ 0, at most 4 places and 18 digits (so 14 whole).
premiums = st.decimals(
    min_value=0,
    max_value=Decimal("99999999999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30), timezones=offsets
)
naive_datetimes = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30))


def policy_bytes(**changes: Any) -> bytes:
    return json.dumps({**POLICY, **changes}).encode()


@settings(deadline=None)
@given(premium=premiums)
def test_premium_round_trips_exactly_as_json_string_and_number(premium: Decimal) -> None:
    as_string = policy_bytes(premium=str(premium))
    # The same digits as a bare JSON number: never read through a float.
    as_number = as_string.replace(
        f'"premium": "{premium}"'.encode(), f'"premium": {premium}'.encode()
    )
    assert as_number != as_string
    for raw in (as_string, as_number):
        event = decode_upstream(raw)
        assert isinstance(event, PolicyEvent)
        assert event.premium == premium
        assert event.premium.as_tuple() == premium.as_tuple()
        # And back out through the model's own JSON, as the canonical event carries it.
        assert Decimal(json.loads(event.model_dump_json())["premium"]) == premium


@settings(deadline=None)
@given(moment=aware_datetimes)
def test_aware_timestamp_round_trips_to_the_same_instant_and_offset(moment: datetime) -> None:
    event = decode_upstream(policy_bytes(occurred_at=moment.isoformat()))
    assert event.occurred_at == moment
    assert event.occurred_at.utcoffset() == moment.utcoffset()


@pytest.mark.parametrize(
    ("field", "changes"), [("occurred_at", {}), ("issued_at", {"action": "lapsed"})]
)
@settings(deadline=None)
@given(moment=naive_datetimes, separator=st.sampled_from(["T", " "]))
def test_any_naive_timestamp_is_rejected_as_naive(
    field: str, changes: dict[str, str], moment: datetime, separator: str
) -> None:
    text = moment.isoformat(sep=separator)
    with pytest.raises(ContractViolation) as caught:
        decode_upstream(policy_bytes(**changes, **{field: text}))
    assert caught.value.reason is RejectReason.NAIVE_TIMESTAMP
    assert caught.value.detail == (
        f"{field}: timestamp '{text}' has no UTC offset; "
        "send ISO 8601 with an offset, e.g. 2024-04-01T09:30:00+09:00"
    )
