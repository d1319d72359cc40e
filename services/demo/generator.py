"""A deterministic, realistic event stream of the demo company (DESIGN §10, `kpi demo`).

`generate_events` yields upstream event documents (the JSON objects upstream systems publish,
DESIGN §3) in non-decreasing `occurred_at` order. The stream is a pure function of the org chart,
the seed and the scale: `start`/`end` select a window of it.

How it is built. Each local day is the *origin* of that day's business: policies issued
(with their survey answer, and, for about one in ten, the lapse, surrender or cancellation
within 13 months and sometimes a reinstatement), renewals falling due 60 days later (notice,
contacts, renewed or lost, the policy-admin `renewed` record, a survey), complaint,
compliment and request cases, and on the 1st of a month the previous month's assessments and
this month's training sessions. Each origin draws from its own random stream, keyed by the
seed and the day, so a day's business is the same whichever window asks for it; events that
fall later wait in a heap, which keeps memory flat (about one entry per renewal in progress).
A window first replays the origins whose events may reach into it, without yielding them.

Windows: consecutive windows split at local midnight concatenate to the longer window, except
that a renewal already in progress when a window starts gets its `due` event restated at the
window's start (same `event_id`, so ingest's de-duplication drops the copy), so that every
renewal outcome in a window has its `due` event in that window. Ids are derived from the origin
day, so two different seeds published into one system would reuse ids.

Business ids: new policies ``PN-YYYYMMDD-nnnnn`` and their customers ``CN-…``; an agent's book
of policies in force ``PB-<agent>-nnnn`` with customers ``CB-<agent>-nnnn`` (renewed each year on
the same date); renewals ``RN-YYYYMMDD-<agent>-nnnn`` (by due date); cases ``CS-YYYYMMDD-nnnn``;
survey responses ``SV-<policy or renewal id>``; assessments ``AS-YYYY-MM-<entity>``; training
sessions ``TR-<branch>-YYYYMM-<course>``. Event ids are ``<business id>:<action>``.

Where it lives: `profiles` (rates and traits), `sampling` (random draws), `world` (rosters),
`documents` (document type, book ids), `scheduler` (window, time, heap), `stream` (the day loop),
and one module per event family: `policies`, `renewals` with `renewal_flow`, `surveys`,
`complaints`, `assessments`, `training`.
"""

import json
import os
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from shared.config.org import OrgChart

from .documents import Document
from .profiles import DEMO_QUIET_BRANCHES
from .scheduler import Scheduler
from .stream import run
from .world import World

__all__ = ["DEFAULT_TIMEZONE", "Document", "generate_events", "volume_scale", "write_jsonl"]

DEFAULT_TIMEZONE: Final = "Asia/Tokyo"


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a UTC offset)")


def generate_events(
    org: OrgChart,
    *,
    start: datetime,
    end: datetime,
    seed: int,
    events_per_day: int | None = None,
    quiet_branches: Collection[str] = DEMO_QUIET_BRANCHES,
    timezone: str = DEFAULT_TIMEZONE,
) -> Iterator[Document]:
    """The demo company's upstream events with `start` ≤ occurred_at < `end`, oldest first.

    Each item is a JSON-ready upstream event document (money as decimal strings, timestamps
    ISO 8601 with the local offset, `schema_version` 1, unique `event_id`), a fresh dict the
    caller may keep or change. The same arguments always give the same stream. The window
    opens with the `due` notices of the renewals already in progress (about 60 days' worth of
    notices, stamped `start`); after that the volume is steady.

    - `events_per_day`: the average daily volume to aim for; business volumes (policies,
      renewals, cases, surveys) are scaled to reach it, while the monthly assessments and
      training attendances (about two per agent a month) are not. None keeps the natural
      volume (about four events per agent a day: ~3,700 a day for the demo company).
      It is computed from the whole chart, not the window, so windows still compose.
    - `quiet_branches`: branches whose agents and office send nothing (default: the demo's
      B12), so that empty KPIs and staleness can be seen.
    - `timezone`: local time of the events and of day boundaries.
    """
    _aware("start", start)
    _aware("end", end)
    if events_per_day is not None and events_per_day < 0:
        raise ValueError("events_per_day must be ≥ 0")
    zone = ZoneInfo(timezone)
    world = World(org, seed, quiet_branches)
    if events_per_day is not None:
        world.scale = _scale(world, events_per_day)
    if end <= start:
        return iter(())
    return run(Scheduler(world, start=start, end=end, zone=zone))


def _scale(world: World, events_per_day: int) -> float:
    business, fixed = world.expected_per_day()
    return max(0.0, events_per_day - fixed) / business if business > 0 else 0.0


def volume_scale(
    org: OrgChart,
    *,
    seed: int,
    events_per_day: int | None,
    quiet_branches: Collection[str] = DEMO_QUIET_BRANCHES,
) -> float:
    """How much of its natural business volume the stream of `generate_events` with these
    arguments carries (1.0 without `events_per_day`): what premiums and counts scale by."""
    if events_per_day is None:
        return 1.0
    return _scale(World(org, seed, quiet_branches), events_per_day)


def write_jsonl(events: Iterable[Mapping[str, object]], path: str | os.PathLike[str]) -> int:
    """Write one JSON object a line (UTF-8) for `kpi replay`; return how many were written."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count
