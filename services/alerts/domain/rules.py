"""Alert rules (DESIGN §8) as configuration: `config/alerts.yaml`, validated at start-up.

`RuleSet.from_document` is pure; `load_rules` reads the file. Every problem becomes one line
naming the file, the rule and the field, e.g. ``config/alerts.yaml: rules[2] (renewal_low).kpi:
unknown KPI 'renewal_rat' (did you mean 'renewal_rate'?); use an id defined in kpis.yaml``; the
messages themselves are in `rules_config`.
"""

import os
import re
import string
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Final, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.config.issues import ConfigIssue, InvalidConfig, ListEntry, unknown_kpi
from shared.config.loading import read_yaml
from shared.config.org import Level
from shared.kpi.fiscal_calendar import PeriodKind
from shared.messages.alert import AlertMessages, AlertSeverity

from .rule_kinds import FraudPattern, Measure, RuleType, ThresholdDirection
from .rules_config import (
    LANGUAGES,
    document_entries,
    duplicate_id,
    entry_error,
    rule_type_issue,
)

ALERTS_FILE: Final = "alerts.yaml"

_DURATION_RE: Final = re.compile(r"(0|[1-9]\d{0,5})([smhd])")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# What a message may mention; each rule's breach supplies these (missing ones read "n/a").
PLACEHOLDERS: Final = frozenset(
    {"rule", "entity", "kpi", "period", "value", "threshold", "customers", "source", "minutes"}
)


def parse_duration(text: object) -> timedelta:
    """``45s``, ``10m``, ``2h``, ``30d`` → a timedelta; `ValueError` saying how to write one."""
    match = _DURATION_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration; write a whole number and a unit s, m, h or d, "
            "e.g. 10m or 30d"
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def _duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise PydanticCustomError("duration", "{reason}", {"reason": str(exc)}) from None


Duration = Annotated[timedelta, BeforeValidator(_duration)]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
_Levels = Annotated[tuple[Level, ...], Field(min_length=1)]


class _Rule(BaseModel):
    """Fields every rule has."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: RuleId
    severity: AlertSeverity
    runbook_url: Annotated[str, StringConstraints(min_length=1)]
    messages: AlertMessages

    @model_validator(mode="after")
    def _known_placeholders(self) -> Self:
        for language in LANGUAGES:
            text: str = getattr(self.messages, language)
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            except ValueError:
                raise PydanticCustomError(
                    "placeholder",
                    "messages.{language}: unbalanced brace; close every placeholder and write a "
                    "literal brace twice",
                    {"language": language},
                ) from None
            unknown = sorted(names - PLACEHOLDERS)
            if unknown:
                raise PydanticCustomError(
                    "placeholder",
                    "messages.{language}: unknown placeholder {name}; placeholders are {allowed}",
                    {
                        "language": language,
                        "name": "{" + unknown[0] + "}",
                        "allowed": ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS)),
                    },
                )
        return self


class Escalation(BaseModel):
    """A second, further limit at which the same alert turns more severe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: Decimal
    severity: AlertSeverity


class _ScoreRule(_Rule):
    """A rule evaluated on `kpi.scores.v1`: which KPI, at which levels and for which periods."""

    kpi: str
    levels: _Levels
    periods: Annotated[tuple[PeriodKind, ...], Field(min_length=1)] = tuple(PeriodKind)
    hold: Duration = timedelta(0)
    threshold: Decimal
    escalate: Escalation | None = None

    def _check_escalation(self, *, further: str) -> None:
        escalate = self.escalate
        if escalate is None:
            return
        if escalate.severity.rank <= self.severity.rank:
            raise PydanticCustomError(
                "escalation",
                "escalate.severity: must be more severe than the rule's severity {severity}",
                {"severity": self.severity.value},
            )
        beyond = (
            escalate.threshold < self.threshold
            if further == "lower"
            else escalate.threshold > self.threshold
        )
        if not beyond:
            raise PydanticCustomError(
                "escalation",
                "escalate.threshold: must be {further} than threshold {threshold}",
                {"further": further, "threshold": str(self.threshold)},
            )

    def limits(self) -> tuple[tuple[AlertSeverity, Decimal], ...]:
        """(severity, limit) pairs, most severe first."""
        pairs = [(self.severity, self.threshold)]
        if self.escalate is not None:
            pairs.insert(0, (self.escalate.severity, self.escalate.threshold))
        return tuple(pairs)


class ThresholdRule(_ScoreRule):
    """The KPI's value is below (or above) a limit; a value exactly at the limit is fine."""

    type: Literal[RuleType.THRESHOLD] = RuleType.THRESHOLD
    direction: ThresholdDirection

    @model_validator(mode="after")
    def _escalation(self) -> Self:
        self._check_escalation(
            further="lower" if self.direction is ThresholdDirection.BELOW else "higher"
        )
        return self


class DropRule(_ScoreRule):
    """The KPI fell by `threshold` or more since the previous period of the same kind."""

    type: Literal[RuleType.DROP] = RuleType.DROP
    threshold: Annotated[Decimal, Field(gt=0)]
    periods: Annotated[tuple[PeriodKind, ...], Field(min_length=1)] = (PeriodKind.MONTH,)

    @model_validator(mode="after")
    def _escalation(self) -> Self:
        self._check_escalation(further="higher")
        return self


