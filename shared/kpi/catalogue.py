"""The KPI catalogue (DESIGN §5) as configuration: `config/kpis.yaml`, validated at start-up.

A new KPI of an existing kind is a new entry in the file, no code. A KPI may be listed more than
once with different `effective_from` periods, one version per scheme year (`effective.py`):
iterating and indexing give each KPI's current version (the latest start), `in_force` and
`as_of` the version of a given month. `KpiCatalogue.from_document` is pure; `load_catalogue`
reads the file. Every problem becomes one line naming the file, the
entry and the field, e.g. ``config/kpis.yaml: kpis[3] (renewal_rate).numerator: unknown
component 'renewal_renewd' (did you mean 'renewal_renewed'?); components are …``.
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from pydantic import ValidationError

from shared.config.issues import (
    ConfigIssue,
    FieldHelp,
    InvalidConfig,
    ListEntry,
    describe_error,
    did_you_mean,
    path_of,
)
from shared.config.loading import load_calendar, read_yaml

from .components import C
from .effective import Dated, calendar_of, describe_start, same_start, start_month
from .fiscal_calendar import FiscalCalendar, PeriodKind
from .kpi_definition import (
    ADDITIVE_KINDS,
    KIND_RULES,
    DenominatorSource,
    Direction,
    KpiDefinition,
    KpiKind,
    Unit,
)
from .survey_boxes import DEFAULT_BOXES, TOP_BOX, SurveyBox, first_months

KPI_FILE: Final = "kpis.yaml"

_KPI_FIELDS: Final = frozenset(KpiDefinition.model_fields)
_ALLOWED_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "": _KPI_FIELDS,
    "labels": frozenset({"en", "zh", "ja"}),
    "veto": frozenset({"below", "above"}),
}
_FIELD_HELP: Final[Mapping[str, FieldHelp]] = {
    "id": FieldHelp("renewal_rate"),
    "labels": FieldHelp("{en: Renewal rate, zh: 续保率, ja: 続保率}"),
    "kind": FieldHelp("ratio"),
    "direction": FieldHelp("higher_is_better"),
    "unit": FieldHelp("ratio"),
    "scale": FieldHelp("10000", "the divisor of a scaled numerator: 10000, 100 or 86400"),
    "default_target": FieldHelp("0.9"),
    "effective_from": FieldHelp("FY2024", "the fiscal period from which this version applies"),
    "below": FieldHelp("0.85"),
    "above": FieldHelp("5"),
}
_ENUMS: Final[Mapping[str, tuple[str, type[StrEnum]]]] = {
    "kind": ("kind", KpiKind),
    "direction": ("direction", Direction),
    "unit": ("unit", Unit),
    "denominator_source": ("denominator source", DenominatorSource),
    "target_per": ("period kind", PeriodKind),
}
_LANGUAGES: Final = {"en": "English", "zh": "Chinese", "ja": "Japanese"}
_COMPONENTS: Final = tuple(component.value for component in C)
# Suffix of a component stored scaled → (how it is stored, the scale that reads it back).
_STORAGE: Final = {
    "_e4": ("ten-thousandths", 10000),
    "_e2": ("hundredths", 100),
    "_seconds": ("seconds", 86400),
}


def _storage(component: str) -> tuple[str, int] | None:
    return next((v for suffix, v in _STORAGE.items() if component.endswith(suffix)), None)


def _entry_error(entry: ListEntry, error: Mapping[str, Any]) -> ConfigIssue:
    """One pydantic error of an entry, with messages specific to the catalogue's fields."""
    loc = tuple(error["loc"])
    name = str(loc[-1]) if loc else ""
    path = path_of(loc)
    given = error.get("input")
    if error["type"] == "enum" and name in _ENUMS:
        noun, enum = _ENUMS[name]
        allowed = ", ".join(member.value for member in enum)
        return entry.issue(path, f"unknown {noun} {given!r}; {noun}s are {allowed}")
    if loc[:1] == ("labels",) and name in _LANGUAGES and error["type"] == "missing":
        return entry.issue(
            path, f"labels need en, zh and ja; add {name}: the KPI's name in {_LANGUAGES[name]}"
        )
    if error["type"] == "string_too_short":
        return entry.issue(path, "must not be empty")
    if error["type"] == "string_pattern_mismatch" and name == "id":
        return entry.issue(
            path, f"{given!r} is not a KPI id; use lower-case snake_case, e.g. renewal_rate"
        )
    if error["type"] == "string_pattern_mismatch" and loc[:1] == ("source",):
        return entry.issue(
            path, f"{given!r} is not a seed document id; use its three digits, e.g. '002'"
        )
    issue = describe_error(error, allowed_fields=_ALLOWED_FIELDS, field_help=_FIELD_HELP)
    return entry.issue(issue.path, issue.message)


