"""The console's /whatif page on the reporting app built on fakes: it lists the draft profile
files of KPI_CONFIG_DIR/drafts and shows one's report with the figures of `kpi whatif`
(`tests/support/whatif_case.py`); an unknown draft, a broken draft or a bad period is a 4xx that
says why, and nothing is published."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.alerts.read_model import MemoryAlertQueries
from services.reporting.app import create_app
from services.scoring.read_model import StateScoreQueries
from shared.kpi.config import load_kpi_config
from shared.settings import load_settings
from tests.support.fake_scorecard_store import MemoryScorecardStore
from tests.support.fake_state_store import MemoryStateStore
from tests.support.fakes import RecordingOutput
from tests.support.score_queries_contract import apply_scenario
from tests.support.whatif_case import company_config, draft_profiles


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingOutput, Path]]:
    config_dir = company_config(tmp_path)
    drafts = config_dir / "drafts"
    drafts.mkdir()
    shutil.copy(draft_profiles(tmp_path), drafts / "clerks-fy2025.yaml")
    config = load_kpi_config(config_dir)
    state = MemoryStateStore()
    await apply_scenario(state, config)
    output = RecordingOutput()
    settings = load_settings(
        KPI_CONFIG_DIR=config_dir,
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        MONGODB_URI="mongodb://127.0.0.1:1/?retryWrites=false",
        KPI_LOCAL_STACK=True,
    )
    app = create_app(
        settings,
        store=MemoryScorecardStore(),
        output=output,
        scores=StateScoreQueries(state, config),
        alerts=MemoryAlertQueries([]),
    )
    transport = httpx.ASGITransport(app=app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        yield client, output, drafts


async def test_the_page_lists_the_drafts(
    console: tuple[httpx.AsyncClient, RecordingOutput, Path],
) -> None:
    http, _, _ = console
    answer = await http.get("/whatif")
    assert answer.status_code == 200
    assert '<a href="/whatif?draft=clerks-fy2025">clerks-fy2025</a>' in answer.text


async def test_a_drafts_report_has_the_figures_of_the_command(
    console: tuple[httpx.AsyncClient, RecordingOutput, Path],
) -> None:
    http, output, _ = console
    answer = await http.get("/whatif", params={"draft": "clerks-fy2025", "period": "2024-05"})
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    page = answer.text
    clerk = page.split('data-entity="agent:A1">', 1)[1].split("</tr>", 1)[0]
    assert [cell.split("<", 1)[0] for cell in clerk.split("<td>")[1:]] == [
        "renewal_clerk", "14.12", "needs_improvement", "renewal_clerk", "15.00", "qualified",
        "+0.88", "up",
    ]  # fmt: skip
    assert "1 grades change (1 up, 0 down)" in page
    assert "https://" not in page
    assert "http://" not in page
    assert output.sent == []


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ({"draft": "../scorecards"}, 404, "no draft profile file '../scorecards'"),
        ({"draft": "clerks-fy2025", "period": "R30D"}, 422, "rolling window"),
        ({"draft": "clerks-fy2025", "period": "2024-5"}, 422, "is not a month"),
    ],
)
async def test_a_bad_request_says_why(
    console: tuple[httpx.AsyncClient, RecordingOutput, Path],
    query: dict[str, str],
    status: int,
    reason: str,
) -> None:
    http, _, _ = console
    answer = await http.get("/whatif", params=query)
    assert answer.status_code == status
    assert reason in answer.text


async def test_a_broken_draft_names_its_file_and_field(
    console: tuple[httpx.AsyncClient, RecordingOutput, Path],
) -> None:
    http, _, drafts = console
    broken = drafts / "broken.yaml"
    broken.write_text(
        (drafts / "clerks-fy2025.yaml")
        .read_text(encoding="utf-8")
        .replace("weight: 40", "weight: 41", 1),
        encoding="utf-8",
    )
    answer = await http.get("/whatif", params={"draft": "broken"})
    assert answer.status_code == 422
    assert "broken.yaml: profiles[0] (renewal_clerk).kpis: weights add up to 101" in answer.text
