"""The console's pages, served by the reporting service built on in-memory read models
(`tests/support/console_data.py`): each page shows the figures the read models hold, in en, zh
and ja, links only to itself, loads nothing from anywhere, never shows a customer id or a phone
hash, and answers a bad parameter with a 4xx page that says why."""

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Final

import httpx
import pytest
import pytest_asyncio

from services.reporting.app import create_app
from services.reporting.offsets import MemoryOffsets
from services.scoring.read_model import MemoryScoreQueries
from shared.errors import StoreUnavailable
from shared.messages.alert import Alert, AlertState
from shared.progress_board import MemoryProgressBoard
from tests.support import console_data
from tests.support.console_data import CUSTOMER, PHONE_HASH, ConsoleState, reporting_app
from tests.support.fake_scorecard_store import MemoryScorecardStore
from tests.support.fakes import RecordingOutput

PAGES: Final = (
    "/",
    "/org/company:ACME",
    "/org/region:R1",
    "/org/branch:B01",
    "/org/team:T01",
    "/org/agent:A0001",
    "/org/branch:B01?period=R30D",
    "/org/team:T01?period=FY2024",
    "/scorecards",
    "/alerts",
    "/data-quality",
    "/pipeline",
    "/runbooks/fraud_shared_callback_phone.md",
)
HTML_LANG: Final = {"en": "en", "zh": "zh-Hans", "ja": "ja"}
VOID: Final = frozenset({"meta", "link", "br", "input", "circle", "line", "rect", "polyline"})


