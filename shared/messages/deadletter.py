"""The dead-letter message of DESIGN §11: a rejected input, its reason and its original bytes."""

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.events.decoding import ContractViolation, RejectReason


class DeadLetter(BaseModel):
    """A record the platform could not accept: why, where it came from, and its exact bytes."""

    # One-line docstring on purpose: it becomes the schema's description in docs/.

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    reason: RejectReason
    detail: Annotated[
        str, Field(min_length=1, description="What was wrong, naming the field and the fix.")
    ]
    source_topic: Annotated[str, Field(min_length=1, description="Topic the record came from.")]
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    received_at: Annotated[
        AwareDatetime, Field(description="When the platform read the record, in UTC.")
    ]
    payload_base64: Annotated[
        str,
        Field(
            description="The record value exactly as received, base64 (RFC 4648, no newlines).",
            json_schema_extra={"contentEncoding": "base64"},
        ),
    ]

    @field_validator("received_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_validator("payload_base64")
    @classmethod
    def _is_base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not standard base64: {exc}") from exc
        return value

    @classmethod
    def from_violation(
        cls,
        raw: bytes,
        *,
        topic: str,
        partition: int,
        offset: int,
        violation: ContractViolation,
        received_at: datetime | None = None,
    ) -> Self:
        """Build the dead letter for one rejected record; `received_at` defaults to now."""
        return cls(
            reason=violation.reason,
            detail=violation.detail,
            source_topic=topic,
            partition=partition,
            offset=offset,
            received_at=received_at if received_at is not None else datetime.now(UTC),
            payload_base64=base64.b64encode(raw).decode("ascii"),
        )

    @property
    def payload(self) -> bytes:
        """The original record value."""
        return base64.b64decode(self.payload_base64)
