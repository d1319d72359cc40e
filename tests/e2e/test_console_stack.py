"""The console and `/api/v1` on the real local stack: ingest, scoring, alerts and reporting as
processes, two weeks of the demo company around a month end, and three records ingest refuses.
Every figure the API and the pages show is the one the published read models hold (scoring's
`mongo_score_queries`, the alerts service's `mongo_alert_queries`, the stored scorecards), the
dead letters are counted by reason, and no customer id of the stream appears anywhere."""

import asyncio
import json
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.alerts.read_model import mongo_alert_queries
from services.demo.generator import generate_events
from services.reporting.domain import load_profiles
from services.reporting.reads import score_out
from services.reporting.render.numbers import in_unit
from services.scoring.read_model import mongo_score_queries
from shared.config.loading import load_org
from shared.config.org import Level
from shared.kpi.config import load_kpi_config
from shared.localstack import LocalStack
from shared.messages.alert import AlertState
from shared.settings import Settings
from tests.support.pipeline_runs import scorecards, serve, stop, wait_idle
from tests.support.scorecard_browser import BrowserVisit, chromium_path, visit
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import publish_raw

pytestmark = pytest.mark.e2e

TOKYO: Final = ZoneInfo("Asia/Tokyo")
CONFIG: Final = load_kpi_config(Path("config"))
CLOSED: Final = "2025-02"
REFUSED: Final = [
    b"{not json",
    b'{"event_type": "policy", "broken": ',
    json.dumps(
        {
            "event_id": "console-unknown-agent-1",
            "event_type": "policy",
            "schema_version": 1,
            "occurred_at": "2025-03-02T10:00:00+09:00",
            "source": "policy-admin",
            "agent_id": "A9999",
            "policy_id": "P-CONSOLE-1",
            "customer_id": "C-CONSOLE-SECRET-1",
            "action": "issued",
            "product_line": "auto",
            "premium": "100000",
            "currency": "JPY",
            "channel": "online",
            "new_business": True,
        }
    ).encode(),
]


async def _until(http: httpx.AsyncClient, path: str, done: Any, timeout_s: float) -> Any:
    """GET `path` until `done(json)` holds; the last answer."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        answer = await http.get(path)
        body = answer.json() if answer.status_code == 200 else None
        if body is not None and done(body):
            return body
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{path} did not get there in {timeout_s}s: {answer.text[:500]}")
        await asyncio.sleep(1)


def _profiled() -> int:
    """How many entities have a scorecard profile (each gets a scorecard at every close)."""
    profiles = load_profiles(Path("config"), CONFIG.catalogue, org=CONFIG.org)
    return sum(
        1
        for level in Level
        for entity in CONFIG.org.entities(level)
        if profiles.profile_for(entity) is not None
    )


def _documents() -> list[dict[str, Any]]:
    org = load_org(Path("config/org.yaml"))
    return list(
        generate_events(
            org,
            start=datetime(2025, 2, 20, tzinfo=TOKYO),
            end=datetime(2025, 3, 6, tzinfo=TOKYO),
            seed=5,
            events_per_day=400,
        )
    )


async def _read_models(settings: Settings) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(), tz_aware=True
    )
    try:
        scores = mongo_score_queries(client, settings.mongodb_database, CONFIG)
        alerts = mongo_alert_queries(client, settings.mongodb_database)
        clock = await scores.clock()
        assert clock is not None
        assert clock.latest is not None
        month = CONFIG.calendar.month_of(clock.latest)
        return {
            "month": month,
            "branch": await scores.current_scores("branch:B01", CLOSED),
            "company": await scores.current_scores("company:ACME", CLOSED),
            "company_now": await scores.current_scores("company:ACME", month),
            "firing": await alerts.alerts(AlertState.FIRING),
        }
    finally:
        await client.close()


def _json(scores: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(score_out(s).model_dump_json()) for s in scores]


LANGUAGES: Final = ("en", "zh", "ja")
# KPI_CONSOLE_SCREENSHOTS=docs/console refreshes the committed screenshots from this run.
SCREENSHOTS: Final = os.environ.get("KPI_CONSOLE_SCREENSHOTS")


def _browser() -> str:
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (/usr/bin/chromium); run `make tools`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


async def _browse(
    base: str, agent: str, folder: Path, executable: str
) -> dict[tuple[str, str], BrowserVisit]:
    """A manager's way through the console in each language: the overview, the drill-down to
    one agent, a branch's scorecard, the alerts, data-quality and pipeline pages."""
    pages = {
        "overview": "/",
        "agent": f"/org/{agent}?period={CLOSED}",
        "scorecard": f"/api/v1/scorecards/branch:B01/{CLOSED}?format=html",
        "alerts": "/alerts",
        "data-quality": "/data-quality",
        "pipeline": "/pipeline",
    }
    seen: dict[tuple[str, str], BrowserVisit] = {}
    for language in LANGUAGES:
        for name, path in pages.items():
            url = f"{base}{path}{'&' if '?' in path else '?'}lang={language}"
            shot = folder / f"{name}-{language}.png"
            seen[(name, language)] = await visit(url, shot, executable=executable)
    if SCREENSHOTS:
        await asyncio.to_thread(_keep, [folder / f"{n}-{lang}.png" for n, lang in seen])
    return seen