class _Page(HTMLParser):
    """The tags, attributes and text of a page; every element opened is closed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(k, v or "") for k, v in attrs]
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.open, f"</{tag}> closes nothing"
        assert self.open[-1] == tag, f"</{tag}> closes <{self.open[-1]}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def links(self) -> list[str]:
        return [value for name, value in self.attributes if name in {"href", "src", "action"}]

    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    assert page.open == [], f"unclosed: {page.open}"
    return page


@pytest_asyncio.fixture(scope="module")
async def state() -> ConsoleState:
    return await reporting_app()


@pytest.fixture
async def http(state: ConsoleState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=state.app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        yield client


async def get_page(http: httpx.AsyncClient, path: str, status: int = 200) -> _Page:
    answer = await http.get(path)
    assert answer.status_code == status, (path, answer.text[:500])
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    return parse(answer.text)


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
@pytest.mark.parametrize("path", PAGES)
async def test_every_page_in_every_language_is_self_contained_and_private(
    http: httpx.AsyncClient, path: str, lang: str
) -> None:
    separator = "&" if "?" in path else "?"
    answer = await http.get(f"{path}{separator}lang={lang}")

    assert answer.status_code == 200, answer.text[:300]
    page = parse(answer.text)
    assert f'<html lang="{HTML_LANG[lang]}">' in answer.text
    assert not {"script", "img", "iframe", "object", "embed"} & set(page.tags)
    for link in page.links():
        assert link.startswith(("/", "data:")), link  # nothing from another host
    assert "@import" not in answer.text
    assert "url(" not in answer.text
    assert CUSTOMER not in answer.text
    assert PHONE_HASH not in answer.text
    assert not re.search(r"hmac-sha256:[0-9a-f]{8}", answer.text)
    switcher = [href for name, href in page.attributes if name == "hreflang"]
    assert switcher == ["en", "zh", "ja"]
    assert "@media print" in answer.text


async def test_the_overview_shows_the_company_kpis_and_the_firing_alert(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/")
    text = parse(answer.text).all_text()

    assert "ACME Non-Life Agency (company:ACME)" in text
    assert "Company KPIs, 2025-03" in text
    tile = answer.text[answer.text.index('data-kpi="renewal_rate"') :]
    tile = tile[: tile.index("</svg>")]
    assert "91.00%" in tile  # renewal_rate(company, March) = 0.80 + 0.11
    assert "Target 90.00%" in tile
    assert "On target" in tile
    assert "2024-04 80.00%" in tile  # the sparkline's first month
    assert "one callback phone used by 3 customers (3 withheld)" in text
    assert "Firing alerts (1)" in text


async def test_the_overview_in_japanese(http: httpx.AsyncClient) -> None:
    text = parse((await http.get("/?lang=ja")).text).all_text()

    assert "全社の指標(2025-03)" in text
    assert "続保率" in text
    assert "目標達成" in text


async def test_drill_down_shows_the_path_the_table_the_rank_and_the_scorecards(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/org/branch:B01?period=2025-03")
    page = parse(answer.text)
    text = page.all_text()

    assert "ACME Non-Life Agency (company:ACME) Kanto Region (region:R1)" in text
    row = answer.text[answer.text.index('<tr class="kpi-row light-good" data-kpi="renewal_rate"') :]
    row = row[: row.index("</tr>")]
    assert "95.00%" in row  # 0.80 + 0.11 + 0.04
    assert "2 / 2" in row  # B02 has 0.99 in March
    links = page.links()
    assert "/org/team:T01?period=2025-03" in links
    assert "/org/region:R1?period=2025-03" in links
    assert "/api/v1/scorecards/branch:B01/2025-03?format=html" in links
    assert "/api/v1/scorecards/branch:B01/2025-03?format=csv" in links
    assert "/api/v1/scorecards/branch:B01/2025-03?format=json" in links
    assert "/org/branch:B01?period=FY2024-Q4" in links
    assert "/org/branch:B01?period=R30D" in links


async def test_a_team_lists_its_agents_and_an_agent_its_place(http: httpx.AsyncClient) -> None:
    team = parse((await http.get("/org/team:T01?period=2025-03")).text)
    agent = parse((await http.get("/org/agent:A0001?period=2025-03&lang=zh")).text)

    assert "/org/agent:A0001?period=2025-03" in team.links()
    assert "/org/agent:A0005?period=2025-03" in team.links()
    assert "没有下级。" in agent.all_text()
    assert "/org/team:T01?period=2025-03&lang=zh" in agent.links()


async def test_a_team_over_the_rolling_window_says_windows_are_kept_from_branch_up(
    http: httpx.AsyncClient,
) -> None:
    text = parse((await http.get("/org/team:T01?period=R30D")).text).all_text()

    assert "Rolling windows are kept from branch level up." in text


async def test_the_scorecards_page_has_the_grade_distribution_and_the_vetoes(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/scorecards?period=2025-03")
    text = parse(answer.text).all_text()

    assert "Scorecards · 2025-03" in text
    assert "Excellent 1 · Qualified 1 · Needs improvement 0 · With a veto: 1" in text
    assert "13-month persistency 83.10% is below the 85.00% floor" in text
    assert answer.text.count('<rect class="bar"') == 3


async def test_the_alerts_page_has_both_states_severity_evidence_and_runbooks(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/alerts")
    page = parse(answer.text)
    text = page.all_text()

    assert "Firing (1)" in text
    assert "Resolved (1)" in text
    assert "customer_ids_count 3" in text
    assert "callback_phone_hash withheld" in text
    assert "/runbooks/fraud_shared_callback_phone.md" in page.links()
    assert "/runbooks/renewal_rate_low.md" in page.links()
    assert "/org/branch:B01?period=2025-02" in page.links()


async def test_the_data_quality_page_counts_letters_and_says_how_to_send_them_back(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/data-quality")
    text = parse(answer.text).all_text()

    assert "Dead letters: 4" in text
    assert re.search(r"malformed_json 2 0 2", text)
    assert "customer_id: ‹withheld: personal data›" in text
    assert "kpi deadletters redrive --reason malformed_json --dry-run" in text
    assert "insurance.policy.v1:0:75" in text


async def test_the_pipeline_page_shows_the_read_models_and_points_to_prometheus(
    http: httpx.AsyncClient,
) -> None:
    text = parse((await http.get("/pipeline")).text).all_text()

    assert "Latest event applied 2025-03-28 03:00 UTC" in text
    assert "Low watermark 2025-03-28 02:00 UTC" in text
    assert "Offsets read at 2025-03-28 03:11 UTC, every 10 s" in text
    assert "sum by (service) (kpi_consumer_lag_records)" in text


def _row(html: str, marker: str) -> str:
    row = html[html.index(marker) :]
    return " ".join(parse(row[row.index(">") + 1 : row.index("</tr>")]).all_text().split())


async def test_the_pipeline_page_has_each_services_lag_rate_latency_and_watermark(
    http: httpx.AsyncClient,
) -> None:
    """console_data's two samples a minute apart and the progress the services published."""
    html = (await http.get("/pipeline")).text

    # service, inputs, lag, events/s over the minute, p50 / p95 / max of 100 batches, last
    # batch, watermark and what it is.
    assert _row(html, 'data-service="ingest"').startswith("ingest insurance.policy.v1")
    assert _row(html, 'data-service="ingest"').endswith(
        "300 5.0 over 60 s 80 ms / 250 ms / 500 ms last 100 batches 2025-03-28 03:10 UTC "
        "2025-03-28 02:59 UTC low watermark"
    )
    assert _row(html, 'data-service="scoring"') == (
        "scoring kpi.events.v1 20 4.0 over 60 s 400 ms / 1.50 s / 3.00 s last 100 batches "
        "2025-03-28 03:10 UTC 2025-03-28 02:00 UTC low watermark"
    )
    assert _row(html, 'data-service="alerts"') == (
        "alerts kpi.scores.v1, kpi.events.v1 140 3.0 over 60 s 12 ms / 50 ms / 100 ms "
        "last 100 batches 2025-03-28 03:10 UTC 2025-03-28 03:01 UTC latest event seen"
    )
    assert _row(html, 'data-service="reporting"') == (
        "reporting kpi.deadletter.v1 1 0.0 over 60 s — / — / — — — close clock"
    )
    partitions = {
        marker: _row(html, f'data-partition="{marker}"')
        for marker in ("insurance.policy.v1:0", "kpi.scores.v1:0", "kpi.deadletter.v1:0")
    }
    assert partitions == {
        "insurance.policy.v1:0": "ingest insurance.policy.v1 0 1,000 1,300 300",
        "kpi.scores.v1:0": "alerts kpi.scores.v1 0 420 460 40",
        "kpi.deadletter.v1:0": "reporting kpi.deadletter.v1 0 3 4 1",
    }


