"""`make run`'s command as a person uses it, with a short backfill: it starts the stack and the
four services, backfills the demo company's history, says when it is ready and prints where to
look with the console first; the history is applied exactly (no dead letter, every counter equal
to the plain-Python reference, KPI values with them), months are closed with every entity's
scorecard; a manager clicks through the console in a real browser; and Ctrl-C stops everything
it started.

The history is two months before the last closed month of a small cut of the demo company
(every 30th agent of each team, 60 events a day), so the test takes a minute or two; `make run`
backfills 13 months of a larger cut (docs/demo.md).
"""

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.cli.demo_backfill import profiled_entities
from services.cli.demo_feed import DemoCompany
from shared import topics
from shared.config.loading import load_calendar, load_org
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.localstack import LocalStack
from shared.settings import SERVICE_NAMES, Settings
from tests.support.pipeline_runs import (
    assert_same,
    dead_letters,
    kpi,
    records_of,
    reference,
    scorecards,
    scoring_state,
)
from tests.support.reference_scoring import Counters
from tests.support.scorecard_browser import ConsoleWalk, chromium_path, console_walk
from tests.support.stack_fixtures import _test_settings, service_env

pytestmark = pytest.mark.e2e

MONTHS = 2
DEMO_ARGS = ("--months", str(MONTHS), "--agents-every", "30", "--events-per-day", "60", "--no-live")
READY = re.compile(
    r"Ready in \d+s: (?P<events>[\d,]+) events since (?P<first>\S+) applied, "
    r"(?P<letters>\d+) dead letters; (?P<months>\d+) closed months \((?P<oldest>\S+) … "
    r"(?P<newest>\S+)\), (?P<cards>[\d,]+) scorecards, (?P<alerts>\d+) alerts firing\."
)


@dataclass
class DemoRun:
    child: subprocess.Popen[str]
    settings: Settings
    env: dict[str, str]
    output: str
    ready: re.Match[str]
    company: DemoCompany
    calendar: FiscalCalendar


