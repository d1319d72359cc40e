"""Problems in `scorecards.yaml` said so an operator can fix them: each pydantic error becomes
one `ConfigIssue` naming the profile (or section) and the field, with the fix.

Used by `profiles`; follows `shared/kpi/catalogue.py` and `shared/config/issues.py`.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from shared.config.issues import ConfigIssue, FieldHelp, describe_error, path_of
from shared.config.org import Level
from shared.messages.scorecard import Category

from .config_models import (
    QUADRANT_IDS,
    UNION_TAGS,
    Band,
    BandMeasure,
    CategoryShares,
    FallbackUse,
    GradeBands,
    Method,
    ProfileDocument,
    ProfileKpi,
    ProfileQuadrants,
    QuadrantAxis,
    QuadrantScheme,
    QualitativeFallback,
    Split,
    YearlyTarget,
)

_LANGUAGES: Final = frozenset({"en", "zh", "ja"})
_QUADRANT_FIELDS: Final = frozenset(QUADRANT_IDS)


def _fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)


# The fields allowed under a key, to suggest a spelling for an unknown one.
_CONTAINERS: Final[Mapping[str, frozenset[str]]] = {
    "kpis": _fields(ProfileKpi),
    "bands": _fields(Band),
    "target": _fields(YearlyTarget),
    "split": _fields(Split),
    "qualitative_fallback": _fields(QualitativeFallback),
    "grades": _fields(GradeBands),
    "category_shares": _fields(CategoryShares),
    "quadrants": _fields(QuadrantScheme),
    "x": _fields(QuadrantAxis),
    "y": _fields(QuadrantAxis),
    "levels": frozenset(level.value for level in Level),
    **dict.fromkeys(QUADRANT_IDS, _LANGUAGES),
}
_FIELD_HELP: Final[Mapping[str, FieldHelp]] = {
    "id": FieldHelp("renewal_clerk"),
    "kpi": FieldHelp("renewal_rate"),
    "weight": FieldHelp("20", "the points the KPI is worth; a profile's weights add up to 100"),
    "cap": FieldHelp("1", "the most a proportional KPI earns, as a multiple of its weight"),
    "share": FieldHelp("0.6", "the fraction 0–1 of the weight a band earns"),
    "quantitative": FieldHelp("70"),
    "qualitative": FieldHelp("30"),
    "excellent": FieldHelp("90"),
    "qualified": FieldHelp("80"),
    "value": FieldHelp("80"),
    "per_year": FieldHelp("250000000"),
    "kpis": FieldHelp("[{kpi: renewal_rate, category: performance, weight: 40, ...}]"),
    "bands": FieldHelp("[{at_least: 0.9, share: 1}, {at_least: 0.8, share: 0.6}]"),
    "trend_flat_within": FieldHelp("0.5"),
}
# field → (noun, plural, the enum of allowed values)
_ENUMS: Final[Mapping[str, tuple[str, str, type[StrEnum]]]] = {
    "category": ("category", "categories", Category),
    "method": ("method", "methods", Method),
    "measure": ("measure", "measures", BandMeasure),
    "use": ("fallback", "fallbacks", FallbackUse),
}
LEVELS_TEXT: Final = ", ".join(level.value for level in Level)


def _clean(error: Mapping[str, Any]) -> dict[str, Any]:
    """The error with union tags taken out of its path."""
    cleaned = dict(error)
    cleaned["loc"] = tuple(part for part in error["loc"] if part not in UNION_TAGS)
    return cleaned


def _allowed(loc: tuple[int | str, ...], top: frozenset[str]) -> frozenset[str]:
    """The fields allowed where an unknown field `loc[-1]` was found."""
    parents = [part for part in loc[:-1] if isinstance(part, str)]
    if not parents:
        return top
    container = parents[-1]
    if container in {"labels", "coaching"}:
        # A profile's own labels are languages; a grid's are quadrant ids.
        return _QUADRANT_FIELDS if len(parents) > 1 else _LANGUAGES
    if container == "quadrants" and top == _fields(ProfileDocument):
        return _fields(ProfileQuadrants)
    return _CONTAINERS.get(container, top)


def _issue(prefix: str, error: Mapping[str, Any], top: frozenset[str]) -> ConfigIssue:
    """One pydantic error under `prefix` (``profiles[0] (branch)``, ``defaults``)."""
    error = _clean(error)
    loc: tuple[int | str, ...] = tuple(error["loc"])
    name = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    path = path_of(loc)
    given = error.get("input")
    kind = error["type"]

    def at(where: str, message: str) -> ConfigIssue:
        full = ".".join(part for part in (prefix, where) if part)
        return ConfigIssue(full, message)

    if kind == "enum" and name in _ENUMS:
        noun, plural, enum = _ENUMS[name]
        allowed = ", ".join(member.value for member in enum)
        return at(path, f"unknown {noun} {given!r}; {plural} are {allowed}")
    if kind == "enum" and "[key]" in loc:
        return at(path_of(loc[:-1]), f"unknown level {given!r}; levels are {LEVELS_TEXT}")
    if kind == "string_pattern_mismatch" and name == "id":
        return at(path, f"{given!r} is not a profile id; use lower-case snake_case, e.g. branch")
    if kind == "string_pattern_mismatch":
        return at(path, f"{given!r} is not a profile id; use the id of one of the profiles")
    if kind == "missing" and name in _LANGUAGES:
        return at(path, f"texts need en, zh and ja; add {name}")
    if kind == "string_too_short":
        return at(path, "must not be empty")
    if kind == "decimal_max_places":
        return at(path, f"at most two decimal places (got {given})")
    if kind == "scorecard_rule":
        # The message names its own field (the error sits on the model holding it).
        message = str(error["msg"])
        own, _, rest = message.partition(": ")
        return at(".".join(part for part in (path, own) if part), rest)
    here = _allowed(loc, top)
    section = str(loc[0]) if len(loc) > 1 else ""
    issue = describe_error(error, allowed_fields={"": here, section: here}, field_help=_FIELD_HELP)
    return at(issue.path, issue.message)


_M = TypeVar("_M", bound=BaseModel)


def validate_into(
    model: type[_M], raw: object, prefix: str, issues: list[ConfigIssue]
) -> _M | None:
    """`raw` validated as `model`; on failure None, with one issue per error under `prefix`."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        top = _fields(model)
        issues.extend(_issue(prefix, error, top) for error in exc.errors(include_url=False))
        return None