class ProjectionRule(_ScoreRule):
    """A fiscal year's attainment so far, projected to twelve months, is below `threshold`.

    Read on fiscal-year scores once `after_months` months of the year have closed (6: from the
    end of H1): projected = so far × 12 / closed months.
    """

    type: Literal[RuleType.PROJECTION] = RuleType.PROJECTION
    measure: Measure = Measure.VALUE
    after_months: Annotated[int, Field(ge=1, le=12)] = 6
    periods: Annotated[tuple[PeriodKind, ...], Field(min_length=1)] = (PeriodKind.FISCAL_YEAR,)

    @model_validator(mode="after")
    def _escalation(self) -> Self:
        if self.periods != (PeriodKind.FISCAL_YEAR,):
            raise PydanticCustomError(
                "projection_period",
                "periods: a projection reads fiscal-year-to-date scores; remove periods",
            )
        self._check_escalation(further="lower")
        return self


class FraudRule(_Rule):
    """A survey pattern on `kpi.events.v1`: a shared callback phone, or the agent's own."""

    type: Literal[RuleType.FRAUD] = RuleType.FRAUD
    pattern: FraudPattern
    levels: _Levels = (Level.AGENT,)
    min_customers: Annotated[int, Field(ge=2)] = 3
    window: Duration = timedelta(days=30)


class StalenessRule(_Rule):
    """No event from an upstream source for `silent_for` (wall-clock time)."""

    type: Literal[RuleType.STALENESS] = RuleType.STALENESS
    silent_for: Duration
    sources: tuple[Annotated[str, StringConstraints(min_length=1)], ...] = ()

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.silent_for <= timedelta(0):
            raise PydanticCustomError("duration", "silent_for: must be longer than 0, e.g. 60m")
        return self


AlertRule = ThresholdRule | DropRule | ProjectionRule | FraudRule | StalenessRule
ScoreRule = ThresholdRule | DropRule | ProjectionRule

_MODELS: Final[Mapping[RuleType, type[AlertRule]]] = {
    RuleType.THRESHOLD: ThresholdRule,
    RuleType.DROP: DropRule,
    RuleType.PROJECTION: ProjectionRule,
    RuleType.FRAUD: FraudRule,
    RuleType.STALENESS: StalenessRule,
}


def _rule(entry: ListEntry, raw: object) -> tuple[AlertRule | None, list[ConfigIssue]]:
    problem = rule_type_issue(entry, raw)
    if problem is not None:
        return None, [problem]
    assert isinstance(raw, dict)  # rule_type_issue said so
    model = _MODELS[RuleType(raw["type"])]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [entry_error(entry, e, model) for e in exc.errors(include_url=False)]


@dataclass(frozen=True)
class RuleSet:
    """The validated rules in file order, with look-up by id and by type."""

    rules: tuple[AlertRule, ...]
    runbook_base_url: str | None = None
    source: str = field(default=ALERTS_FILE, compare=False)

    @classmethod
    def from_document(
        cls, document: object, *, kpi_ids: Collection[str], source: str = ALERTS_FILE
    ) -> "RuleSet":
        """Validate a parsed document; `InvalidConfig` lists every problem found."""
        raw_entries, base, issues = document_entries(document)
        rules: list[AlertRule] = []
        first: dict[str, int] = {}
        for index, raw in enumerate(raw_entries):
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            entry = ListEntry("rules", index, raw_id if isinstance(raw_id, str) else None)
            rule, problems = _rule(entry, raw)
            issues += problems
            if rule is None:
                continue
            if rule.id in first:
                issues.append(duplicate_id(entry, rule.id, first[rule.id]))
            else:
                first[rule.id] = index
            if isinstance(rule, ThresholdRule | DropRule | ProjectionRule) and (
                rule.kpi not in kpi_ids
            ):
                issues.append(entry.issue("kpi", unknown_kpi(rule.kpi, kpi_ids)))
            rules.append(rule)
        if issues:
            raise InvalidConfig(source, issues)
        return cls(tuple(rules), base, source)

    def __iter__(self) -> Iterator[AlertRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, rule_id: str) -> AlertRule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no rule {rule_id!r} in {self.source}")

    def score_rules(self, kpi: str) -> tuple[ScoreRule, ...]:
        """The threshold, drop and projection rules watching a KPI."""
        return tuple(
            rule
            for rule in self.rules
            if isinstance(rule, ThresholdRule | DropRule | ProjectionRule) and rule.kpi == kpi
        )

    def fraud_rules(self) -> tuple[FraudRule, ...]:
        return tuple(rule for rule in self.rules if isinstance(rule, FraudRule))

    def staleness_rules(self) -> tuple[StalenessRule, ...]:
        return tuple(rule for rule in self.rules if isinstance(rule, StalenessRule))

    def runbook_url(self, rule: AlertRule) -> str:
        """The rule's runbook link, joined to the file's `runbook_base_url` when relative."""
        return runbook_url(rule, self.runbook_base_url)


def runbook_url(rule: AlertRule, base_url: str | None) -> str:
    """A rule's runbook: absolute as written, or relative and joined to `base_url` if given."""
    url = rule.runbook_url
    if base_url is None or "://" in url:
        return url
    return base_url.rstrip("/") + "/" + url.lstrip("/")


def load_rules(path: str | os.PathLike[str], *, kpi_ids: Collection[str]) -> RuleSet:
    """Read and validate `alerts.yaml`; `ConfigError` naming the file, rule and field."""
    return RuleSet.from_document(read_yaml(path), kpi_ids=kpi_ids, source=os.fspath(path))
