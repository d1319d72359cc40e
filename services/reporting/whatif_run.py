"""Running a what-if (`kpi whatif` and the console's /whatif page): load and check a draft
profile file, choose the period, read scoring's read model and render the report. Published
nowhere, stored nowhere."""

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.kpi.config import KpiConfig
from shared.kpi.fiscal_calendar import is_window, parse_period
from shared.kpi.versions import load_definitions
from shared.messages.definitions import Definitions
from shared.service.http import BadParameter, NotFound

from .domain import ScorecardConfig, load_profiles
from .render.whatif import render_whatif
from .service import ScoresReader
from .whatif import Company, WhatIfReport, what_if


@dataclass(frozen=True)
class Draft:
    """The draft profile file, validated like `scorecards.yaml`, and its definitions version."""

    profiles: ScorecardConfig
    version: Definitions


def load_draft(config_dir: os.PathLike[str], path: str, config: KpiConfig) -> Draft:
    """Read and validate the draft against the loaded catalogue and organisation; a mistake is
    a `ConfigError` naming the draft file, the profile and the field."""
    if not os.path.isfile(path):
        raise NotFound(
            f"{path}: no such file; give a scorecard profile file (like scorecards.yaml)"
        )
    profiles = load_profiles(config_dir, config.catalogue, org=config.org, path=path)
    return Draft(profiles, load_definitions(config_dir, scorecards=path))


async def default_period(reader: ScoresReader, config: KpiConfig) -> str:
    """The last complete month by scoring's event time: the month before the latest event's."""
    clock = await reader.clock()
    latest = None if clock is None else (clock.latest or clock.low)
    if latest is None:
        raise NotFound(
            "no scores yet: scoring has applied no event, so there is nothing to compare"
        )
    return config.calendar.previous_period(config.calendar.month_of(latest))


async def run_whatif(
    reader: ScoresReader,
    *,
    config: KpiConfig,
    official: ScorecardConfig,
    draft: Draft,
    period: str | None,
    fmt: str,
    now: datetime | None = None,
) -> tuple[str, WhatIfReport]:
    """The report rendered in `fmt`, and the report."""
    if period is None:
        period = await default_period(reader, config)
    elif is_window(period):
        raise BadParameter(f"{period!r} is a rolling window; scorecards are for fiscal periods")
    else:
        try:
            parse_period(period)
        except ValueError as exc:
            raise BadParameter(str(exc)) from None
    report = await what_if(
        reader,
        period,
        official=official,
        draft=draft.profiles,
        company=Company(config.catalogue, config.calendar, config.org),
        as_of=now or datetime.now(UTC),
        official_version=config.definitions,
        draft_version=draft.version,
    )
    return render_whatif(report, fmt), report
