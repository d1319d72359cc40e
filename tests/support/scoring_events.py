"""Canonical events for scoring tests, built directly (no broker, no ingest)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from shared.events import EventOrg, KpiEvent, validate_document

ORG_PATHS = {
    "A1": EventOrg(company="ACME", region="R1", branch="B01", team="T01", agent="A1"),
    "A2": EventOrg(company="ACME", region="R1", branch="B01", team="T02", agent="A2"),
    "A3": EventOrg(company="ACME", region="R2", branch="B05", team="T09", agent="A3"),
}


def canonical(
    event_type: str,
    number: int,
    agent: str,
    occurred_at: datetime,
    *,
    source_partition: int | None = None,
    **fields: Any,
) -> KpiEvent:
    """A canonical event; by default each event has a source partition of its own, so tests may
    reorder events freely (within one source partition ingest keeps source order)."""
    document = {
        "event_id": f"{event_type[:3]}-{number}",
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "source": f"{event_type}-system",
        "agent_id": agent,
        **fields,
    }
    event = validate_document(document)
    return KpiEvent(
        key=f"{event.source}:{event.event_id}",
        event=event,  # type: ignore[arg-type]  # validate_document returns the concrete model
        occurred_at_offset="+09:00",
        org=ORG_PATHS[agent],
        received_at=datetime(2030, 1, 1, tzinfo=UTC),
        source_topic=f"insurance.{event_type}.v1",
        source_partition=number if source_partition is None else source_partition,
        source_offset=number,
    )


def policy(
    number: int, agent: str, at: datetime, action: str, *, issued: date | None = None, **extra: Any
) -> KpiEvent:
    fields: dict[str, Any] = {
        "policy_id": extra.pop("policy_id", f"P{number}"),
        "customer_id": extra.pop("customer_id", f"C{number}"),
        "action": action,
        "product_line": "auto",
        "premium": extra.pop("premium", Decimal("50000")),
        "currency": "JPY",
        "channel": extra.pop("channel", "face_to_face"),
        **extra,
    }
    if issued is not None:
        fields["issued_at"] = issued.isoformat()
    return canonical("policy", number, agent, at, **fields)


def renewal(
    number: int, agent: str, at: datetime, action: str, due: date, renewal_id: str
) -> KpiEvent:
    return canonical(
        "renewal",
        number,
        agent,
        at,
        renewal_id=renewal_id,
        policy_id=f"P-{renewal_id}",
        action=action,
        due_date=due.isoformat(),
        premium=Decimal("80000"),
        currency="JPY",
        channel="phone",
    )


def survey(number: int, agent: str, at: datetime, score: int, scale: int = 10) -> KpiEvent:
    return canonical(
        "survey",
        number,
        agent,
        at,
        response_id=f"S{number}",
        policy_id=f"P{number}",
        customer_id=f"C{number}",
        score=Decimal(score),
        scale=scale,
        channel="web",
    )


def complaint(number: int, agent: str, at: datetime, kind: str, action: str, case: str) -> KpiEvent:
    return canonical(
        "complaint", number, agent, at, case_id=case, kind=kind, action=action, category="billing"
    )
