"""Alert rules (DESIGN §8) as configuration: `config/alerts.yaml`, validated at start-up.

`RuleSet.from_document` is pure; `load_rules` reads the file. Every problem becomes one line
naming the file, the rule and the field, e.g. ``config/alerts.yaml: rules[2] (renewal_low).kpi:
unknown KPI 'renewal_rat' (did you mean 'renewal_rate'?); KPIs are defined in kpis.yaml``.
"""

import os
import re
import string
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from difflib import get_close_matches
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self

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

from shared.config.issues import ConfigIssue, FieldHelp, InvalidConfig, describe_error, path_of
from shared.config.loading import read_yaml
from shared.kpi.fiscal_calendar import PeriodKind
from shared.messages.alert import AlertMessages, AlertSeverity

ALERTS_FILE: Final = "alerts.yaml"

_DURATION_RE: Final = re.compile(r"(0|[1-9]\d{0,5})([smhd])")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_LANGUAGES: Final = {"en": "English", "zh": "Chinese", "ja": "Japanese"}
# What a message may mention; each rule's breach supplies these (missing ones read "n/a").
PLACEHOLDERS: Final = frozenset(
    {"rule", "entity", "kpi", "period", "value", "threshold", "customers", "source", "minutes"}
)


class RuleType(StrEnum):
    THRESHOLD = "threshold"
    DROP = "drop"
    PROJECTION = "projection"
    FRAUD = "fraud"
    STALENESS = "staleness"


class Level(StrEnum):
    """The levels of the org chart, top-down; entities are written LEVEL:ID."""

    COMPANY = "company"
    REGION = "region"
    BRANCH = "branch"
    TEAM = "team"
    AGENT = "agent"


class ThresholdDirection(StrEnum):
    BELOW = "below"
    ABOVE = "above"


class Measure(StrEnum):
    """Which number of a score a projection reads: the KPI value or its target attainment."""

    VALUE = "value"
    ATTAINMENT = "attainment"


class FraudPattern(StrEnum):
    SHARED_CALLBACK_PHONE = "shared_callback_phone"
    OWN_PHONE_CALLBACK = "own_phone_callback"


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
        for language in _LANGUAGES:
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
_FIELD_HELP: Final[Mapping[str, FieldHelp]] = {
    "id": FieldHelp("renewal_rate_low"),
    "severity": FieldHelp("warning"),
    "runbook_url": FieldHelp("docs/runbooks/renewal_rate_low.md"),
    "messages": FieldHelp("{en: …, zh: …, ja: …}"),
    "kpi": FieldHelp("renewal_rate"),
    "levels": FieldHelp("[branch, region]"),
    "threshold": FieldHelp("0.8"),
    "direction": FieldHelp("below"),
    "pattern": FieldHelp("shared_callback_phone"),
    "silent_for": FieldHelp("60m"),
    "min_customers": FieldHelp("3"),
    "after_months": FieldHelp("6"),
}
# field → (noun, plural, the enum of allowed values)
_ENUMS: Final[Mapping[str, tuple[str, str, type[StrEnum]]]] = {
    "severity": ("severity", "severities", AlertSeverity),
    "direction": ("direction", "directions", ThresholdDirection),
    "measure": ("measure", "measures", Measure),
    "pattern": ("fraud pattern", "fraud patterns", FraudPattern),
    "levels": ("level", "levels", Level),
    "periods": ("period kind", "period kinds", PeriodKind),
}


@dataclass(frozen=True, slots=True)
class _Entry:
    """Where a rule sits, to name it in messages: ``rules[3] (renewal_rate_low)``."""

    index: int
    rule_id: str | None

    def issue(self, path: str, message: str) -> ConfigIssue:
        where = f"rules[{self.index}]"
        if self.rule_id:
            where += f" ({self.rule_id})"
        return ConfigIssue(f"{where}.{path}" if path else where, message)