async def test_the_pipeline_page_in_chinese_and_japanese(http: httpx.AsyncClient) -> None:
    zh = parse((await http.get("/pipeline?lang=zh")).text).all_text()
    ja = parse((await http.get("/pipeline?lang=ja")).text).all_text()

    assert "消费延迟" in zh
    assert "最近 60 秒" in zh
    assert "コンシューマラグ" in ja
    assert "直近 100 バッチ" in ja


async def test_a_broker_that_does_not_answer_keeps_the_last_figures_and_says_so() -> None:
    state = await reporting_app()
    state.offsets.fail = "broker 127.0.0.1:1 unreachable"
    await state.reads.sampler.sample()
    transport = httpx.ASGITransport(app=state.app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        page = await get_page(http, "/pipeline")

    text = page.all_text()
    assert "The broker did not answer the last reading" in text
    assert "broker 127.0.0.1:1 unreachable" in text
    assert "Offsets read at 2025-03-28 03:11 UTC" in text  # the figures of the last reading


async def test_the_runbook_is_shown_as_text(http: httpx.AsyncClient) -> None:
    page = await get_page(http, "/runbooks/fraud_shared_callback_phone.md")

    assert "fraud_shared_callback_phone.md" in page.all_text()
    await get_page(http, "/runbooks/nothing.md", 404)
    outside = await http.get("/runbooks/..%2F..%2Fpyproject.toml")
    assert outside.status_code == 404
    assert "hatchling" not in outside.text
    # A name no file can have is not found either (a NUL byte made `Path.resolve` raise: 500).
    assert (await http.get("/runbooks/%00")).status_code == 404
    assert (await http.get("/runbooks/a%00.md")).status_code == 404


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/org/branch:B99", 404, "branch:B99"),
        ("/org/B01", 422, "LEVEL:ID"),
        ("/org/branch:B01?period=2025-13", 422, "period"),
        ("/scorecards?period=2031-03", 200, "Scorecards · 2031-03"),
        ("/scorecards?period=nonsense", 422, "period"),
    ],
)
async def test_a_bad_parameter_is_a_page_that_says_why(
    http: httpx.AsyncClient, path: str, status: int, reason: str
) -> None:
    page = await get_page(http, path, status)

    assert reason in page.all_text()


