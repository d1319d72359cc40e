"""`kpi run`: the local stack, the four services and the demo company, stopped by Ctrl-C.

With the demo (the default), the services get a demo configuration of their own (the
configured company cut to every n-th agent, `demo_feed`), the demo company's history is
backfilled and followed until the console is worth opening (closed months, scorecards,
alerts), the console's URL is printed first, and the company then goes on live.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import IO, Any
from zoneinfo import ZoneInfo

from services.demo.generator import Document
from shared.config.loading import load_calendar
from shared.config.org import Level
from shared.errors import StackError
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.localstack import Component, LocalStack
from shared.settings import SERVICE_NAMES, Settings

from .demo_backfill import (
    History,
    LiveFeed,
    Ready,
    feed_live,
    follow_applying,
    last_closed_month,
    profiled_entities,
    publish_history,
    start_empty,
    wait_until_reported,
    what_is_ready,
)
from .demo_feed import (
    DEMO_AGENTS_EVERY,
    DEMO_BACKFILL_MONTHS,
    DEMO_EVENTS_PER_DAY,
    DemoCompany,
    history_start,
    write_demo_config,
)

READY_TIMEOUT_S = 60.0
# Reporting looks for periods to close this often in the demo (unless KPI_REPORTING_TICK_S
# says otherwise), so the scorecards follow the backfill closely.
DEMO_REPORTING_TICK_S = "10"


@dataclass(frozen=True)
class DemoOptions:
    """How big the demo company is and how much history it brings (`kpi run` options)."""

    months: int = DEMO_BACKFILL_MONTHS
    agents_every: int = DEMO_AGENTS_EVERY
    events_per_day: int | None = DEMO_EVENTS_PER_DAY
    live: bool = True


def _get(url: str, timeout: float = 1.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our URL
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


class LocalRun:
    """Supervises the stack, one process per service and the demo company."""

    def __init__(self, settings: Settings, *, demo: DemoOptions | None) -> None:
        self.settings = settings
        self.demo = demo
        self.stack = LocalStack(settings)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: list[IO[bytes]] = []
        self.started_stack: list[Component] = []
        self._stopping = threading.Event()
        self._company: DemoCompany | None = None
        self._stream: Iterator[Document] | None = None
        self._next_live: Document | None = None

    def _base_url(self, service: str) -> str:
        return f"http://{self.settings.http_host}:{self.settings.http_port_for(service)}"

    @property
    def console_url(self) -> str:
        """The console: reporting's `/`."""
        return self._base_url("reporting") + "/"

    def _service_env(self) -> dict[str, str]:
        env = os.environ.copy()
        if self._company is not None:
            env["KPI_CONFIG_DIR"] = str(self._company.config_dir)
            env.setdefault("KPI_REPORTING_TICK_S", DEMO_REPORTING_TICK_S)
        return env

    def _start_services(self) -> None:
        logs = self.stack.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = self._service_env()
        for name in SERVICE_NAMES:
            port = self.settings.http_port_for(name)
            log = (logs / f"{name}.log").open("ab")
            self.logs.append(log)
            self.children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter
                [sys.executable, "-m", "services.cli.main", "serve", name, "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        waiting = set(SERVICE_NAMES)
        while waiting and time.monotonic() < deadline and not self._stopping.is_set():
            self._check_children()
            for name in sorted(waiting):
                if _get(self._base_url(name) + "/readyz") == 200:
                    waiting.discard(name)
            time.sleep(0.3)
        if waiting and not self._stopping.is_set():
            raise StackError(
                f"not ready after {READY_TIMEOUT_S:.0f}s: {', '.join(sorted(waiting))}"
            )

    def _check_children(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                raise StackError(
                    f"service {name} exited with code {child.returncode}; "
                    f"see {self.stack.state_dir / 'logs' / (name + '.log')}"
                )

    def _print_urls(self, ready: Ready | None) -> None:
        print("\nWhere to look:\n")
        print(f"  console    {self.console_url}")
        if ready is not None and ready.closed_months and self._company is not None:
            branch, month = self._company.org.entities(Level.BRANCH)[0], ready.closed_months[-1]
            print(
                f"  scorecard  {self._base_url('reporting')}/scorecards/{branch}/{month}"
                "?format=html&lang=ja"
            )
            print(
                f"  kpi        KPI_CONFIG_DIR={self._company.config_dir} kpi scores "
                f"--entity {branch} --period {month}   (the demo company's configuration)"
            )
        for name in SERVICE_NAMES:
            base = self._base_url(name)
            print(f"  {name:10} {base}/metrics   {base}/healthz   {base}/readyz")
        print(f"\n  Kafka      {self.settings.kafka_bootstrap_servers}")
        print(f"  MongoDB    {self.settings.mongodb_uri.get_secret_value()}")
        print(f"  logs       {self.stack.state_dir / 'logs'}")
        if self._company is not None:
            company = self._company
            print(
                f"  demo       {len(company.org.agent_ids)} agents (every {company.agents_every}"
                f"th of each team of {self.settings.config_dir / 'org.yaml'}), configuration in "
                f"{company.config_dir}"
            )
            if self.demo is not None and self.demo.live and self._next_live is not None:
                volume = (
                    f"about {company.events_per_day:,} a day"
                    if company.events_per_day
                    else "at its natural volume"
                )
                print(
                    f"  live       its events as their time comes ({volume}, in office hours "
                    f"of {company.timezone})"
                )
        print("\nCtrl-C stops everything.\n", flush=True)

    async def _backfill(self, company: DemoCompany, months: int) -> History | None:
        zone = ZoneInfo(company.timezone)
        now = datetime.now(zone)
        start = history_start(now, months)
        self._stream = company.stream(start)
        print(
            f"\nBackfilling the demo company from {start:%Y-%m-%d} to now ({now:%Y-%m-%d %H:%M} "
            f"{company.timezone}): {len(company.org.agent_ids)} agents, "
            f"{company.events_per_day or 'natural volume of'} events a day",
            flush=True,
        )
        history = await publish_history(self.settings, self._stream, now, sys.stdout)
        self._next_live = history.next_event
        print(f"published {history.published:,} events; the services apply them:", flush=True)
        await follow_applying(self.settings, history.published, sys.stdout, self._stopping)
        if self._stopping.is_set():
            return None
        calendar = FiscalCalendar(load_calendar(company.config_dir / "calendar.yaml"))
        month = last_closed_month(calendar, history.last)
        await wait_until_reported(
            self.settings, month, len(profiled_entities(company)), self._stopping, sys.stdout
        )
        return history

    def _print_ready(self, history: History, ready: Ready, seconds: float) -> None:
        months = ready.closed_months
        closed = f"{len(months)} closed months ({months[0]} … {months[-1]})" if months else "none"
        print(
            f"\nReady in {seconds:.0f}s: {history.published:,} events since "
            f"{history.first:%Y-%m-%d} applied, {ready.dead_letters} dead letters; "
            f"{closed}, {ready.scorecards:,} scorecards, {ready.alerts_firing} alerts firing.",
            flush=True,
        )

    async def _feed(self) -> None:
        if self._stream is None:
            return
        feed = LiveFeed(sys.stdout)
        totals = await feed_live(self.settings, feed, self._stream, self._next_live, self._stopping)
        print(f"live feed: sent {totals.sent}, failed {totals.failed}", flush=True)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping.set()

    def _shutdown(self) -> None:
        print("\nstopping services…", flush=True)
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            if child.poll() is None:
                child.kill()
                child.wait()
        for log in self.logs:
            log.close()
        for component in self.started_stack:
            self.stack.processes[component].stop()
        if self.started_stack:
            print("stopped the local broker and database", flush=True)

    def run(self) -> int:
        """Run until Ctrl-C or SIGTERM; always leave nothing behind that we started."""
        previous: dict[int, Any] = {
            s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)
        }
        started = time.monotonic()
        try:
            self.started_stack = [c for c in Component if self.stack.start_component(c)]
            asyncio.run(self._stack_ready())
            why_not = self._prepare_demo()
            self._start_services()
            self._wait_ready()
            if self._stopping.is_set():
                return 130
            print(f"All four services are ready ({time.monotonic() - started:.1f}s).", flush=True)
            ready = self._demo_history(why_not, started)
            if self._stopping.is_set():
                return 130
            self._print_urls(ready)
            if self.demo is not None and self.demo.live:
                asyncio.run(self._feed())
            while not self._stopping.is_set():
                self._check_children()
                time.sleep(0.5)
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _prepare_demo(self) -> str | None:
        """Write the demo configuration and empty the pipeline; why the backfill cannot run."""
        if self.demo is None:
            return "the demo is off"
        self._company = write_demo_config(
            self.settings.config_dir,
            self.stack.state_dir / "demo-config",
            agents_every=self.demo.agents_every,
            events_per_day=self.demo.events_per_day,
        )
        fresh = Component.KAFKA in self.started_stack and Component.MONGODB in self.started_stack
        return asyncio.run(start_empty(self.settings, drop_database=fresh))

    def _demo_history(self, why_not: str | None, started: float) -> Ready | None:
        if self.demo is None or self._company is None:
            return None
        if why_not is not None:
            print(f"No backfill: {why_not} (start from a stopped stack to backfill).")
            self._stream = self._company.stream(datetime.now(ZoneInfo(self._company.timezone)))
            self._next_live = next(self._stream, None)
            return None
        print(f"\nThe console: {self.console_url} (worth opening once the history is in)")
        history = asyncio.run(self._backfill(self._company, self.demo.months))
        if history is None:
            return None
        ready = asyncio.run(what_is_ready(self.settings))
        self._print_ready(history, ready, time.monotonic() - started)
        return ready

    async def _stack_ready(self) -> None:
        await asyncio.gather(*(self.stack.wait_ready(c) for c in Component))
        await self.stack.create_topics()