def _keep(shots: list[Path]) -> None:
    target = Path(str(SCREENSHOTS))
    target.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        shutil.copyfile(shot, target / shot.name)


async def test_the_api_and_the_console_show_what_the_read_models_hold(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    executable = _browser()
    env = service_env(settings) | {"KPI_REPORTING_TICK_S": "1", "KPI_ALERTS_TICK_S": "5"}
    children = [
        serve(name, env, tmp_path / f"{name}.log")
        for name in ("ingest", "scoring", "alerts", "reporting")
    ]
    documents = _documents()
    customers = {str(d["customer_id"]) for d in documents if d.get("customer_id")}
    base = f"http://127.0.0.1:{settings.http_port_for('reporting')}"
    try:
        await publish_raw(settings, [json.dumps(d).encode() for d in documents])
        await publish_raw(settings, REFUSED)
        await wait_idle(env, "ingest", "scoring", "alerts")
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            # Every entity with a profile gets its scorecard in one close; wait for the last.
            profiled = _profiled()
            await _until(http, "/api/v1/periods", lambda b: CLOSED in b["periods"], 300)
            await _until(
                http,
                f"/api/v1/scorecards?period={CLOSED}",
                lambda b: len(b["scorecards"]) >= profiled,
                120,
            )
            letters = await _until(http, "/api/v1/deadletters", lambda b: b["total"] >= 3, 60)
            expected = await _read_models(settings)

            branch = (await http.get(f"/api/v1/scores/branch:B01/{CLOSED}")).json()
            hierarchy = (
                await http.get("/api/v1/hierarchy", params={"period": CLOSED, "depth": 1})
            ).json()
            alerts = (await http.get("/api/v1/alerts", params={"state": "firing"})).json()
            listing = (await http.get("/api/v1/scorecards", params={"period": CLOSED})).json()
            pages = {
                path: (await http.get(path)).text
                for path in (
                    "/",
                    f"/org/branch:B01?period={CLOSED}",
                    f"/scorecards?period={CLOSED}",
                    "/alerts",
                    "/data-quality",
                    "/pipeline",
                )
            }
        agent = next(str(d["agent_id"]) for d in documents if d.get("agent_id"))
        browsed = await _browse(base, f"agent:{agent}", tmp_path, executable)
    finally:
        stop(children)

    # In a real browser: no error, nothing fetched from another host, every CJK character
    # drawn with a real glyph (no empty box), in every language.
    for (page, language), seen in browsed.items():
        where = f"{page} ({language})"
        assert seen.console_errors == [], where
        assert seen.page_errors == [], where
        assert all(url.startswith(base) for url in seen.requests), (where, seen.requests)
        assert seen.tofu == [], (where, seen.tofu)
        assert seen.height > 0, where

    assert branch["scores"] == _json(expected["branch"])
    assert any(s["value"] is not None for s in branch["scores"]), "the demo left B01 empty"
    company = {s["kpi"]: s for s in _json(expected["company"])}
    for value in hierarchy["root"]["values"]:
        assert value["value"] == company[value["kpi"]]["value"], value["kpi"]
    assert [c["entity"] for c in hierarchy["root"]["children"]] == [
        "region:R1",
        "region:R2",
        "region:R3",
    ]
    assert letters["by_reason"] == {"malformed_json": 2, "unknown_entity": 1}
    assert letters["by_source_topic"] == {"insurance.policy.v1": 3}
    assert alerts["firing"] == len(expected["firing"])
    stored = {c["entity"] for c in await scorecards(settings, {"period": CLOSED})}
    assert {c["entity"] for c in listing["scorecards"]} == stored
    assert len(stored) == profiled
    assert sum(listing["grades"].values()) == len(stored)

    units = {k.id: str(k.unit) for k in CONFIG.catalogue}
    overview = pages["/"]
    now = {s.kpi: s for s in expected["company_now"]}
    tile = overview[overview.index('data-kpi="renewal_rate"') :]
    assert in_unit(now["renewal_rate"].value, units["renewal_rate"]) in tile[: tile.index("</svg>")]
    drill = pages[f"/org/branch:B01?period={CLOSED}"]
    for score in expected["branch"]:
        row = drill[drill.index(f'data-kpi="{score.kpi}"') :]
        assert in_unit(score.value, units[score.kpi]) in row[: row.index("</tr>")], score.kpi
    assert f"Scorecards · {CLOSED}" in pages[f"/scorecards?period={CLOSED}"]
    assert "Dead letters: 3" in pages["/data-quality"]
    assert "kpi deadletters redrive --reason unknown_entity --dry-run" in pages["/data-quality"]
    assert expected["month"] in overview
    everything = json.dumps([branch, hierarchy, alerts, listing, letters]) + "".join(pages.values())
    assert "C-CONSOLE-SECRET-1" not in everything
    assert not [c for c in customers if c in everything]