def _unknown_component(name: str, known: tuple[str, ...] = _COMPONENTS) -> str:
    return (
        f"unknown component {name!r}{did_you_mean(name, known)}; components are {', '.join(known)}"
    )


def _operand_issues(
    entry: ListEntry, kpi: KpiDefinition, known: tuple[str, ...] = _COMPONENTS
) -> list[ConfigIssue]:
    """The numerator, subtract and denominator a KPI's kind needs, and nothing else."""
    rule = KIND_RULES[kpi.kind]
    kind = f"kind {kpi.kind.value}"
    issues: list[ConfigIssue] = []
    if kpi.numerator is None:
        issues.append(
            entry.issue("numerator", f"{kind} needs a numerator; add numerator: <component>")
        )
    if rule.subtract and kpi.subtract is None:
        issues.append(
            entry.issue(
                "subtract",
                f"{kind} needs the component subtracted from its numerator; add subtract: "
                "<component>",
            )
        )
    if not rule.subtract and kpi.subtract is not None:
        issues.append(entry.issue("subtract", f"{kind} subtracts nothing; remove subtract"))
    source = kpi.denominator_source
    if source is not None and source not in rule.sources:
        allowed = " or ".join(s.value for s in rule.sources)
        fix = f"use {allowed}" if allowed else "remove it"
        issues.append(
            entry.issue("denominator_source", f"{kind} cannot divide by {source.value}; {fix}")
        )
    elif kpi.denominator_from is DenominatorSource.COMPONENTS and kpi.denominator is None:
        issues.append(
            entry.issue("denominator", f"{kind} needs a denominator; add denominator: <component>")
        )
    elif kpi.denominator_from is not DenominatorSource.COMPONENTS and kpi.denominator:
        reason = (
            f"divides by {kpi.denominator_from.value}"
            if kpi.denominator_from
            else "divides by nothing"
        )
        issues.append(entry.issue("denominator", f"{kind} {reason}; remove denominator"))
    for role in ("numerator", "subtract", "denominator"):
        component = getattr(kpi, role)
        if component is not None and component not in known:
            issues.append(entry.issue(role, _unknown_component(component, known)))
    return issues


def _scale_issue(entry: ListEntry, kpi: KpiDefinition) -> ConfigIssue | None:
    """A scale that would misread a scaled numerator (money 10,000 times too large)."""
    if kpi.numerator is None:
        return None
    stored = _storage(kpi.numerator)
    if stored is not None and kpi.denominator is not None and _storage(kpi.denominator) == stored:
        # Stored alike, the two scales cancel out in the ratio.
        if kpi.scale != 1:
            return entry.issue(
                "scale",
                f"numerator {kpi.numerator!r} and denominator {kpi.denominator!r} are stored "
                "alike, so their ratio needs no scale; remove scale",
            )
        return None
    if stored is None:
        if kpi.scale != 1:
            return entry.issue(
                "scale", f"numerator {kpi.numerator!r} is stored unscaled; remove scale"
            )
        return None
    storage, expected = stored
    if kpi.scale != expected:
        return entry.issue(
            "scale", f"numerator {kpi.numerator!r} is stored in {storage}; set scale: {expected}"
        )
    return None


