"""The demo company's stream as `kpi demo` and `kpi run` read it: from the configured org chart,
in the calendar's time zone.

`kpi run` backfills the demo company's history and then goes live on the same stream: one
window of `generate_events` from the history's first day, read until now (the backfill) and
then event by event as the wall clock reaches each one (live). Its company is the configured one
cut to every n-th agent of each team (`services.demo.sizing`), written as a configuration
directory of its own for the services it starts.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import yaml

from services.demo.generator import Document, generate_events, volume_scale
from services.demo.sizing import every_nth_agent, scaled_money_targets, scaled_plans
from shared.config import OrgChart
from shared.config.loading import load_calendar, load_org, read_yaml
from shared.errors import ConfigError
from shared.kpi.catalogue import load_catalogue
from shared.settings import Settings

DEMO_SEED: Final = 7
# What `kpi run` backfills by default, measured in docs/demo.md: every 14th agent of each team
# of config/org.yaml (83 agents in all 38 teams), 80 events a day (about a quarter of their
# natural volume), and the 13 months before the last closed month: some 37,000 events.
DEMO_AGENTS_EVERY: Final = 14
DEMO_EVENTS_PER_DAY: Final = 80
DEMO_BACKFILL_MONTHS: Final = 13
# How far past its start the stream is generated: live goes on at most this long.
_STREAM_DAYS: Final = 3 * 366


def demo_documents(settings: Settings, start: str, days: int, seed: int) -> Iterator[Document]:
    """The upstream documents of `days` local days from `start` (YYYY-MM-DD), oldest first."""
    org = load_org(settings.config_dir / "org.yaml")
    calendar = load_calendar(settings.config_dir / "calendar.yaml")
    zone = ZoneInfo(calendar.timezone)
    first = datetime.combine(date.fromisoformat(start), time(), zone)
    return generate_events(org, start=first, end=first + timedelta(days=days), seed=seed)


def history_start(now: datetime, months: int) -> datetime:
    """The first local midnight of the month `months` before the last closed month of `now`
    (in `now`'s time zone): so that the last closed month's 13-month persistency has its whole
    cohort (policies issued 13 months before it) when `months` is 13."""
    index = now.year * 12 + now.month - 1 - (months + 1)
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=now.tzinfo)


@dataclass(frozen=True)
class DemoCompany:
    """The demo company `kpi run` feeds: its chart, its configuration directory, its volume."""

    org: OrgChart
    config_dir: Path
    timezone: str
    events_per_day: int | None
    agents_every: int

    def stream(self, start: datetime, seed: int = DEMO_SEED) -> Iterator[Document]:
        """The company's events from `start` on, oldest first (the backfill, then live)."""
        return generate_events(
            self.org,
            start=start,
            end=start + timedelta(days=_STREAM_DAYS),
            seed=seed,
            events_per_day=self.events_per_day,
            timezone=self.timezone,
        )


def write_demo_config(
    source: Path, target: Path, *, agents_every: int, events_per_day: int | None
) -> DemoCompany:
    """Copy the configuration directory `source` to `target`, with `org.yaml` cut to every
    n-th agent of each team, and `targets.yaml`'s premium plans and `scorecards.yaml`'s money
    targets cut to the share of agents kept and of the natural volume `events_per_day` carries
    (`services.demo.sizing`), so that attainment reads as it would for the whole company at
    its natural volume."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    has_targets = (source / "targets.yaml").exists()
    org_document, targets_document = every_nth_agent(
        _mapping(read_yaml(source / "org.yaml")),
        _mapping(read_yaml(source / "targets.yaml")) if has_targets else {},
        agents_every,
    )
    org = OrgChart.from_document(org_document, source=str(target / "org.yaml"))
    scale = volume_scale(org, seed=DEMO_SEED, events_per_day=events_per_day)
    volume = Decimal(str(round(scale, 6)))
    share = Decimal(len(org.agent_ids)) / len(load_org(source / "org.yaml").agent_ids)
    money = {kpi.id for kpi in load_catalogue(source / "kpis.yaml") if str(kpi.unit) == "money"}
    written: dict[str, object] = {
        "org.yaml": org_document,
        "scorecards.yaml": scaled_money_targets(
            _mapping(read_yaml(source / "scorecards.yaml")), money, share=share, volume=volume
        ),
    }
    if has_targets:
        written["targets.yaml"] = scaled_plans(targets_document, volume)
    note = (
        f"# Written by `kpi run` from {source.resolve()}: every {agents_every}th agent of each"
        " team;\n# headcounts, premium plans and money targets cut to the share of agents kept"
        f" and × {volume:.3f},\n# the share of the natural volume the demo stream carries."
        " Edit the source instead.\n"
    )
    for name, document in written.items():
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
        (target / name).write_text(note + text, encoding="utf-8")
    calendar = load_calendar(target / "calendar.yaml")
    return DemoCompany(
        org=load_org(target / "org.yaml"),
        config_dir=target,
        timezone=calendar.timezone,
        events_per_day=events_per_day,
        agents_every=agents_every,
    )


def _mapping(document: object) -> dict[str, object]:
    if not isinstance(document, dict):
        raise ConfigError(
            "expected a mapping at the top of org.yaml, targets.yaml, scorecards.yaml"
        )
    return document
