"""Which version of the KPI definitions a score, scorecard or alert was computed with.

`hash` is a content hash of the KPI catalogue, targets and scorecard profiles as loaded
(`shared/kpi/versions.py` says exactly what is hashed); `label` is the operator's own name for
the version, from `definitions.yaml`. The field is optional on every message of schema 1: a
message written before versions existed has none.
"""

from enum import StrEnum
from typing import Annotated, Final, TypedDict

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

HASH_PATTERN: Final = r"^[0-9a-f]{16}$"


class Definitions(BaseModel):
    """The definitions version: a content hash and an optional human label."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hash: str = Field(
        pattern=HASH_PATTERN,
        description="First 16 hex digits of the SHA-256 of kpis.yaml, targets.yaml and "
        "scorecards.yaml as loaded (canonical JSON: comments and formatting do not count)",
    )
    label: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = Field(
        default=None, description="The label of definitions.yaml, e.g. 'FY2024 scheme'"
    )


class DefinitionsFields(TypedDict):
    """`Definitions`' fields in declared order, for msgspec's encoding of scores."""

    hash: str
    label: str | None


def definitions_fields(definitions: Definitions | None) -> DefinitionsFields | None:
    """The fields scoring's encoder writes for a version (None: no version known)."""
    if definitions is None:
        return None
    return DefinitionsFields(hash=definitions.hash, label=definitions.label)


class RevisionReason(StrEnum):
    """Why a score or scorecard was published again with other figures, when it is not the
    usual reason (late events): `definition_change`, a recomputation under new definitions
    (`kpi recompute`), whose message also names the definitions it replaces."""

    DEFINITION_CHANGE = "definition_change"