def _check(
    entry: ListEntry, kpi: KpiDefinition, known: tuple[str, ...] = _COMPONENTS
) -> list[ConfigIssue]:
    issues = _operand_issues(entry, kpi, known)
    scale = _scale_issue(entry, kpi)
    if scale is not None:
        issues.append(scale)
    if kpi.target_per is not None and kpi.kind not in ADDITIVE_KINDS:
        issues.append(
            entry.issue(
                "target_per",
                "only count and sum targets add up over months and can be stated per longer "
                "period; remove target_per",
            )
        )
    return issues


def _entries(document: object) -> tuple[list[object], list[ConfigIssue]]:
    """The raw `kpis` list of the document, or the issues that stop us reading it."""
    if not isinstance(document, dict):
        shown = "nothing" if document is None else f"a {type(document).__name__}"
        return [], [ConfigIssue("", f"expected a mapping with a 'kpis' list, got {shown}")]
    issues = [
        ConfigIssue(str(key), "unknown field; the file holds only 'kpis' and 'survey_boxes'")
        for key in document
        if key not in {"kpis", "survey_boxes"}
    ]
    kpis = document.get("kpis")
    if not isinstance(kpis, list) or not kpis:
        issues.append(
            ConfigIssue("kpis", "expected a non-empty list of KPIs, one '- id: …' entry each")
        )
        return [], issues
    return kpis, issues


def _survey_boxes(
    document: object, calendar: FiscalCalendar
) -> tuple[tuple[SurveyBox, ...], list[ConfigIssue]]:
    """The file's survey box counters (the shipped top box when it states none, and beside
    those it states when it does not restate it from the beginning). Versions of one box
    (`effective_from`) must start in different months."""
    raw = document.get("survey_boxes") if isinstance(document, dict) else None
    if raw is None:
        return DEFAULT_BOXES, []
    if not isinstance(raw, list):
        return DEFAULT_BOXES, [
            ConfigIssue("survey_boxes", "expected a list of '- id: …, at_least: {…}' entries")
        ]
    boxes: dict[int, SurveyBox] = {}
    issues: list[ConfigIssue] = []
    for index, item in enumerate(raw):
        raw_id = item.get("id") if isinstance(item, dict) else None
        entry = ListEntry("survey_boxes", index, raw_id if isinstance(raw_id, str) else None)
        try:
            box = SurveyBox.model_validate(item)
        except ValidationError as exc:
            issues += [
                entry.issue(path_of(tuple(e["loc"])) or "at_least", e["msg"])
                for e in exc.errors(include_url=False)
            ]
            continue
        taken = box.id in _COMPONENTS and box.id != TOP_BOX.id
        if taken or _storage(box.id) is not None:
            message = f"{box.id!r} names another counter; give the box an id of its own"
            issues.append(entry.issue("id", message))
            continue
        boxes[index] = box
    issues += _box_overlaps(boxes, calendar)
    stated = list(boxes.values())
    if not any(b.id == TOP_BOX.id and b.effective_from is None for b in stated):
        stated.insert(0, TOP_BOX)  # the shipped top box, until a stated version starts
    return tuple(stated), issues


def _box_overlaps(boxes: Mapping[int, SurveyBox], calendar: FiscalCalendar) -> list[ConfigIssue]:
    """Two versions of a box that start in the same month (by index in the file)."""
    versions = {index: (box.id, box.effective_from) for index, box in boxes.items()}
    hint = ", or this version an effective_from"
    return _same_starts("survey_boxes", "box", versions, calendar, hint)


