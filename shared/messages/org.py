"""Changes to the organisation on the compacted `kpi.org.v1` topic.

The record key names the entity (`agent:A0123`, `team:T07`, `branch:B13`, `region:R4`); the
latest value per key is the state, and a null value (a tombstone) returns the entity to what
`org.yaml` says. Values use the same fields as `org.yaml` (a `name` is one text or a mapping of
`en`, `zh` and `ja`, as there).
"""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.config.entity_names import EntityName
from shared.events.fields import Identifier, Phone


class AgentAssignmentRecord(BaseModel):
    """One dated assignment of an agent to a team."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    team: Identifier
    phone: Phone
    from_: Annotated[date, Field(alias="from")]
    name: EntityName | None = None


class AgentRecord(BaseModel):
    """Value of an `agent:ID` key: the agent's whole assignment history."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    assignments: Annotated[tuple[AgentAssignmentRecord, ...], Field(min_length=1)]


class TeamRecord(BaseModel):
    """Value of a `team:ID` key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    branch: Identifier
    name: EntityName | None = None


class BranchRecord(BaseModel):
    """Value of a `branch:ID` key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: Identifier
    headcount: Annotated[int, Field(ge=0)]
    name: EntityName | None = None


class RegionRecord(BaseModel):
    """Value of a `region:ID` key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    coefficient: Annotated[Decimal, Field(gt=0)]
    name: EntityName | None = None


ORG_RECORD_MODELS: dict[str, type[BaseModel]] = {
    "agent": AgentRecord,
    "team": TeamRecord,
    "branch": BranchRecord,
    "region": RegionRecord,
}
