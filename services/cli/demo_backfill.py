"""`kpi run`'s demo: publish the demo company's history, follow the services applying it, tell
when the console is worth opening, then feed the company live as its events fall due.

Every step reads what the services publish or store (consumer positions, scoring's committed
offsets, reporting's scorecards, alerts' alerts, the dead-letter topic), the same places
`kpi wait-idle`, `kpi scorecard` and `kpi alerts` read.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.alerts.store import MongoAlertStore
from services.demo.generator import Document
from services.idle import backlog_sources
from services.reporting.domain import load_profiles
from services.reporting.store import MongoScorecardStore
from shared import mongo, topics
from shared.config.org import Level
from shared.errors import StackError
from shared.idle import end_offsets, wait_idle
from shared.kafka import aiokafka_options
from shared.kpi.catalogue import load_catalogue
from shared.kpi.fiscal_calendar import FiscalCalendar, PeriodKind, parse_period
from shared.messages.alert import AlertState
from shared.settings import Settings

from .demo_feed import DemoCompany
from .progress import Progress
from .publishing import PublishTotals, producer, publish_documents

CHUNK = 5_000
_POLL_S = 2.0


def occurred(document: Document) -> datetime:
    """When an event happened (its `occurred_at`, always with an offset in the demo)."""
    return datetime.fromisoformat(str(document["occurred_at"]))


@dataclass(frozen=True)
class History:
    """What the backfill published: how many events, from when until when, the last event's
    time, and the stream's next event (the first one at or after the cut, for the live feed)."""

    published: int
    first: datetime
    cut: datetime
    next_event: Document | None
    last: datetime


async def start_empty(settings: Settings, *, drop_database: bool) -> str | None:
    """Make sure the pipeline holds nothing yet; None when it does not, else why the backfill
    must not run. With `drop_database` (kpi run started the embedded database, whose files
    outlive the embedded broker's in-memory topics), an earlier run's state is dropped: its
    consumer positions would point past the new topics' records."""
    ends = await end_offsets(settings, list(topics.UPSTREAM))
    if any(ends.values()):
        return "the broker already holds upstream events"
    client = mongo.create_client(settings, app_name="kpi-run")
    try:
        names = await client[settings.mongodb_database].list_collection_names()
        if names and drop_database:
            await client.drop_database(settings.mongodb_database)
        elif names:
            return f"the database {settings.mongodb_database!r} already holds KPI state"
    finally:
        await client.close()
    return None


async def publish_history(
    settings: Settings, stream: Iterator[Document], cut: datetime, out: TextIO
) -> History:
    """Publish the stream's events before `cut`, oldest first, in chunks; the first event at or
    after `cut` is kept for the live feed."""
    totals = PublishTotals()
    chunk: list[tuple[str, Document]] = []
    next_event: Document | None = None
    first: datetime | None = None
    last: datetime | None = None
    progress = Progress(None, out, label="publishing", rate=True)
    async with producer(settings) as client:
        for document in stream:
            if occurred(document) >= cut:
                next_event = document
                break
            last = occurred(document)
            first = first or last
            chunk.append((str(document["event_id"]), document))
            if len(chunk) >= CHUNK:
                await publish_documents(client, chunk, totals)
                chunk = []
                progress.update(totals.sent)
        await publish_documents(client, chunk, totals)
    progress.finish(totals.sent)
    if totals.failed:
        raise StackError(f"the broker refused {totals.failed} events: {totals.errors[:3]}")
    return History(totals.sent, first or cut, cut, next_event, last or cut)


async def _remaining(settings: Settings) -> int:
    """Events not yet through both ingest and scoring (each upstream event is in ingest's
    backlog, then in scoring's until applied; a dead letter leaves at ingest)."""
    sources = backlog_sources(settings, ("ingest", "scoring"))
    ends = await end_offsets(settings, sorted({t for s in sources for t in s.inputs()}))
    return sum(await asyncio.gather(*(source.backlog(ends) for source in sources)))


async def follow_applying(
    settings: Settings, published: int, out: TextIO, stopping: threading.Event
) -> None:
    """Show the services applying the history until ingest and scoring are through it, then
    wait for alerts too (every service idle twice in a row, as `kpi wait-idle`)."""
    progress = Progress(published, out, label="applying", rate=True, interval_s=5.0)
    while not stopping.is_set():
        remaining = await _remaining(settings)
        progress.update(max(0, published - remaining))
        if remaining == 0:
            break
        await asyncio.sleep(_POLL_S)
    progress.finish(published if not stopping.is_set() else max(0, published - remaining))
    if not stopping.is_set():
        await wait_idle(settings, backlog_sources(settings), timeout_s=600)


