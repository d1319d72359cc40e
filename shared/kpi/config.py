"""The KPI configuration every service shares, loaded and checked once: the fiscal calendar,
the KPI catalogue, the organisation and the targets (`KPI_CONFIG_DIR`)."""

from dataclasses import dataclass
from pathlib import Path

from shared.config import OrgChart
from shared.config.loading import load_calendar, load_org
from shared.messages.definitions import Definitions

from .catalogue import KpiCatalogue, load_catalogue
from .fiscal_calendar import FiscalCalendar
from .targets import Targets, load_targets
from .versions import load_definitions


@dataclass(frozen=True)
class KpiConfig:
    """Calendar, catalogue, organisation and targets, validated together, and the version of
    the definitions (catalogue, targets and the scorecard profiles beside them)."""

    calendar: FiscalCalendar
    catalogue: KpiCatalogue
    org: OrgChart
    targets: Targets
    definitions: Definitions


def load_kpi_config(config_dir: Path) -> KpiConfig:
    """Read `calendar.yaml`, `kpis.yaml`, `org.yaml` and `targets.yaml` (and hash them with
    `scorecards.yaml`, see `versions.py`); a problem raises
    `ConfigError` naming the file, the field and the fix."""
    calendar = FiscalCalendar(load_calendar(config_dir / "calendar.yaml"))
    catalogue = load_catalogue(config_dir / "kpis.yaml", calendar=calendar)
    org = load_org(config_dir / "org.yaml")
    targets = load_targets(config_dir / "targets.yaml", catalogue=catalogue, org=org)
    return KpiConfig(
        calendar=calendar,
        catalogue=catalogue,
        org=org,
        targets=targets,
        definitions=load_definitions(config_dir),
    )