def _entry_error(entry: _Entry, error: Mapping[str, Any], model: type[AlertRule]) -> ConfigIssue:
    loc = tuple(error["loc"])
    name = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    path = path_of(loc)
    given = error.get("input")
    kind = error["type"]
    if kind == "enum" and name in _ENUMS:
        noun, plural, enum = _ENUMS[name]
        allowed = ", ".join(member.value for member in enum)
        return entry.issue(path, f"unknown {noun} {given!r}; {plural} are {allowed}")
    if loc[:1] == ("messages",) and name in _LANGUAGES and kind == "missing":
        return entry.issue(
            path, f"messages need en, zh and ja; add {name}: the message in {_LANGUAGES[name]}"
        )
    if kind == "string_pattern_mismatch" and name == "id":
        return entry.issue(
            path, f"{given!r} is not a rule id; use lower-case snake_case, e.g. renewal_rate_low"
        )
    if kind == "string_too_short":
        return entry.issue(path, "must not be empty")
    if kind in {"duration", "escalation", "placeholder", "projection_period"}:
        # The custom message names its own field (a model-level error has an empty loc).
        message = str(error["msg"])
        own, _, rest = message.partition(": ")
        if not path and rest:
            return entry.issue(own, rest)
        return entry.issue(path, message)
    fields = {
        "": frozenset(model.model_fields),
        "messages": frozenset(_LANGUAGES),
        "escalate": frozenset({"threshold", "severity"}),
    }
    issue = describe_error(error, allowed_fields=fields, field_help=_FIELD_HELP)
    return entry.issue(issue.path, issue.message)


def _unknown_kpi(kpi: str, kpi_ids: Collection[str]) -> str:
    close = get_close_matches(kpi, sorted(kpi_ids), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown KPI {kpi!r}{hint}; use an id defined in kpis.yaml"


def _entries(document: object) -> tuple[list[object], str | None, list[ConfigIssue]]:
    """The raw `rules` list and the runbook base URL, or the issues that stop us reading."""
    if not isinstance(document, dict):
        shown = "nothing" if document is None else f"a {type(document).__name__}"
        return [], None, [ConfigIssue("", f"expected a mapping with a 'rules' list, got {shown}")]
    issues = [
        ConfigIssue(str(key), "unknown field; the file holds only 'runbook_base_url' and 'rules'")
        for key in document
        if key not in {"rules", "runbook_base_url"}
    ]
    base = document.get("runbook_base_url")
    if base is not None and not (isinstance(base, str) and base):
        issues.append(
            ConfigIssue("runbook_base_url", "expected a URL, e.g. https://wiki.example/runbooks/")
        )
        base = None
    rules = document.get("rules")
    if not isinstance(rules, list) or not rules:
        issues.append(
            ConfigIssue("rules", "expected a non-empty list of rules, one '- id: …' entry each")
        )
        return [], base, issues
    return rules, base, issues


def _rule(entry: _Entry, raw: object) -> tuple[AlertRule | None, list[ConfigIssue]]:
    if not isinstance(raw, dict):
        return None, [entry.issue("", "expected a mapping of fields, one rule")]
    raw_type = raw.get("type")
    allowed = ", ".join(t.value for t in RuleType)
    if raw_type is None:
        return None, [entry.issue("type", f"required field is missing; add it, one of {allowed}")]
    if raw_type not in set(RuleType):
        close = get_close_matches(str(raw_type), [t.value for t in RuleType], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return None, [
            entry.issue("type", f"unknown rule type {raw_type!r}{hint}; types are {allowed}")
        ]
    model = _MODELS[RuleType(raw_type)]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [_entry_error(entry, e, model) for e in exc.errors(include_url=False)]


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
        raw_entries, base, issues = _entries(document)
        rules: list[AlertRule] = []
        first: dict[str, int] = {}
        for index, raw in enumerate(raw_entries):
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            entry = _Entry(index, raw_id if isinstance(raw_id, str) else None)
            rule, problems = _rule(entry, raw)
            issues += problems
            if rule is None:
                continue
            if rule.id in first:
                issues.append(
                    entry.issue(
                        "id",
                        f"rule '{rule.id}' is already defined at rules[{first[rule.id]}]; "
                        "give each rule its own id",
                    )
                )
            else:
                first[rule.id] = index
            if isinstance(rule, ThresholdRule | DropRule | ProjectionRule) and (
                rule.kpi not in kpi_ids
            ):
                issues.append(entry.issue("kpi", _unknown_kpi(rule.kpi, kpi_ids)))
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