def last_closed_month(calendar: FiscalCalendar, now: datetime) -> str:
    """The month before the one `now` falls in (local time): the newest month closed at `now`.

    `kpi run` asks it of the history's last event, not of the wall clock: once the history is
    applied the close clock runs on from the last event at wall-clock speed (DESIGN §5), so a
    month whose midnight fell after the last event closes that long after the backfill is in
    (35 minutes for a last event at 23:25), and `kpi run` would wait for it."""
    return calendar.previous_period(calendar.month_of(now))


def profiled_entities(company: DemoCompany) -> list[str]:
    """Every entity that gets a scorecard (a profile in scorecards.yaml)."""
    config_dir = company.config_dir
    profiles = load_profiles(config_dir, load_catalogue(config_dir / "kpis.yaml"), org=company.org)
    return [e for level in Level for e in company.org.entities(level) if profiles.profile_for(e)]


@dataclass(frozen=True)
class Ready:
    """What the console shows once the backfill is in."""

    closed_months: list[str]
    scorecards: int
    alerts_firing: int
    dead_letters: int


async def wait_until_reported(
    settings: Settings, month: str, expected: int, stopping: threading.Event, out: TextIO
) -> None:
    """Wait for reporting to publish `month`'s scorecard of every one of `expected` entities."""
    client = mongo.create_client(settings, app_name="kpi-run")
    progress = Progress(expected, out, label=f"scorecards of {month}", interval_s=5.0)
    try:
        store = MongoScorecardStore(client, settings.mongodb_database)
        while not stopping.is_set():
            found = len(await store.latest_of_period(month))
            progress.update(found)
            if found >= expected:
                progress.finish(found)
                return
            await asyncio.sleep(_POLL_S)
    finally:
        await client.close()


async def dead_letter_count(settings: Settings) -> int:
    """How many records the dead-letter topic holds."""
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await end_offsets(settings, [topics.DEADLETTER])
        starts: Mapping[TopicPartition, int] = await consumer.beginning_offsets(list(ends))
        return sum(end - starts[tp] for tp, end in ends.items())
    finally:
        await consumer.stop()


async def what_is_ready(settings: Settings) -> Ready:
    """Closed months, scorecards, firing alerts and dead letters as the services stored them."""
    client = mongo.create_client(settings, app_name="kpi-run")
    try:
        database = settings.mongodb_database
        periods = await client[database]["scorecards"].distinct("period")
        scorecards = await client[database]["scorecards"].count_documents({})
        firing = await MongoAlertStore(client, database).list_alerts(AlertState.FIRING)
    finally:
        await client.close()
    months = sorted(str(p) for p in periods if parse_period(str(p)).kind is PeriodKind.MONTH)
    return Ready(months, scorecards, len(firing), await dead_letter_count(settings))


class LiveFeed:
    """Send the rest of the stream as the wall clock reaches each event's time; tell the
    terminal what went out, at most a line every `report_s` of the wall clock."""

    def __init__(
        self,
        out: TextIO,
        *,
        report_s: float = 60.0,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.out = out
        self.report_s = report_s
        self.sent = 0
        self._wall = wall
        self._sleep = sleep
        self._kinds: list[str] = []
        self._reported: datetime | None = None

    def _report(self, now: datetime, zone: tzinfo | None) -> None:
        last = self._reported
        if last is None or (now - last).total_seconds() >= self.report_s:
            kinds = ", ".join(sorted(set(self._kinds)))
            stamp = now.astimezone(zone).isoformat(timespec="minutes")
            self.out.write(f"live  {stamp}  +{len(self._kinds)} ({kinds}), {self.sent:,} so far\n")
            self.out.flush()
            self._kinds.clear()
            self._reported = now

    async def run(
        self,
        send: Callable[[Document], Awaitable[None]],
        stream: Iterator[Document],
        first: Document | None,
        stopping: threading.Event,
    ) -> None:
        """Until `stopping` is set or the stream ends; waits at most a second at a time, so a
        stop is seen within one."""
        document = first
        while document is not None and not stopping.is_set():
            due = occurred(document)
            wait_s = (due - self._wall()).total_seconds()
            if wait_s > 0:
                await self._sleep(min(wait_s, 1.0))
                continue
            await send(document)
            self.sent += 1
            self._kinds.append(str(document["event_type"]))
            self._report(self._wall(), due.tzinfo)
            document = next(stream, None)


async def feed_live(
    settings: Settings,
    feed: LiveFeed,
    stream: Iterator[Document],
    first: Document | None,
    stopping: threading.Event,
) -> PublishTotals:
    """`LiveFeed.run` onto the upstream topics; what was sent and what failed."""
    totals = PublishTotals()
    async with producer(settings) as client:

        async def send(document: Document) -> None:
            await publish_documents(client, [(str(document["event_id"]), document)], totals)

        await feed.run(send, stream, first, stopping)
    return totals
