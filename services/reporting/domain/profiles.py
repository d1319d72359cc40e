"""Scorecard profiles (DESIGN §6) as configuration: `config/scorecards.yaml`, validated at start-up.

A profile may be listed more than once with different `effective_from` periods, one version per
scheme year (`shared/kpi/effective.py`); iterating, indexing and `profile_for` see each
profile's current version, `in_force` and `as_of` the version of a month. `assign` is not
dated: it names profile ids, whose versions are.

`ScorecardConfig.from_document` is pure; `load_profiles` reads the file. Every problem becomes
one line naming the file, the profile and the field, e.g. ``config/scorecards.yaml: profiles[0]
(renewal_clerk).kpis: weights add up to 99, not 100; …`` or ``… .kpis[2].kpi: unknown KPI
'renewal_rat' (did you mean 'renewal_rate'?); use an id defined in kpis.yaml``.
"""

import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from shared.config.issues import ConfigIssue, InvalidConfig, did_you_mean, unknown_kpi
from shared.config.loading import load_calendar, read_yaml
from shared.config.org import OrgChart, parse_entity
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.effective import Dated, calendar_of, start_month
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.kpi_definition import Direction, KpiKind
from shared.messages.scorecard import Category, Labels

from .config_issues import LEVELS_TEXT, validate_into
from .config_models import (
    QUADRANT_IDS,
    Assign,
    BandMeasure,
    CategoryShares,
    Defaults,
    GradeBands,
    ProfileDocument,
    ProfileKpi,
    ProfileQuadrants,
    QuadrantScheme,
    QualitativeFallback,
    Split,
    YearlyTarget,
)
from .profile_versions import dating_issues, profile_overlaps

SCORECARDS_FILE: Final = "scorecards.yaml"
_TOP_LEVEL: Final = ("defaults", "assign", "profiles")
# Kinds whose values add up over months, so a yearly baseline can be prorated to a period.
_YEARLY_KINDS: Final = frozenset({KpiKind.COUNT, KpiKind.SUM, KpiKind.PER_CAPITA})


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
    effective_from: str | None = None

    def kpi(self, kpi_id: str) -> ProfileKpi | None:
        """The profile's entry for a KPI, or None when it does not weigh it."""
        return next((entry for entry in self.kpis if entry.kpi == kpi_id), None)

    def category_points(self, category: Category) -> Decimal:
        """The weights of a category's KPIs, added up."""
        return sum((k.weight for k in self.kpis if k.category is category), Decimal(0))


# --- checks across fields and against the catalogue --------------------------------------