def _read_until(child: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    """The child's output up to the line holding `marker`; fails after `timeout_s` even while
    the child prints nothing (a thread reads, so a silent child cannot block the test)."""
    assert child.stdout is not None
    stdout = child.stdout
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stdout:
            lines.put(line)
        lines.put("")  # the end of the output

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    pytest.fail(f"{marker!r} not printed within {timeout_s}s; output so far:\n{''.join(seen)}")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    state = tmp_path_factory.mktemp("kpi-run")
    settings = _test_settings(state)
    env = service_env(settings)
    child = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "run", *DEMO_ARGS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = _read_until(child, "Ctrl-C stops everything", timeout_s=600)
        ready = READY.search(output)
        assert ready is not None, output
        config = state / "demo-config"
        calendar = load_calendar(config / "calendar.yaml")
        company = DemoCompany(load_org(config / "org.yaml"), config, calendar.timezone, 60, 30)
        yield DemoRun(child, settings, env, output, ready, company, FiscalCalendar(calendar))
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        LocalStack(settings).down()


def _months(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _next_month(month: str) -> str:
    year, number = map(int, month.split("-"))
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _periods_ending(demo_run: DemoRun, month: str) -> list[str]:
    """The quarter, half and year that close with the month after `month`."""
    following = _next_month(month)
    close = demo_run.calendar.period_close(following)
    return [
        p
        for p in demo_run.calendar.periods_of_month(following)
        if demo_run.calendar.period_close(p) == close
    ]


def test_the_console_comes_first_and_every_service_answers(demo_run: DemoRun) -> None:
    """(The console's pages are another issue's: only that its URL leads the list.)"""
    console = f"http://127.0.0.1:{demo_run.settings.http_port_for('reporting')}/"
    where = demo_run.output.split("Where to look:", 1)[1].strip().splitlines()
    assert where[0].split() == ["console", console]
    assert f"The console: {console}" in demo_run.output.split("Backfilling", 1)[0]
    for name in SERVICE_NAMES:
        base = f"http://127.0.0.1:{demo_run.settings.http_port_for(name)}"
        assert f"{base}/metrics" in demo_run.output
        assert httpx.get(f"{base}/readyz").status_code == 200
    assert "applying" in demo_run.output  # the backfill's progress
    assert f"KPI_CONFIG_DIR={demo_run.company.config_dir} kpi scores" in demo_run.output


async def test_the_history_is_applied_exactly(demo_run: DemoRun) -> None:
    published = int(demo_run.ready["events"].replace(",", ""))
    assert published > 1_000
    assert demo_run.ready["letters"] == "0"
    assert await dead_letters(demo_run.settings) == []
    canonical = await records_of(demo_run.settings, topics.EVENTS)
    assert len(canonical) == published, "an event was lost or doubled on the way"
    assert_same(
        await scoring_state(demo_run.settings),
        await reference(demo_run.settings, demo_run.calendar),
    )


async def test_months_are_closed_with_every_entitys_scorecard(demo_run: DemoRun) -> None:
    first = datetime.fromisoformat(demo_run.ready["first"])
    newest = demo_run.ready["newest"]
    horizon = demo_run.calendar.months_of(
        demo_run.calendar.fiscal_year_of_month(first.strftime("%Y-%m"))
    )[0]
    assert demo_run.ready["oldest"] == horizon
    closed = _months(horizon, newest)
    assert len(closed) >= MONTHS + 1
    assert demo_run.ready["months"] == str(len(closed))
    cards = await scorecards(demo_run.settings, {})
    # `kpi run` waits for the month closed by the history's last event. The next month may
    # close while the tests run (its midnight came after the last event, and the close clock
    # runs on at the wall clock's speed from there): its cards are left out.
    closing = demo_run.calendar.period_close(newest)
    later = [c for c in cards if demo_run.calendar.period_close(c["period"]) > closing]
    assert {c["period"] for c in later} <= {_next_month(newest), *_periods_ending(demo_run, newest)}
    cards = [c for c in cards if c not in later]
    months = {c["period"] for c in cards if re.fullmatch(r"\d{4}-\d{2}", c["period"])}
    assert months == set(closed)
    entities = set(profiled_entities(demo_run.company))
    for month in (newest, first.strftime("%Y-%m")):
        assert {c["entity"] for c in cards if c["period"] == month} == entities
    assert len({c["scorecard_id"] for c in cards}) == int(demo_run.ready["cards"].replace(",", ""))


def _scores(demo_run: DemoRun, entity: str, period: str) -> dict[str, dict[str, Any]]:
    # The demo company's configuration, as `kpi run`'s "where to look" says.
    env = demo_run.env | {"KPI_CONFIG_DIR": str(demo_run.company.config_dir)}
    shown = kpi(env, "scores", "--entity", entity, "--period", period, "--json")
    assert shown.returncode == 0, shown.stderr
    return {s["kpi"]: s for s in json.loads(shown.stdout)}


def _ratio(counters: Counters, entity: str, month: str, num: str, den: str) -> Decimal | None:
    n, d = counters.get((entity, month, num), 0), counters.get((entity, month, den), 0)
    if d == 0:
        return None
    return (Decimal(n) / Decimal(d)).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)


async def test_kpi_values_equal_the_reference(demo_run: DemoRun) -> None:
    expected = await reference(demo_run.settings, demo_run.calendar)
    month = demo_run.ready["newest"]
    cards = {c["entity"]: c for c in await scorecards(demo_run.settings, {"period": month})}
    for entity in ("company:ACME", "region:R1", "branch:B03"):
        scores = _scores(demo_run, entity, month)
        for kpi_id, num, den in (
            ("renewal_rate", "renewal_renewed", "renewal_due"),
            ("survey_top_box", "survey_top_box", "survey_responses"),
        ):
            value = scores[kpi_id]["value"]
            want = _ratio(expected, entity, month, num, den)
            assert (None if value is None else Decimal(value)) == want, (entity, kpi_id)
        assert scores["renewal_rate"]["denominator"] is not None
        compliments = expected.get((entity, month, "compliments"), 0)
        assert Decimal(scores["compliments"]["value"]) == compliments
        lines = {line["kpi"]: line for line in cards[entity]["kpis"]}
        for kpi_id, line in lines.items():
            if kpi_id in scores and line["actual"] is not None:
                assert Decimal(line["actual"]) == Decimal(scores[kpi_id]["value"]), kpi_id


def _in_language(url: str) -> tuple[str, dict[str, list[str]], str]:
    """A console URL's path, its query without the language, and the language."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    language = query.pop("lang", ["en"])[0]
    return parts.path, query, language


async def _down_to(walk: ConsoleWalk, level: str) -> None:
    """Click the first entity below that leads somewhere: a team without agents on the day
    shown is stepped back out of, and the next one tried."""
    below = walk.page.locator("table.children tr[data-entity] th a")
    for index in range(await below.count()):
        stop = await walk.click(below.nth(index), level)
        if level == "agent" or await below.count() > 0:
            return
        await walk.back(f"{level}-left")
        assert stop.url != walk.page.url
    pytest.fail(f"no {level} with anything below it on {walk.page.url}")


async def _open_a_scorecard(walk: ConsoleWalk) -> None:
    """The agent's HTML scorecard, else (no profile for agents) its branch's, by the crumbs."""
    html = walk.page.locator("table.scorecard-links a", has_text="HTML")
    if not await html.count():
        await walk.click(walk.page.locator("p.crumbs a").nth(2), "branch-again")
    assert await html.count(), f"no scorecard on {walk.page.url}"
    await walk.click(html.first, "scorecard")


async def test_a_manager_clicks_through_the_console(demo_run: DemoRun, tmp_path: Path) -> None:
    """One URL typed (/), then only clicks: the organisation down to an agent, a scorecard,
    back, the switcher to Japanese and Chinese, the alerts, data-quality and pipeline pages.
    No console error, nothing from another host, no empty box for a CJK character."""
    executable = chromium_path()
    if executable is None:
        message = "Debian's chromium is not installed (/usr/bin/chromium); run `make tools`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    base = f"http://127.0.0.1:{demo_run.settings.http_port_for('reporting')}"
    async with console_walk(tmp_path, executable=executable) as walk:
        page = walk.page
        await walk.open(f"{base}/", "overview")
        await walk.click(page.locator("nav.pages a").nth(1), "company")
        for level in ("region", "branch", "team", "agent"):
            await _down_to(walk, level)
        agent = walk.stops[-1]
        await _open_a_scorecard(walk)
        await walk.back("before-scorecard")
        await walk.click(page.locator("nav.languages a[hreflang=ja]"), "ja")
        await walk.click(page.locator("nav.languages a[hreflang=zh]"), "zh")
        for index, name in ((3, "alerts"), (4, "data-quality"), (5, "pipeline")):
            await walk.click(page.locator("nav.pages a").nth(index), name)
        await walk.click(page.locator("nav.languages a[hreflang=ja]"), "pipeline-ja")
        lags = await page.locator("table.services td.lag").all_inner_texts()
        rates = await page.locator("table.services td.rate").all_inner_texts()
        latencies = await page.locator("table.services td.latency").all_inner_texts()

    assert walk.console_errors == []
    assert walk.page_errors == []
    assert [url for url in walk.requests if not url.startswith(f"{base}/")] == []
    assert [(s.name, s.tofu) for s in walk.stops if s.tofu] == []
    path = {s.name: s.url.removeprefix(base) for s in walk.stops}
    assert path["company"] == "/org/company:ACME"
    for level in ("region", "branch", "team", "agent"):
        assert path[level].startswith(f"/org/{level}:"), path
    assert agent.name == "agent"
    assert path["scorecard"].startswith("/api/v1/scorecards/")
    assert path["scorecard"].endswith("format=html")
    came_back = path["before-scorecard"]
    assert came_back in (path["agent"], path.get("branch-again"))
    assert _in_language(path["ja"]) == (*_in_language(came_back)[:2], "ja")
    assert _in_language(path["zh"]) == (*_in_language(came_back)[:2], "zh")
    languages = {s.name: (s.lang, s.heading) for s in walk.stops}
    assert (languages["ja"][0], languages["zh"][0]) == ("ja", "zh-Hans")
    assert languages["alerts"] == ("zh-Hans", "告警")
    assert languages["data-quality"] == ("zh-Hans", "数据质量")
    assert languages["pipeline"] == ("zh-Hans", "处理管道")
    assert languages["pipeline-ja"] == ("ja", "パイプライン")
    # The backfill is in and nothing is live: every service has read everything.
    assert lags == ["0", "0", "0", "0"]
    assert all(rate.split()[0] != "—" for rate in rates), rates  # two samples at least
    assert all(not latency.startswith("—") for latency in latencies[:3]), latencies


def test_ctrl_c_stops_everything_it_started(demo_run: DemoRun) -> None:
    stack = LocalStack(demo_run.settings)
    assert all(stack.status().values())
    demo_run.child.send_signal(signal.SIGINT)
    assert demo_run.child.wait(timeout=30) == 0
    assert not any(stack.status().values()), "the broker and database must be stopped"
    for name in SERVICE_NAMES:
        with pytest.raises(httpx.TransportError):
            httpx.get(
                f"http://127.0.0.1:{demo_run.settings.http_port_for(name)}/healthz", timeout=1
            )
    assert os.path.isdir(demo_run.company.config_dir)
