"""Scorecard profiles (DESIGN §6) as configuration: `config/scorecards.yaml`, validated at start-up.

`ScorecardConfig.from_document` is pure; `load_profiles` reads the file. Every problem becomes
one line naming the file, the profile and the field, e.g. ``config/scorecards.yaml: profiles[0]
(renewal_clerk).kpis: weights add up to 99, not 100; …`` or ``… .kpis[2].kpi: unknown KPI
'renewal_rat' (did you mean 'renewal_rate'?); use an id defined in kpis.yaml``.
"""

import os
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from difflib import get_close_matches
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from services.scoring.domain.catalogue import KpiCatalogue
from services.scoring.domain.kpi_definition import Direction, KpiKind
from shared.config.issues import ConfigIssue, FieldHelp, InvalidConfig, describe_error, path_of
from shared.config.loading import read_yaml
from shared.config.org import Level, OrgChart, parse_entity
from shared.messages.scorecard import Category, Labels

from .config_models import (
    QUADRANT_IDS,
    UNION_TAGS,
    Assign,
    Band,
    BandMeasure,
    CategoryShares,
    Defaults,
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

SCORECARDS_FILE: Final = "scorecards.yaml"
_TOP_LEVEL: Final = ("defaults", "assign", "profiles")
# Kinds whose values add up over months, so a yearly baseline can be prorated to a period.
_YEARLY_KINDS: Final = frozenset({KpiKind.COUNT, KpiKind.SUM, KpiKind.PER_CAPITA})
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
_LEVELS: Final = ", ".join(level.value for level in Level)


@dataclass(frozen=True, slots=True)
class Profile:
    """One validated profile with the defaults filled in."""

    id: str
    labels: Labels
    kpis: tuple[ProfileKpi, ...]
    split: Split
    qualitative_fallback: QualitativeFallback
    grades: GradeBands
    trend_flat_within: Decimal
    quadrants: QuadrantScheme | None
    vetoes: tuple[str, ...]

    def kpi(self, kpi_id: str) -> ProfileKpi | None:
        """The profile's entry for a KPI, or None when it does not weigh it."""
        return next((entry for entry in self.kpis if entry.kpi == kpi_id), None)

    def category_points(self, category: Category) -> Decimal:
        """The weights of a category's KPIs, added up."""
        return sum((k.weight for k in self.kpis if k.category is category), Decimal(0))


# --- turning pydantic errors into one line each ------------------------------------------


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
        return at(path_of(loc[:-1]), f"unknown level {given!r}; levels are {_LEVELS}")
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


def _validate(model: type[_M], raw: object, prefix: str, issues: list[ConfigIssue]) -> _M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        top = _fields(model)
        issues.extend(_issue(prefix, error, top) for error in exc.errors(include_url=False))
        return None


def _did_you_mean(name: str, known: Collection[str]) -> str:
    close = get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unknown_kpi(kpi: str, catalogue: KpiCatalogue) -> str:
    return f"unknown KPI {kpi!r}{_did_you_mean(kpi, catalogue.ids)}; use an id defined in kpis.yaml"


# --- checks across fields and against the catalogue --------------------------------------


def _points(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _kpi_issues(
    where: str, index: int, entry: ProfileKpi, catalogue: KpiCatalogue
) -> list[ConfigIssue]:
    """What one weighted KPI gets wrong against its catalogue definition."""
    at = f"{where}.kpis[{index}]"
    if entry.kpi not in catalogue:
        return [ConfigIssue(f"{at}.kpi", _unknown_kpi(entry.kpi, catalogue))]
    definition = catalogue[entry.kpi]
    issues: list[ConfigIssue] = []
    if entry.bands is not None:
        lower = definition.direction is Direction.LOWER_IS_BETTER
        by_value = entry.band_measure is BandMeasure.VALUE
        uses_at_most = entry.bands[0].at_most is not None
        if by_value and lower and not uses_at_most:
            issues.append(
                ConfigIssue(
                    f"{at}.bands",
                    f"{entry.kpi} is lower-is-better, so bands on its value are written "
                    "at_most, best first, e.g. [{at_most: 14, share: 1}, {at_most: 21, share: "
                    "0.6}]",
                )
            )
        elif uses_at_most and not (by_value and lower):
            what = "attainment" if not by_value else f"{entry.kpi}'s value (higher is better)"
            issues.append(
                ConfigIssue(
                    f"{at}.bands",
                    f"bands on the {what} are written at_least, best first, e.g. "
                    "[{at_least: 0.9, share: 1}, {at_least: 0.8, share: 0.6}]",
                )
            )
    if isinstance(entry.target, YearlyTarget) and definition.kind not in _YEARLY_KINDS:
        issues.append(
            ConfigIssue(
                f"{at}.target",
                f"{entry.kpi} is a {definition.kind.value}, which does not add up over months, "
                "so it takes a plain target (a number), not per_year",
            )
        )
    return issues


def _profile_issues(
    where: str, profile: ProfileDocument, catalogue: KpiCatalogue, shares: CategoryShares
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    first: dict[str, int] = {}
    for index, entry in enumerate(profile.kpis):
        if entry.kpi in first:
            issues.append(
                ConfigIssue(
                    f"{where}.kpis[{index}].kpi",
                    f"KPI '{entry.kpi}' is already weighted at kpis[{first[entry.kpi]}]; "
                    "list each KPI once",
                )
            )
        else:
            first[entry.kpi] = index
        issues += _kpi_issues(where, index, entry, catalogue)
    total = sum((entry.weight for entry in profile.kpis), Decimal(0))
    if total != 100:
        listed = " + ".join(_points(entry.weight) for entry in profile.kpis)
        issues.append(
            ConfigIssue(
                f"{where}.kpis",
                f"weights add up to {_points(total)}, not 100 ({listed}); change them so the "
                f"profile '{profile.id}' is worth 100 points",
            )
        )
    else:
        for category in Category:
            points = sum((k.weight for k in profile.kpis if k.category is category), Decimal(0))
            low, high = shares.range(category)
            if not low <= points <= high:
                issues.append(
                    ConfigIssue(
                        f"{where}.kpis",
                        f"{category.value} KPIs weigh {_points(points)} of 100, outside "
                        f"{_points(low)}–{_points(high)} (defaults.category_shares); move "
                        "weight between categories",
                    )
                )
    for index, kpi in enumerate(profile.vetoes or ()):
        if kpi not in catalogue:
            issues.append(ConfigIssue(f"{where}.vetoes[{index}]", _unknown_kpi(kpi, catalogue)))
        elif catalogue[kpi].veto is None:
            issues.append(
                ConfigIssue(
                    f"{where}.vetoes[{index}]",
                    f"{kpi} has no veto in kpis.yaml; add veto: {{below: …}} or {{above: …}} "
                    "there, or remove it here",
                )
            )
    return issues


def _quadrants(
    where: str,
    profile: ProfileDocument,
    defaults: Defaults,
    catalogue: KpiCatalogue,
    issues: list[ConfigIssue],
) -> QuadrantScheme | None:
    """The profile's grid with texts from the defaults, checked against its KPIs."""
    own = profile.quadrants
    if own == "none":
        return None
    if own is None:
        scheme = defaults.quadrants
        fix = "give the profile its own quadrants, or set quadrants: none"
    else:
        assert isinstance(own, ProfileQuadrants)
        labels = own.labels or (defaults.quadrants.labels if defaults.quadrants else None)
        coaching = own.coaching or (defaults.quadrants.coaching if defaults.quadrants else None)
        if labels is None or coaching is None:
            missing = "labels" if labels is None else "coaching"
            issues.append(
                ConfigIssue(
                    f"{where}.quadrants.{missing}",
                    f"required when defaults has no quadrants; add {missing} for "
                    f"{', '.join(QUADRANT_IDS)}",
                )
            )
            return None
        scheme = QuadrantScheme(x=own.x, y=own.y, labels=labels, coaching=coaching)
        fix = "choose axes among the profile's KPIs"
    if scheme is None:
        return None
    weighed = {entry.kpi for entry in profile.kpis}
    for name, axis in (("x", scheme.x), ("y", scheme.y)):
        if axis.kpi not in catalogue:
            if own is not None:
                issues.append(
                    ConfigIssue(f"{where}.quadrants.{name}.kpi", _unknown_kpi(axis.kpi, catalogue))
                )
        elif axis.kpi not in weighed:
            path = f"{where}.quadrants.{name}.kpi" if own is not None else f"{where}.quadrants"
            issues.append(
                ConfigIssue(
                    path,
                    f"the {name} axis {axis.kpi!r} is not one of the profile's KPIs, so the "
                    f"peers' scatter would have no {axis.kpi} to plot; add it to kpis, or {fix}",
                )
            )
    return scheme


def _resolve(
    profile: ProfileDocument, defaults: Defaults, catalogue: KpiCatalogue, quadrants: Any
) -> Profile:
    vetoes = profile.vetoes
    if vetoes is None:
        vetoes = tuple(
            e.kpi for e in profile.kpis if e.kpi in catalogue and catalogue[e.kpi].veto is not None
        )
    return Profile(
        id=profile.id,
        labels=profile.labels,
        kpis=profile.kpis,
        split=profile.split or defaults.split,
        qualitative_fallback=profile.qualitative_fallback or defaults.qualitative_fallback,
        grades=profile.grades or defaults.grades,
        trend_flat_within=(
            profile.trend_flat_within
            if profile.trend_flat_within is not None
            else defaults.trend_flat_within
        ),
        quadrants=quadrants,
        vetoes=vetoes,
    )


def _assign_issues(
    assign: Assign, profile_ids: Collection[str], org: OrgChart | None
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []

    def unknown(path: str, profile_id: str) -> None:
        if profile_id not in profile_ids:
            issues.append(
                ConfigIssue(
                    path,
                    f"unknown profile {profile_id!r}{_did_you_mean(profile_id, profile_ids)}; "
                    f"profiles are {', '.join(profile_ids)}",
                )
            )

    for level, profile_id in assign.levels.items():
        unknown(f"assign.levels.{level.value}", profile_id)
    for entity, profile_id in assign.entities.items():
        try:
            parse_entity(entity)
        except ValueError:
            issues.append(
                ConfigIssue(
                    f"assign.entities.{entity}",
                    f"{entity!r} is not an entity; write LEVEL:ID, e.g. 'branch:B08', with LEVEL "
                    f"one of {_LEVELS}",
                )
            )
            continue
        if org is not None and not org.contains(entity):
            issues.append(
                ConfigIssue(
                    f"assign.entities.{entity}", f"{entity} is not in the organisation (org.yaml)"
                )
            )
        unknown(f"assign.entities.{entity}", profile_id)
    return issues


def _sections(document: object) -> tuple[dict[str, Any], list[ConfigIssue]]:
    if not isinstance(document, dict):
        shown = "nothing" if document is None else f"a {type(document).__name__}"
        return {}, [
            ConfigIssue(
                "", f"expected a mapping with 'defaults', 'assign' and 'profiles', got {shown}"
            )
        ]
    issues = [
        ConfigIssue(
            str(key),
            f"unknown field{_did_you_mean(str(key), _TOP_LEVEL)}; the file holds only "
            "'defaults', 'assign' and 'profiles'",
        )
        for key in document
        if key not in _TOP_LEVEL
    ]
    profiles = document.get("profiles")
    if not isinstance(profiles, list) or not profiles:
        issues.append(
            ConfigIssue("profiles", "expected a non-empty list of profiles, one '- id: …' each")
        )
    return document, issues


@dataclass(frozen=True)
class ScorecardConfig:
    """The validated profiles in file order, and which entity uses which."""

    profiles: tuple[Profile, ...]
    assign: Assign
    category_shares: CategoryShares = field(default_factory=CategoryShares)
    source: str = field(default=SCORECARDS_FILE, compare=False)

    @classmethod
    def from_document(
        cls,
        document: object,
        *,
        catalogue: KpiCatalogue,
        org: OrgChart | None = None,
        source: str = SCORECARDS_FILE,
    ) -> "ScorecardConfig":
        """Validate a parsed document; `InvalidConfig` lists every problem found.

        With `org`, entities named under `assign.entities` must exist in it.
        """
        raw, issues = _sections(document)
        defaults = _validate(Defaults, raw.get("defaults") or {}, "defaults", issues)
        assign = _validate(Assign, raw.get("assign") or {}, "assign", issues)
        if defaults is not None and defaults.quadrants is not None:
            for name in ("x", "y"):
                kpi = getattr(defaults.quadrants, name).kpi
                if kpi not in catalogue:
                    path = f"defaults.quadrants.{name}.kpi"
                    issues.append(ConfigIssue(path, _unknown_kpi(kpi, catalogue)))
        # With broken defaults, the profiles are still checked (against the built-in ones).
        fallback = defaults or Defaults()
        profiles: list[Profile] = []
        first: dict[str, int] = {}
        named: list[str] = []  # every profile id written, so `assign` is checked once
        raw_profiles = raw.get("profiles")
        for index, entry in enumerate(raw_profiles if isinstance(raw_profiles, list) else []):
            raw_id = entry.get("id") if isinstance(entry, dict) else None
            where = f"profiles[{index}]" + (f" ({raw_id})" if isinstance(raw_id, str) else "")
            if isinstance(raw_id, str) and raw_id not in named:
                named.append(raw_id)
            parsed = _validate(ProfileDocument, entry, where, issues)
            if parsed is None:
                continue
            if parsed.id in first:
                issues.append(
                    ConfigIssue(
                        f"{where}.id",
                        f"profile '{parsed.id}' is already defined at profiles[{first[parsed.id]}]"
                        "; give each profile its own id",
                    )
                )
            else:
                first[parsed.id] = index
            issues += _profile_issues(where, parsed, catalogue, fallback.category_shares)
            # Broken defaults may hold the grid texts; checking against none would mislead.
            quadrants = _quadrants(where, parsed, defaults, catalogue, issues) if defaults else None
            profiles.append(_resolve(parsed, fallback, catalogue, quadrants))
        if assign is not None:
            issues += _assign_issues(assign, named, org)
        if issues or defaults is None or assign is None:
            raise InvalidConfig(source, issues)
        return cls(tuple(profiles), assign, defaults.category_shares, source)

    def __iter__(self) -> Iterator[Profile]:
        return iter(self.profiles)

    def __len__(self) -> int:
        return len(self.profiles)

    def __getitem__(self, profile_id: str) -> Profile:
        for profile in self.profiles:
            if profile.id == profile_id:
                return profile
        raise KeyError(f"no profile {profile_id!r} in {self.source}")

    def profile_for(self, entity: str) -> Profile | None:
        """The profile of an entity (``branch:B08``): its own assignment, else its level's;
        None when neither is configured (the entity gets no scorecard)."""
        profile_id = self.assign.entities.get(entity)
        if profile_id is None:
            level, _ = parse_entity(entity)
            profile_id = self.assign.levels.get(level)
        return None if profile_id is None else self[profile_id]


def load_profiles(
    config_dir: str | os.PathLike[str], catalogue: KpiCatalogue, *, org: OrgChart | None = None
) -> ScorecardConfig:
    """Read and validate `scorecards.yaml` in `config_dir`; `ConfigError` naming the file,
    profile and field."""
    path = Path(config_dir) / SCORECARDS_FILE
    return ScorecardConfig.from_document(
        read_yaml(path), catalogue=catalogue, org=org, source=os.fspath(path)
    )
