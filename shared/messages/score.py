"""A score update on `kpi.scores.v1` (DESIGN §11): one KPI of one entity for one period."""

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Literal, TypedDict

import msgspec
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .definitions import Definitions, DefinitionsFields, RevisionReason


class Score(BaseModel):
    """The current value of a KPI; values are decimal strings, ratios as fractions 0–1, a KPI
    with no denominator is null. `score_id` is deterministic, so a consumer that sees one twice
    (a batch re-published after a crash) can drop the copy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    score_id: str
    entity: str = Field(description="LEVEL:ID, e.g. branch:B01")
    period: str = Field(description="2024-03, FY2023, FY2023-H1, FY2023-Q1")
    kpi: str
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    target: Decimal | None
    attainment: Decimal | None
    revision: int = Field(ge=1, description="1, plus one for each batch of late events")
    as_of: AwareDatetime = Field(description="Stream time when the value was computed")
    definitions: Definitions | None = Field(
        default=None, description="The KPI definitions version the value was computed with"
    )
    revision_reason: RevisionReason | None = Field(
        default=None,
        description="definition_change when the value is republished after a recomputation "
        "under new definitions (kpi recompute); null otherwise",
    )
    previous_definitions: Definitions | None = Field(
        default=None,
        description="With definition_change: the definitions the value replaces was computed with",
    )

    @staticmethod
    def make_id(
        entity: str,
        period: str,
        kpi: str,
        *,
        numerator: Decimal | None,
        denominator: Decimal | None,
        revision: int,
        definitions_change: str | None = None,
    ) -> str:
        """The id of a score: the same inputs always give the same id. A republication for a
        change of definitions names the new definitions' hash (`definitions_change`): its
        figures may equal an earlier message's but for the target, and it is not a copy."""
        text = f"{entity}|{period}|{kpi}|{numerator}|{denominator}|{revision}"
        if definitions_change is not None:
            text += f"|{definitions_change}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


class ScoreFields(TypedDict):
    """A `Score`'s fields in its declared order: what scoring computes per update."""

    schema_version: Literal[1]
    score_id: str
    entity: str
    period: str
    kpi: str
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    target: Decimal | None
    attainment: Decimal | None
    revision: int
    as_of: datetime
    definitions: DefinitionsFields | None
    revision_reason: str | None
    previous_definitions: DefinitionsFields | None


_ENCODER = msgspec.json.Encoder(decimal_format="string")


def encode_score(fields: ScoreFields) -> bytes:
    """The JSON of `Score(**fields)`, byte for byte what `model_dump_json` gives, without
    building and validating a model: scoring publishes tens of thousands per flush. The fields
    come from scoring's own computation (aware `as_of`, `revision` >= 1)."""
    return _ENCODER.encode(fields)
