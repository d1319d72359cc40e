"""Problems in `alerts.yaml` said so an operator can fix them: each one a `ConfigIssue` naming
the rule (``rules[3] (renewal_rate_low)``) and the field, with the fix.

Used by `rules`, which holds the rule model; this module holds only the messages.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel

from shared.config.issues import (
    ConfigIssue,
    FieldHelp,
    ListEntry,
    describe_error,
    did_you_mean,
    path_of,
)
from shared.config.org import Level
from shared.kpi.fiscal_calendar import PeriodKind
from shared.messages.alert import AlertSeverity

from .rule_kinds import FraudPattern, Measure, RuleType, ThresholdDirection

LANGUAGES: Final = {"en": "English", "zh": "Chinese", "ja": "Japanese"}

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


def entry_error(entry: ListEntry, error: Mapping[str, Any], model: type[BaseModel]) -> ConfigIssue:
    """One pydantic error of validating a rule as `model`, said for the operator."""
    loc = tuple(error["loc"])
    name = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    path = path_of(loc)
    given = error.get("input")
    kind = error["type"]
    if kind == "enum" and name in _ENUMS:
        noun, plural, enum = _ENUMS[name]
        allowed = ", ".join(member.value for member in enum)
        return entry.issue(path, f"unknown {noun} {given!r}; {plural} are {allowed}")
    if loc[:1] == ("messages",) and name in LANGUAGES and kind == "missing":
        return entry.issue(
            path, f"messages need en, zh and ja; add {name}: the message in {LANGUAGES[name]}"
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
        "messages": frozenset(LANGUAGES),
        "escalate": frozenset({"threshold", "severity"}),
    }
    issue = describe_error(error, allowed_fields=fields, field_help=_FIELD_HELP)
    return entry.issue(issue.path, issue.message)


def rule_type_issue(entry: ListEntry, raw: object) -> ConfigIssue | None:
    """What is wrong with a rule's shape or `type` before its fields can be read, if anything."""
    if not isinstance(raw, dict):
        return entry.issue("", "expected a mapping of fields, one rule")
    raw_type = raw.get("type")
    allowed = ", ".join(t.value for t in RuleType)
    if raw_type is None:
        return entry.issue("type", f"required field is missing; add it, one of {allowed}")
    if raw_type not in set(RuleType):
        hint = did_you_mean(str(raw_type), [t.value for t in RuleType])
        return entry.issue("type", f"unknown rule type {raw_type!r}{hint}; types are {allowed}")
    return None


def document_entries(document: object) -> tuple[list[object], str | None, list[ConfigIssue]]:
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


def duplicate_id(entry: ListEntry, rule_id: str, first: int) -> ConfigIssue:
    """A rule id used a second time."""
    return entry.issue(
        "id",
        f"rule '{rule_id}' is already defined at rules[{first}]; give each rule its own id",
    )