def _counted_before_boxes(
    entries: Mapping[int, KpiDefinition], boxes: Sequence[SurveyBox], calendar: FiscalCalendar
) -> list[ConfigIssue]:
    """A KPI version that reads a box before the box's first version is counted: its
    numerator or denominator would read nothing (0) there, not the answers."""
    firsts = first_months(boxes, calendar)
    issues: list[ConfigIssue] = []
    for index, kpi in entries.items():
        starts = start_month(kpi.effective_from, calendar)
        for field_name in ("numerator", "subtract", "denominator"):
            component = getattr(kpi, field_name)
            counted_from = firsts.get(component) if isinstance(component, str) else None
            if counted_from is not None and counted_from > starts:
                issues.append(
                    ListEntry("kpis", index, kpi.id).issue(
                        field_name,
                        f"'{component}' is counted from {counted_from} (survey_boxes "
                        f"effective_from), and this version applies from "
                        f"{describe_start(starts)}; give it effective_from {counted_from} or "
                        "later",
                    )
                )
    return issues


def _overlaps(entries: Mapping[int, KpiDefinition], calendar: FiscalCalendar) -> list[ConfigIssue]:
    """Two versions of a KPI that start in the same month: which one applies is unknowable.
    `entries` maps each valid entry's index in the file to it."""
    versions = {index: (kpi.id, kpi.effective_from) for index, kpi in entries.items()}
    return _same_starts("kpis", "KPI", versions, calendar, "")


def _same_starts(
    section: str,
    noun: str,
    versions: Mapping[int, tuple[str, str | None]],
    calendar: FiscalCalendar,
    or_else: str,
) -> list[ConfigIssue]:
    """Entries of `section` (index: id, effective_from) of one id that start in the same
    month; `or_else` ends the hint for an id stated twice without a start."""
    issues: list[ConfigIssue] = []
    by_id: dict[str, list[tuple[int, str | None]]] = {}
    for index, (item_id, effective_from) in versions.items():
        by_id.setdefault(item_id, []).append((index, effective_from))
    for item_id, dated in by_id.items():
        for earlier, later, month in same_start(dated, calendar):
            entry = ListEntry(section, later, item_id)
            if month == "":
                message = (
                    f"{noun} '{item_id}' is already defined at {section}[{earlier}]; give each "
                    f"{noun} its own id{or_else}"
                )
                issues.append(entry.issue("id", message))
            else:
                message = (
                    f"this version starts in {describe_start(month)}, like {section}[{earlier}] "
                    f"(effective_from {versions[earlier][1]}); give each version of a {noun} "
                    "its own start"
                )
                issues.append(entry.issue("effective_from", message))
    return issues


