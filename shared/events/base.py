"""The envelope every upstream event shares (DESIGN §3)."""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from .fields import EventId, Identifier, SourceName, Timestamp

SCHEMA_VERSION = 1


class UpstreamEvent(BaseModel):
    """Fields common to every v1 event published by an upstream system.

    An event belongs to exactly one agent, or to a branch when no agent is involved.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    event_id: EventId
    occurred_at: Timestamp
    source: SourceName
    schema_version: Literal[1]
    agent_id: Identifier | None = None
    branch_id: Identifier | None = None

    @model_validator(mode="after")
    def _one_org_key(self) -> Self:
        if (self.agent_id is None) == (self.branch_id is None):
            raise PydanticCustomError(
                "org_key",
                "exactly one of agent_id or branch_id is required "
                "(agent_id for an agent's event, branch_id for a branch's own)",
            )
        return self

    @property
    def org_key(self) -> str:
        """The entity the event belongs to, written LEVEL:ID."""
        if self.agent_id is not None:
            return f"agent:{self.agent_id}"
        return f"branch:{self.branch_id}"
