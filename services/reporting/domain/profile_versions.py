"""Checks of effective-dated profiles (`effective_from`, see `shared/kpi/effective.py`): two
versions of a profile may not start in the same month, and a version may only weigh KPIs the
catalogue defines when it starts."""

from typing import Any

from shared.config.issues import ConfigIssue
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.effective import BEGINNING, describe_start, same_start, start_month
from shared.kpi.fiscal_calendar import FiscalCalendar

from .config_models import ProfileDocument


def dating_issues(
    where: str, profile: ProfileDocument, catalogue: KpiCatalogue, calendar: FiscalCalendar
) -> list[ConfigIssue]:
    """A dated catalogue: every KPI the profile version weighs must be defined when the
    version starts (a KPI, once defined, stays defined)."""
    start = start_month(profile.effective_from, calendar)
    defined = catalogue.as_of(start)
    issues: list[ConfigIssue] = []
    for index, entry in enumerate(profile.kpis):
        if entry.kpi in catalogue and entry.kpi not in defined:
            first = min(
                start_month(k.effective_from, calendar)
                for k in catalogue.entries
                if k.id == entry.kpi
            )
            issues.append(
                ConfigIssue(
                    f"{where}.kpis[{index}].kpi",
                    f"{entry.kpi} is defined only from {first} (kpis.yaml: effective_from), "
                    f"but this version of the profile applies from {describe_start(start)}; "
                    f"give the profile a version with effective_from {first} that weighs it",
                )
            )
    return issues


def profile_overlaps(
    versions: list[tuple[int, str, str | None]], calendar: FiscalCalendar, raw: list[Any]
) -> list[ConfigIssue]:
    """Two versions of a profile starting in the same month."""
    issues: list[ConfigIssue] = []
    by_id: dict[str, list[tuple[int, str | None]]] = {}
    for index, profile_id, effective_from in versions:
        by_id.setdefault(profile_id, []).append((index, effective_from))
    for profile_id, dated in by_id.items():
        for earlier, later, month in same_start(dated, calendar):
            where = f"profiles[{later}] ({profile_id})"
            if month == BEGINNING:
                issues.append(
                    ConfigIssue(
                        f"{where}.id",
                        f"profile '{profile_id}' is already defined at profiles[{earlier}]"
                        "; give each profile its own id",
                    )
                )
            else:
                shown = raw[earlier].get("effective_from")
                issues.append(
                    ConfigIssue(
                        f"{where}.effective_from",
                        f"this version starts in {month}, like profiles[{earlier}] "
                        f"(effective_from {shown}); give each version of a profile its own "
                        "start",
                    )
                )
    return issues