@dataclass(frozen=True)
class KpiCatalogue:
    """The validated KPIs, with look-up by id.

    `entries` holds every version in file order; iteration, `len`, `in` and `[id]` see one
    KPI per id, its current version (the latest `effective_from`), in the order ids first
    appear. `in_force(id, month)` and `as_of(month)` give the versions of a month.
    """

    entries: tuple[KpiDefinition, ...]
    source: str = field(default=KPI_FILE, compare=False)
    fiscal_year_start_month: int = field(default=4, compare=False)
    # The survey box counters scoring counts (survey_boxes.py); the shipped top box by default.
    survey_boxes: tuple[SurveyBox, ...] = DEFAULT_BOXES
    _dated: Mapping[str, Dated[KpiDefinition]] = field(init=False, repr=False, compare=False)
    _by_id: Mapping[str, KpiDefinition] = field(init=False, repr=False, compare=False)
    _snapshots: dict[str, "KpiCatalogue"] = field(init=False, repr=False, compare=False)
    _is_dated: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        calendar = calendar_of(self.fiscal_year_start_month)
        versions: dict[str, list[tuple[str, KpiDefinition]]] = {}
        for kpi in self.entries:
            versions.setdefault(kpi.id, []).append((start_month(kpi.effective_from, calendar), kpi))
        dated = {kpi_id: Dated.of(pairs) for kpi_id, pairs in versions.items()}
        object.__setattr__(self, "_dated", MappingProxyType(dated))
        current = {kpi_id: d.current for kpi_id, d in dated.items()}
        object.__setattr__(self, "_by_id", MappingProxyType(current))
        object.__setattr__(self, "_snapshots", {})
        object.__setattr__(
            self, "_is_dated", any(kpi.effective_from is not None for kpi in self.entries)
        )

    @classmethod
    def from_document(
        cls,
        document: object,
        *,
        source: str = KPI_FILE,
        calendar: FiscalCalendar | None = None,
    ) -> "KpiCatalogue":
        """Validate a parsed document; `InvalidConfig` lists every problem found. The
        calendar's fiscal-year start places `effective_from` periods (default April)."""
        calendar = calendar or calendar_of(4)
        raw_entries, issues = _entries(document)
        boxes, box_issues = _survey_boxes(document, calendar)
        issues += box_issues
        known = _COMPONENTS + tuple(b.id for b in boxes if b.id not in _COMPONENTS)
        kpis: dict[int, KpiDefinition] = {}
        for index, raw in enumerate(raw_entries):
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            entry = ListEntry("kpis", index, raw_id if isinstance(raw_id, str) else None)
            try:
                kpi = KpiDefinition.model_validate(raw)
            except ValidationError as exc:
                issues += [_entry_error(entry, error) for error in exc.errors(include_url=False)]
                continue
            issues += _check(entry, kpi, known)
            kpis[index] = kpi
        issues += _overlaps(kpis, calendar)
        issues += _counted_before_boxes(kpis, boxes, calendar)
        if issues:
            raise InvalidConfig(source, issues)
        return cls(tuple(kpis.values()), source, calendar.config.fiscal_year_start_month, boxes)

    @property
    def kpis(self) -> tuple[KpiDefinition, ...]:
        """Each KPI's current version, in the order ids first appear in the file."""
        return tuple(self._by_id.values())

    @property
    def dated(self) -> bool:
        """Whether any KPI has an `effective_from` (otherwise every period has the same rules)."""
        return self._is_dated

    def in_force(self, kpi_id: str, month: str) -> KpiDefinition | None:
        """The version of a KPI in force in `month` (``2024-04``); None when its first
        version starts later (`KeyError` for an unknown id)."""
        try:
            return self._dated[kpi_id].in_force(month)
        except KeyError:
            raise KeyError(f"no KPI {kpi_id!r} in {self.source}") from None

    def as_of(self, month: str) -> "KpiCatalogue":
        """The catalogue of one month: the version of each KPI in force then, undated; KPIs
        whose first version starts later are left out."""
        if not self.dated:
            return self
        if month not in self._snapshots:
            chosen = (self._dated[kpi_id].in_force(month) for kpi_id in self._by_id)
            self._snapshots[month] = KpiCatalogue(
                tuple(k for k in chosen if k is not None),
                self.source,
                self.fiscal_year_start_month,
                self.survey_boxes,
            )
        return self._snapshots[month]

    def __iter__(self) -> Iterator[KpiDefinition]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, kpi_id: object) -> bool:
        return kpi_id in self._by_id

    def __getitem__(self, kpi_id: str) -> KpiDefinition:
        try:
            return self._by_id[kpi_id]
        except KeyError:
            raise KeyError(f"no KPI {kpi_id!r} in {self.source}") from None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)


def load_catalogue(
    path: str | os.PathLike[str], *, calendar: FiscalCalendar | None = None
) -> KpiCatalogue:
    """Read and validate `kpis.yaml`; `ConfigError` naming the file, entry and field. Without
    `calendar`, the `calendar.yaml` beside it (if any) places `effective_from` periods."""
    if calendar is None:
        beside = Path(path).parent / "calendar.yaml"
        if beside.exists():
            calendar = FiscalCalendar(load_calendar(beside))
    return KpiCatalogue.from_document(read_yaml(path), source=os.fspath(path), calendar=calendar)
