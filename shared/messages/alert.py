"""An alert on `kpi.alerts.v1` (DESIGN §8, §11): one rule's finding about one entity.

An alert is sent when it fires, again only when its severity changes, and once more when it
resolves. `alert_id` is deterministic per (rule, entity, KPI, period), so the same condition
found again after a restart or a replay keeps its id; a later episode keeps the id too and is
told apart by its `started_at`.
"""

import hashlib
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Final, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.events.canonical import PHONE_HASH_PATTERN

from .definitions import Definitions

_PHONE_HASH: Final = re.compile(PHONE_HASH_PATTERN)


class AlertSeverity(StrEnum):
    """How urgent an alert is; `rank` orders them (info < warning < critical)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS: Final = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}


class AlertState(StrEnum):
    """Where an alert is in its lifecycle."""

    FIRING = "firing"
    RESOLVED = "resolved"


_Text = Annotated[str, StringConstraints(min_length=1)]


class AlertMessages(BaseModel):
    """The alert's text in English, Chinese and Japanese."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    en: _Text
    zh: _Text
    ja: _Text


class Alert(BaseModel):
    """A firing or resolved alert; evidence carries ids and phone hashes, never a raw phone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    alert_id: str
    rule: str = Field(description="The id of the rule in alerts.yaml")
    severity: AlertSeverity
    state: AlertState
    entity: str = Field(description="LEVEL:ID, e.g. branch:B01; source:NAME for staleness")
    kpi: str | None = Field(description="The KPI watched; null for fraud and staleness")
    period: str | None = Field(description="2024-03, FY2023, …; null for staleness")
    value: Decimal | None
    threshold: Decimal | None
    message: str = Field(description="The English text; `messages` holds en, zh and ja")
    messages: AlertMessages
    runbook_url: str
    started_at: AwareDatetime = Field(description="When this firing episode began")
    resolved_at: AwareDatetime | None = None
    evidence: dict[str, JsonValue] = Field(default_factory=dict)
    definitions: Definitions | None = Field(
        default=None, description="The KPI definitions version the rule was evaluated with"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.state is AlertState.RESOLVED) != (self.resolved_at is not None):
            raise PydanticCustomError(
                "alert_state", "resolved_at is set exactly when the state is resolved"
            )
        if self.resolved_at is not None and self.resolved_at < self.started_at:
            raise PydanticCustomError("alert_state", "resolved_at is before started_at")
        for key, item in self.evidence.items():
            if "phone" in key and not (isinstance(item, str) and _PHONE_HASH.fullmatch(item)):
                raise PydanticCustomError(
                    "raw_phone",
                    "evidence.{key}: phones appear only as hashes ('hmac-sha256:' + 64 hex)",
                    {"key": key},
                )
        return self

    @staticmethod
    def make_id(rule: str, entity: str, kpi: str | None, period: str | None) -> str:
        """The id of an alert: the same rule, entity, KPI and period always give the same id."""
        text = f"{rule}|{entity}|{kpi or ''}|{period or ''}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]
