"""Triage of one upstream record: a canonical event, or a reason it cannot be one.

Pure: the code book, the org directory, the phone hasher and the future gate are handed in.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.config import CalendarConfig, OrgPath
from shared.events import (
    ContractViolation,
    KpiEvent,
    RejectReason,
    UpstreamEvent,
    parse_document,
    validate_document,
)
from shared.messages import DeadLetter
from shared.topics import EVENT_TYPE_BY_UPSTREAM

from .canonicalise import canonicalise
from .future import FutureGate
from .normalise import CodeBook
from .org_directory import OrgDirectory
from .phones import PhoneHasher
from .redaction import redact_phones


@dataclass(frozen=True)
class Record:
    """An upstream record as read from Kafka."""

    topic: str
    partition: int
    offset: int
    value: bytes
    timestamp_ms: int | None = None

    @property
    def position(self) -> str:
        """Where it was read, `topic:partition:offset`."""
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Accepted:
    """A record that became a canonical event."""

    record: Record
    event: KpiEvent


@dataclass(frozen=True)
class Rejected:
    """A record that goes to the dead-letter topic."""

    record: Record
    dead_letter: DeadLetter
    event_type: str


Outcome = Accepted | Rejected


class Triage:
    """Turns records into outcomes with the configuration in force."""

    def __init__(
        self,
        *,
        codebook: CodeBook,
        org: OrgDirectory,
        hasher: PhoneHasher,
        calendar: CalendarConfig,
        gate: FutureGate,
        max_bytes: int,
    ) -> None:
        self._codebook = codebook
        self._org = org
        self._hasher = hasher
        self._calendar = calendar
        self._gate = gate
        self._max_bytes = max_bytes

    def __call__(self, record: Record, received_at: datetime) -> Outcome:
        """Triage one record; exactly one outcome, never an exception for bad data."""
        event_type = "unknown"
        try:
            document = parse_document(record.value, max_bytes=self._max_bytes)
            if isinstance(document, dict) and isinstance(document.get("event_type"), str):
                event_type = document["event_type"]
            event = validate_document(self._codebook.normalise(document))
            self._check_topic(event_type, record.topic)
            accepted = self._canonical(event, record, received_at)
        except ContractViolation as violation:
            return self.reject(record, violation, received_at, event_type)
        return accepted

    def reject(
        self,
        record: Record,
        violation: ContractViolation,
        received_at: datetime,
        event_type: str = "unknown",
    ) -> Rejected:
        """The dead letter of a record: its bytes with phone numbers hashed, and the reason."""
        dead = DeadLetter.from_violation(
            redact_phones(record.value, self._hasher),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            violation=violation,
            received_at=received_at,
        )
        return Rejected(record, dead, event_type)

    @staticmethod
    def _check_topic(event_type: str, topic: str) -> None:
        expected = EVENT_TYPE_BY_UPSTREAM.get(topic)
        if expected is not None and event_type != expected:
            raise ContractViolation(
                RejectReason.SCHEMA_VIOLATION,
                f"event_type: '{event_type}' events belong on insurance.{event_type}.v1, "
                f"not on {topic}",
            )

    def _canonical(self, event: UpstreamEvent, record: Record, received_at: datetime) -> Accepted:
        day = self._calendar.local_date(event.occurred_at)
        if event.agent_id is not None:
            path = self._org.resolve_agent(event.agent_id, day)
            if self._org.knows_agent(event.agent_id):
                unknown = (
                    f"agent_id: '{event.agent_id}' has no team assignment on {day.isoformat()}"
                )
            else:
                unknown = f"agent_id: '{event.agent_id}' is not an agent of the organisation"
        else:
            assert event.branch_id is not None
            path = self._org.resolve_branch(event.branch_id)
            unknown = f"branch_id: '{event.branch_id}' is not a branch of the organisation"
        if path is None:
            raise ContractViolation(
                RejectReason.UNKNOWN_ENTITY,
                f"{unknown} (org.yaml and kpi.org.v1)",
            )
        problem = self._gate.problem(event.occurred_at, received_at)
        if problem is not None:
            reason, detail = problem
            raise ContractViolation(RejectReason(reason), detail)
        try:
            canonical = self._canonicalise(event, path, record, received_at)
        except ValueError as exc:
            raise ContractViolation(RejectReason.SCHEMA_VIOLATION, str(exc)) from exc
        return Accepted(record, canonical)

    def _canonicalise(
        self, event: UpstreamEvent, path: OrgPath, record: Record, received_at: datetime
    ) -> KpiEvent:
        roster_phone = None
        if event.agent_id is not None:
            day = self._calendar.local_date(event.occurred_at)
            assignment = self._org.chart.assignment_at(event.agent_id, day)
            roster_phone = assignment.phone if assignment is not None else None
        return canonicalise(
            event,
            org=path,
            hasher=self._hasher,
            received_at=received_at,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            default_currency=self._org.chart.currency,
            source_timestamp=(
                datetime.fromtimestamp(record.timestamp_ms / 1000, UTC)
                if record.timestamp_ms is not None
                else None
            ),
            roster_phone=roster_phone,
        )