@pytest.mark.parametrize(
    ("path", "heading", "reason"),
    [
        ("/alerts?lang=fr", "Cannot show this page", "query parameter lang: Input should be"),
        ("/?lang=xx", "Cannot show this page", "query parameter lang"),
        ("/pipeline?lang=", "Cannot show this page", "query parameter lang"),
        ("/org/branch:B01?lang=de&period=2025-03", "Cannot show this page", "lang"),
        ("/org/branch:B01?lang=ja&period=2025-13", "このページを表示できません", "period"),
        ("/scorecards?lang=zh&period=x", "无法显示此页面", "period 'x'"),
        ("/runbooks/nothing.md?lang=ja", "見つかりません", "no runbook 'nothing.md'"),
    ],
)
async def test_a_bad_parameter_on_a_page_is_a_4xx_page_in_the_consoles_look(
    http: httpx.AsyncClient, path: str, heading: str, reason: str
) -> None:
    answer = await http.get(path)

    assert 400 <= answer.status_code < 500, answer.text[:300]
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    page = parse(answer.text)
    assert ("class", "bar") in page.attributes  # the console's bar, with its pages
    assert any(link.startswith("/pipeline") for link in page.links())
    assert heading in page.all_text()
    assert reason in page.all_text()


async def test_an_unknown_language_keeps_the_api_s_json_problem(http: httpx.AsyncClient) -> None:
    answer = await http.get("/api/v1/alerts?lang=fr")

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/json"
    assert "query parameter lang" in answer.json()["detail"]


async def test_the_organisation_link_opens_the_company(http: httpx.AsyncClient) -> None:
    answer = await http.get("/org?lang=ja")

    assert answer.status_code == 302
    assert answer.headers["location"] == "/org/company:ACME?lang=ja"


async def test_before_anything_happened_every_page_says_so() -> None:
    empty = await reporting_app(empty=True)
    transport = httpx.ASGITransport(app=empty.app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        overview = await get_page(http, "/")
        scorecards = await get_page(http, "/scorecards")
        quality = await get_page(http, "/data-quality")
        pipeline = await get_page(http, "/pipeline")
        entity = await get_page(http, "/org/agent:A0001")

    assert "No event has been applied yet" in overview.all_text()
    assert "No alert is firing." in overview.all_text()
    assert "No period has closed yet" in scorecards.all_text()
    assert "No dead letter" in quality.all_text()
    assert "No event has been applied yet" in pipeline.all_text()
    assert "The offsets have not been read yet (every 10 s)." in pipeline.all_text()
    assert "No scorecard yet" in entity.all_text()


async def test_a_browser_asking_for_an_icon_gets_no_content_not_a_404(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/favicon.ico")
    assert (answer.status_code, answer.content) == (204, b"")


class UnreachableAlerts:
    """The alerts read model with its database down."""

    async def alerts(self, state: AlertState | None = None) -> list[Alert]:
        raise StoreUnavailable("cannot list the alerts: 127.0.0.1:1 refused the connection")


async def test_a_database_down_for_now_is_a_503_page_and_the_api_a_503_problem() -> None:
    app = create_app(
        console_data.settings(),
        store=MemoryScorecardStore(),
        output=RecordingOutput(),
        scores=MemoryScoreQueries(),
        alerts=UnreachableAlerts(),
        offsets=MemoryOffsets(),
        progress=MemoryProgressBoard(),
    )
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        page = await http.get("/alerts?lang=ja")
        api = await http.get("/api/v1/alerts")

    assert (page.status_code, page.headers["retry-after"]) == (503, "5")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    text = parse(page.text).all_text()
    assert "a dependency is unavailable, retry later: cannot list the alerts" in text
    assert "概要に戻る" in text  # the console's page, in Japanese
    assert (api.status_code, api.headers["content-type"]) == (503, "application/json")
