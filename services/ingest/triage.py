"""Triage of one upstream record: a canonical event, or a reason it cannot be one.

Pure: the code book, the org directory, the phone hasher and the future gate are handed in.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, NamedTuple

from shared.config import CalendarConfig, OrgChart
from shared.events import (
    ContractViolation,
    EventOrg,
    KpiEvent,
    RejectReason,
    UpstreamEvent,
    parse_document,
    validate_document,
)
from shared.events.decoding import mask_phone_like
from shared.events.fast_canonical import CanonicalDocument
from shared.events.fast_upstream import read_upstream
from shared.messages import DeadLetter
from shared.topics import EVENT_TYPE_BY_UPSTREAM

from .canonicalise import canonical_document, canonicalise_resolved
from .future import FutureGate
from .normalise import CODED_FIELDS, CodeBook
from .org_directory import OrgDirectory
from .phones import PhoneHasher
from .redaction import redact_phones


# Named tuples rather than frozen dataclasses: as immutable, and a few of them are made for
# every record, where a frozen dataclass's __init__ costs three times as much.
class Record(NamedTuple):
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


class Accepted(NamedTuple):
    """A record that became a canonical event."""

    record: Record
    canonical: CanonicalDocument

    @property
    def event(self) -> KpiEvent:
        """The canonical event as its model, validated again: for tests and tools."""
        return self.canonical.model()


class Rejected(NamedTuple):
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
        self._owners: dict[tuple[str, date | None], _Owner] = {}
        self._owners_chart: OrgChart | None = None
        self._codes: dict[tuple[str, str, str], str] = {}
        self._received: tuple[datetime, datetime] | None = None
        self._timestamp: tuple[int, datetime] | None = None

    def __call__(self, record: Record, received_at: datetime) -> Outcome:
        """Triage one record; exactly one outcome, never an exception for bad data.

        A record the fast reader accepts (shared/events/fast_upstream.py) is made canonical
        from it; any other record, or one the fast path would reject for what it names, goes
        through the contract's models, which decide and give the reason."""
        fast = self._fast(record, received_at)
        if fast is not None:
            return fast
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

    def _fast(self, record: Record, received_at: datetime) -> Accepted | None:
        """The outcome of a record the fast reader accepts and that passes every check of the
        slow path; None otherwise, for the slow path to judge (and name the reason)."""
        value = record.value
        if not value or len(value) > self._max_bytes:
            return None
        upstream = read_upstream(value, self._translate)
        if upstream is None:
            return None
        if EVENT_TYPE_BY_UPSTREAM.get(record.topic, upstream.event_type) != upstream.event_type:
            return None
        if self._gate.problem(upstream.occurred_at, received_at) is not None:
            return None
        try:
            owner = self._owner_of(upstream.agent_id, upstream.branch_id, upstream.occurred_at)
        except ContractViolation:
            return None  # the slow path names it
        if owner.values is None:
            return None
        try:
            document = canonical_document(
                upstream,
                org=owner.values,
                hasher=self._hasher,
                received_at=self._in_utc(received_at),
                source_topic=record.topic,
                source_partition=record.partition,
                source_offset=record.offset,
                default_currency=self._org.chart.currency,
                source_timestamp=self._source_timestamp(record.timestamp_ms),
                roster_phone=owner.roster_phone,
            )
        except ValueError:
            return None  # a phone the hasher refuses: the slow path says so
        return Accepted(record, document)

    def _translate(self, event_type: str, field: str, value: str) -> str:
        """`CodeBook.normalise` for one field, remembered: upstream repeats a few spellings."""
        key = (event_type, field, value)
        known = self._codes.get(key)
        if known is None:
            code_list = CODED_FIELDS.get(event_type, {}).get(field)
            canonical = self._codebook.canonical(code_list, value) if code_list else None
            known = value if canonical is None else canonical
            if len(self._codes) >= _MAX_CODES:
                self._codes.clear()
            self._codes[key] = known
        return known

    def _in_utc(self, received_at: datetime) -> datetime:
        """`received_at` in UTC, converted once per batch (every record of it shares it)."""
        if self._received is None or self._received[0] is not received_at:
            self._received = (received_at, received_at.astimezone(UTC))
        return self._received[1]

    def _source_timestamp(self, timestamp_ms: int | None) -> datetime | None:
        if timestamp_ms is None:
            return None
        if self._timestamp is None or self._timestamp[0] != timestamp_ms:
            self._timestamp = (timestamp_ms, datetime.fromtimestamp(timestamp_ms / 1000, UTC))
        return self._timestamp[1]

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
        owner = self._owner(event)
        if owner.org is None:
            # An id is echoed: never one written like a phone number (personal data).
            raise ContractViolation(RejectReason.UNKNOWN_ENTITY, mask_phone_like(owner.unknown))
        problem = self._gate.problem(event.occurred_at, received_at)
        if problem is not None:
            reason, detail = problem
            raise ContractViolation(RejectReason(reason), detail)
        try:
            canonical = canonicalise_resolved(
                event,
                org=owner.org,
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
                roster_phone=owner.roster_phone,
            )
        except ValueError as exc:
            raise ContractViolation(RejectReason.SCHEMA_VIOLATION, str(exc)) from exc
        return Accepted(record, CanonicalDocument.of(canonical))

    def _owner(self, event: UpstreamEvent) -> "_Owner":
        return self._owner_of(event.agent_id, event.branch_id, event.occurred_at)

    def _owner_of(
        self, agent_id: str | None, branch_id: str | None, occurred_at: datetime
    ) -> "_Owner":
        """The event's owner on its local date, remembered per (agent, date) for the chart in
        force: a backlog asks for the same few thousand agents and days again and again."""
        chart = self._org.chart
        if chart is not self._owners_chart or len(self._owners) >= _MAX_OWNERS:
            self._owners_chart = chart
            self._owners = {}
        key: tuple[str, date | None]
        if agent_id is not None:
            key = (agent_id, self._local_date(occurred_at))
        else:
            assert branch_id is not None
            key = (branch_id, None)
        owner = self._owners.get(key)
        if owner is None:
            owner = self._owners[key] = self._resolve(*key)
        return owner

    def _local_date(self, occurred_at: datetime) -> date:
        """The event's date in the calendar's time zone. A valid timestamp at the very end (or
        start) of the representable range has none: 9999-12-31T23:59:59+09:00 is 10000-01-01
        in Tokyo. That is the publisher's error, not ingest's (it raised OverflowError and was
        dead-lettered as a processing error, found by tests/resilience/test_hostile_input.py)."""
        try:
            return self._calendar.local_date(occurred_at)
        except OverflowError as exc:
            raise ContractViolation(
                RejectReason.OUT_OF_RANGE,
                f"occurred_at: {occurred_at.isoformat()} has no date in the calendar's time "
                "zone: it lies outside the years 1–9999 there",
            ) from exc

    def _resolve(self, entity: str, day: date | None) -> "_Owner":
        if day is not None:
            path = self._org.resolve_agent(entity, day)
            if self._org.knows_agent(entity):
                unknown = f"agent_id: '{entity}' has no team assignment on {day.isoformat()}"
            else:
                unknown = f"agent_id: '{entity}' is not an agent of the organisation"
            assignment = self._org.chart.assignment_at(entity, day)
            roster_phone = assignment.phone if assignment is not None else None
        else:
            path = self._org.resolve_branch(entity)
            unknown = f"branch_id: '{entity}' is not a branch of the organisation"
            roster_phone = None
        org = EventOrg.model_validate(path, from_attributes=True) if path is not None else None
        return _Owner(
            org,
            None if org is None else org.model_dump(),
            roster_phone,
            f"{unknown} (org.yaml and kpi.org.v1)",
        )


_MAX_OWNERS: Final = 100_000  # (agent, date) pairs remembered; more starts afresh
_MAX_CODES: Final = 10_000  # (event type, field, spelling) remembered; more starts afresh


@dataclass(frozen=True, slots=True)
class _Owner:
    """An event owner's path on a date (None: unknown then) and its values for the canonical
    document, roster phone, and what to say when it is unknown."""

    org: EventOrg | None
    values: dict[str, Any] | None
    roster_phone: str | None
    unknown: str