def _points(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _kpi_issues(
    where: str, index: int, entry: ProfileKpi, catalogue: KpiCatalogue
) -> list[ConfigIssue]:
    """What one weighted KPI gets wrong against its catalogue definition."""
    at = f"{where}.kpis[{index}]"
    if entry.kpi not in catalogue:
        return [ConfigIssue(f"{at}.kpi", unknown_kpi(entry.kpi, catalogue.ids))]
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
            issues.append(ConfigIssue(f"{where}.vetoes[{index}]", unknown_kpi(kpi, catalogue.ids)))
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
                    ConfigIssue(
                        f"{where}.quadrants.{name}.kpi", unknown_kpi(axis.kpi, catalogue.ids)
                    )
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
    profile: ProfileDocument,
    defaults: Defaults,
    catalogue: KpiCatalogue,
    quadrants: QuadrantScheme | None,
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
        effective_from=profile.effective_from,
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
                    f"unknown profile {profile_id!r}{did_you_mean(profile_id, profile_ids)}; "
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
                    f"one of {LEVELS_TEXT}",
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
            f"unknown field{did_you_mean(str(key), _TOP_LEVEL)}; the file holds only "
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
    """The validated profiles, every version in file order, and which entity uses which."""

    profiles: tuple[Profile, ...]
    assign: Assign
    category_shares: CategoryShares = field(default_factory=CategoryShares)
    source: str = field(default=SCORECARDS_FILE, compare=False)
    fiscal_year_start_month: int = field(default=4, compare=False)
    _dated: dict[str, Dated[Profile]] = field(init=False, repr=False, compare=False)
    _current: dict[str, Profile] = field(init=False, repr=False, compare=False)
    _snapshots: dict[str, "ScorecardConfig"] = field(init=False, repr=False, compare=False)

    @classmethod
    def from_document(
        cls,
        document: object,
        *,
        catalogue: KpiCatalogue,
        org: OrgChart | None = None,
        source: str = SCORECARDS_FILE,
        calendar: FiscalCalendar | None = None,
    ) -> "ScorecardConfig":
        """Validate a parsed document; `InvalidConfig` lists every problem found.

        With `org`, entities named under `assign.entities` must exist in it. The calendar's
        fiscal-year start places `effective_from` periods (default April).
        """
        calendar = calendar or calendar_of(catalogue.fiscal_year_start_month)
        raw, issues = _sections(document)
        defaults = validate_into(Defaults, raw.get("defaults") or {}, "defaults", issues)
        assign = validate_into(Assign, raw.get("assign") or {}, "assign", issues)
        if defaults is not None and defaults.quadrants is not None:
            for name in ("x", "y"):
                kpi = getattr(defaults.quadrants, name).kpi
                if kpi not in catalogue:
                    path = f"defaults.quadrants.{name}.kpi"
                    issues.append(ConfigIssue(path, unknown_kpi(kpi, catalogue.ids)))
        # With broken defaults, the profiles are still checked (against the built-in ones).
        fallback = defaults or Defaults()
        profiles: list[Profile] = []
        versions: list[tuple[int, str, str | None]] = []
        named: list[str] = []  # every profile id written, so `assign` is checked once
        raw_profiles = raw.get("profiles")
        for index, entry in enumerate(raw_profiles if isinstance(raw_profiles, list) else []):
            raw_id = entry.get("id") if isinstance(entry, dict) else None
            where = f"profiles[{index}]" + (f" ({raw_id})" if isinstance(raw_id, str) else "")
            if isinstance(raw_id, str) and raw_id not in named:
                named.append(raw_id)
            parsed = validate_into(ProfileDocument, entry, where, issues)
            if parsed is None:
                continue
            versions.append((index, parsed.id, parsed.effective_from))
            issues += _profile_issues(where, parsed, catalogue, fallback.category_shares)
            if catalogue.dated:
                issues += dating_issues(where, parsed, catalogue, calendar)
            # Broken defaults may hold the grid texts; checking against none would mislead.
            quadrants = _quadrants(where, parsed, defaults, catalogue, issues) if defaults else None
            profiles.append(_resolve(parsed, fallback, catalogue, quadrants))
        issues += profile_overlaps(versions, calendar, raw_profiles or [])
        if assign is not None:
            issues += _assign_issues(assign, named, org)
        if issues or defaults is None or assign is None:
            raise InvalidConfig(source, issues)
        return cls(
            tuple(profiles),
            assign,
            defaults.category_shares,
            source,
            calendar.config.fiscal_year_start_month,
        )

    def __post_init__(self) -> None:
        calendar = calendar_of(self.fiscal_year_start_month)
        versions: dict[str, list[tuple[str, Profile]]] = {}
        for profile in self.profiles:
            start = start_month(profile.effective_from, calendar)
            versions.setdefault(profile.id, []).append((start, profile))
        dated = {profile_id: Dated.of(pairs) for profile_id, pairs in versions.items()}
        object.__setattr__(self, "_dated", dated)
        object.__setattr__(self, "_current", {k: d.current for k, d in dated.items()})
        object.__setattr__(self, "_snapshots", {})

    @property
    def dated(self) -> bool:
        """Whether any profile has an `effective_from`."""
        return any(profile.effective_from is not None for profile in self.profiles)

    def in_force(self, profile_id: str, month: str) -> Profile | None:
        """The version of a profile in force in `month`; None before its first version."""
        dated = self._dated.get(profile_id)
        return None if dated is None else dated.in_force(month)

    def as_of(self, month: str) -> "ScorecardConfig":
        """The profiles of one month, undated; those not in force yet are left out."""
        if not self.dated:
            return self
        if month not in self._snapshots:
            chosen = (d.in_force(month) for d in self._dated.values())
            self._snapshots[month] = ScorecardConfig(
                tuple(p for p in chosen if p is not None),
                self.assign,
                self.category_shares,
                self.source,
                self.fiscal_year_start_month,
            )
        return self._snapshots[month]

    def __iter__(self) -> Iterator[Profile]:
        return iter(self._current.values())

    def __len__(self) -> int:
        return len(self._current)

    def __getitem__(self, profile_id: str) -> Profile:
        try:
            return self._current[profile_id]
        except KeyError:
            raise KeyError(f"no profile {profile_id!r} in {self.source}") from None

    def profile_for(self, entity: str) -> Profile | None:
        """The profile of an entity (``branch:B08``): its own assignment, else its level's;
        None when neither is configured (the entity gets no scorecard), or, in a month's
        snapshot (`as_of`), when the profile is not in force yet."""
        profile_id = self.assign.entities.get(entity)
        if profile_id is None:
            level, _ = parse_entity(entity)
            profile_id = self.assign.levels.get(level)
        return None if profile_id is None else self._current.get(profile_id)


def load_profiles(
    config_dir: str | os.PathLike[str],
    catalogue: KpiCatalogue,
    *,
    org: OrgChart | None = None,
    path: str | os.PathLike[str] | None = None,
) -> ScorecardConfig:
    """Read and validate `scorecards.yaml` in `config_dir` (or the file at `path`, e.g. a
    what-if's draft); `ConfigError` naming the file, profile and field. The `calendar.yaml`
    of `config_dir` places `effective_from` periods."""
    source = Path(path) if path is not None else Path(config_dir) / SCORECARDS_FILE
    beside = Path(config_dir) / "calendar.yaml"
    calendar = FiscalCalendar(load_calendar(beside)) if beside.exists() else None
    return ScorecardConfig.from_document(
        read_yaml(source), catalogue=catalogue, org=org, source=os.fspath(source), calendar=calendar
    )
