"""`/api/v1` of the reporting service, built by its composition root on in-memory read models
(`tests/support/console_data.py`): every route answers the figures the read models hold, a bad
parameter is a 4xx naming it, and no answer carries a customer id or a phone hash."""

import csv
import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio

from shared.messages.scorecard import Scorecard
from tests.support.console_data import (
    CUSTOMER,
    MONTHS,
    PHONE_HASH,
    ConsoleState,
    renewal_rate,
    reporting_app,
)


@pytest_asyncio.fixture(scope="module")
async def state() -> ConsoleState:
    """Built once: no test here changes it."""
    return await reporting_app()


@pytest.fixture
async def http(state: ConsoleState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=state.app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        yield client


def _no_personal_data(text: str) -> None:
    assert CUSTOMER not in text
    assert PHONE_HASH not in text
    assert "hmac-sha256" not in text


async def test_scores_of_an_entity_and_period_are_the_read_models(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/api/v1/scores/branch:B01/2025-03")

    assert answer.status_code == 200
    body = answer.json()
    assert body["entity"] == "branch:B01"
    assert body["name"] == "Tokyo Chuo Branch"
    assert body["level"] == "branch"
    rate = next(s for s in body["scores"] if s["kpi"] == "renewal_rate")
    assert Decimal(rate["value"]) == renewal_rate("branch:B01", MONTHS.index("2025-03"))
    assert rate["target"] == "0.90"
    assert rate["revision"] == 1
    assert set(rate) == {
        "entity", "period", "kpi", "value", "numerator", "denominator", "target",
        "attainment", "revision", "as_of",
    }  # fmt: skip
    top_box = next(s for s in body["scores"] if s["kpi"] == "survey_top_box")
    assert top_box["value"] is None


async def test_one_kpi_and_a_rolling_window(http: httpx.AsyncClient) -> None:
    one = await http.get("/api/v1/scores/company:ACME/R30D", params={"kpi": "renewal_rate"})

    assert one.status_code == 200
    assert [(s["kpi"], s["value"]) for s in one.json()["scores"]] == [("renewal_rate", "0.875")]


@pytest.mark.parametrize(
    ("path", "status", "names"),
    [
        ("/api/v1/scores/branch:B99/2025-03", 404, "branch:B99"),
        ("/api/v1/scores/B01/2025-03", 422, "LEVEL:ID"),
        ("/api/v1/scores/planet:B01/2025-03", 422, "LEVEL:ID"),
        ("/api/v1/scores/branch:B01/2025-13", 422, "period"),
        ("/api/v1/scores/branch:B01/R0D", 422, "R<days>D"),
        ("/api/v1/scores/branch:B01/2025-03?kpi=happiness", 422, "happiness"),
        ("/api/v1/scores/branch:B01/2025-03?lang=fr", 422, "lang"),
        ("/api/v1/scorecards/branch:B01/2025-03?format=pdf", 422, "format"),
        ("/api/v1/scorecards/branch:B01/2025-03?lang=de", 422, "lang"),
        ("/api/v1/scorecards/branch:B01/R30D", 422, "rolling window"),
        ("/api/v1/scorecards/branch:B01/2031-03", 404, "no scorecard"),
        ("/api/v1/scorecards/team:T99/2025-03", 404, "team:T99"),
        ("/api/v1/scorecards?period=FY2024-Q5", 422, "period"),
        ("/api/v1/hierarchy?depth=9", 422, "depth"),
        ("/api/v1/hierarchy?root=agent:A0000", 404, "agent:A0000"),
        ("/api/v1/alerts?state=sleeping", 422, "state"),
        ("/api/v1/alerts?severity=dire", 422, "severity"),
        ("/api/v1/nowhere", 404, "Not Found"),
    ],
)
async def test_a_bad_parameter_is_a_4xx_naming_it(
    http: httpx.AsyncClient, path: str, status: int, names: str
) -> None:
    answer = await http.get(path)

    assert answer.status_code == status, answer.text
    assert names in answer.json()["detail"]


async def test_the_hierarchy_carries_current_values_from_company_to_agent(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get(
        "/api/v1/hierarchy", params={"period": "2025-03", "kpi": "renewal_rate"}
    )

    assert answer.status_code == 200
    body = answer.json()
    assert body["period"] == "2025-03"
    node = body["root"]
    for entity in ("company:ACME", "region:R1", "branch:B01", "team:T01", "agent:A0001"):
        assert node["entity"] == entity
        [value] = node["values"]
        assert Decimal(value["value"]) == renewal_rate(entity, MONTHS.index("2025-03"))
        if entity != "agent:A0001":
            node = next(c for c in node["children"] if c["entity"] in body_path(entity))
    regions = [c["entity"] for c in body["root"]["children"]]
    assert regions == ["region:R1", "region:R2", "region:R3"]


def body_path(parent: str) -> set[str]:
    below = {
        "company:ACME": "region:R1",
        "region:R1": "branch:B01",
        "branch:B01": "team:T01",
        "team:T01": "agent:A0001",
    }
    return {below[parent]}


async def test_the_hierarchy_defaults_to_the_month_of_the_latest_event_and_can_stop(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/api/v1/hierarchy", params={"root": "branch:B01", "depth": 1})

    body = answer.json()
    assert body["period"] == "2025-03"  # CLOCK.latest is 28 March 2025
    assert body["root"]["entity"] == "branch:B01"
    teams = body["root"]["children"]
    assert [t["entity"] for t in teams] == ["team:T01", "team:T02", "team:T03", "team:T04"]
    assert all(t["children"] == [] for t in teams)


async def test_a_scorecard_in_json_csv_and_html(
    http: httpx.AsyncClient, state: ConsoleState
) -> None:
    stored = (await state.store.latest_of_period("2025-03"))["branch:B01"]

    as_json = await http.get("/api/v1/scorecards/branch:B01/2025-03")
    as_csv = await http.get("/api/v1/scorecards/branch:B01/2025-03", params={"format": "csv"})
    as_html = await http.get(
        "/api/v1/scorecards/branch:B01/2025-03", params={"format": "html", "lang": "ja"}
    )
    legacy = await http.get("/scorecards/branch:B01/2025-03", params={"format": "csv"})

    assert Scorecard.model_validate_json(as_json.content) == stored
    assert as_json.headers["content-type"] == "application/json"
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert any("renewal" in cell or "premium_attainment" in cell for row in rows for cell in row)
    assert as_html.headers["content-type"] == "text/html; charset=utf-8"
    assert "スコアカード" in as_html.text
    assert "東京中央支店 (branch:B01)" in as_html.text  # the name with the id, in Japanese
    assert legacy.status_code == 200
    assert legacy.text == as_csv.text


async def test_a_period_of_scorecards_with_grades_and_vetoes(http: httpx.AsyncClient) -> None:
    periods = await http.get("/api/v1/periods")
    listing = await http.get("/api/v1/scorecards")

    assert periods.json() == {"periods": ["2025-03"]}
    body = listing.json()
    assert body["period"] == "2025-03"
    assert body["grades"] == {"excellent": 1, "qualified": 1, "needs_improvement": 0}
    assert body["vetoed"] == 1
    assert [c["entity"] for c in body["scorecards"]] == ["branch:B01", "branch:B02"]
    vetoed = body["scorecards"][1]
    assert {v["kpi"] for v in vetoed["vetoes"]} == {"persistency_13m", "complaint_rate_per_10k"}


async def test_no_closed_period_yet_is_a_404_that_says_so() -> None:
    empty = await reporting_app(empty=True)
    transport = httpx.ASGITransport(app=empty.app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        answer = await http.get("/api/v1/scorecards")
        hierarchy = await http.get("/api/v1/hierarchy", params={"depth": 0})

    assert answer.status_code == 404
    assert "no period has closed yet" in answer.json()["detail"]
    assert hierarchy.status_code == 200
    assert hierarchy.json()["as_of"] is None
    assert hierarchy.json()["root"]["values"] == []


async def test_alerts_firing_and_resolved_without_customer_ids_or_phone_hashes(
    http: httpx.AsyncClient,
) -> None:
    every = await http.get("/api/v1/alerts")
    firing = await http.get("/api/v1/alerts", params={"state": "firing", "lang": "ja"})
    resolved = await http.get("/api/v1/alerts", params={"state": "resolved", "lang": "zh"})

    body = every.json()
    assert (body["firing"], body["resolved"]) == (1, 1)
    assert [a["rule"] for a in body["alerts"]] == [
        "fraud_shared_callback_phone",
        "renewal_rate_low",
    ]
    fraud = body["alerts"][0]
    assert fraud["evidence"] == {
        "callback_phone_hash": "withheld",
        "customer_ids_count": 3,
        "response_ids_count": 3,
        "window_days": 30.0,
    }
    assert "3 withheld" in fraud["message"]
    assert fraud["runbook_url"] == "docs/runbooks/fraud_shared_callback_phone.md"
    assert [a["state"] for a in firing.json()["alerts"]] == ["firing"]
    assert resolved.json()["alerts"][0]["message"] == "低于 (zh)"
    for answer in (every, firing, resolved):
        _no_personal_data(answer.text)


async def test_dead_letters_by_reason_and_source_without_personal_data(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/api/v1/deadletters")

    body = answer.json()
    assert body["total"] == 4
    assert body["by_reason"] == {"malformed_json": 2, "schema_violation": 1, "unknown_entity": 1}
    assert body["by_source_topic"] == {"insurance.policy.v1": 3, "insurance.survey.v1": 1}
    assert {"reason": "malformed_json", "source_topic": "insurance.policy.v1", "count": 2} in body[
        "by_reason_and_source"
    ]
    assert [h["by_reason"] for h in body["by_hour"]] == [
        {"schema_violation": 1, "malformed_json": 2},
        {"unknown_entity": 1},
    ]
    assert body["samples"][0]["detail"] == "agent_id: 'A9999' is not an agent of the organisation"
    assert "customer_id: ‹withheld: personal data›" in answer.text
    assert "payload" not in answer.text
    assert body["redrive_command"].startswith("kpi deadletters redrive --reason")
    _no_personal_data(answer.text)


async def test_the_pipeline_shows_scorings_clock_and_what_only_prometheus_has(
    http: httpx.AsyncClient,
) -> None:
    body = (await http.get("/api/v1/pipeline")).json()

    assert body["scoring"]["latest_event"] == "2025-03-28T03:00:00Z"  # CLOCK.latest
    assert body["scoring"]["backlog"] is False
    assert body["alerts_firing"] == 1
    assert body["dead_letters"] == 4
    assert body["reporting"]["horizon"] is None  # reporting has not ticked
    figures = {f["figure"] for f in body["prometheus"]}
    assert {"consumer lag (records)", "events/s applied"} <= figures


async def test_the_pipeline_has_each_services_figures(http: httpx.AsyncClient) -> None:
    """console_data's two offset samples a minute apart and the services' progress."""
    body = (await http.get("/api/v1/pipeline")).json()

    services = {s["service"]: s for s in body["services"]}
    assert list(services) == ["ingest", "scoring", "alerts", "reporting"]
    assert {name: s["lag"] for name, s in services.items()} == {
        "ingest": 300,
        "scoring": 20,
        "alerts": 140,
        "reporting": 1,
    }
    assert {name: s["events_per_s"] for name, s in services.items()} == {
        "ingest": 5.0,
        "scoring": 4.0,
        "alerts": 3.0,
        "reporting": 0.0,
    }
    assert {s["rate_seconds"] for s in services.values()} == {60.0}
    scoring = services["scoring"]
    assert (scoring["batch_p50_s"], scoring["batch_p95_s"], scoring["batch_max_s"]) == (
        0.4,
        1.5,
        3.0,
    )
    assert scoring["watermark"] == "2025-03-28T02:00:00Z"  # its clock's low watermark
    assert scoring["watermark_kind"] == "low_watermark"
    assert services["ingest"]["watermark"] == "2025-03-28T02:59:00Z"  # as it published
    assert services["alerts"]["watermark_kind"] == "latest_event"
    assert services["reporting"]["batches"] == 0  # no batch of dead letters read
    assert body["sampled_at"] == "2025-03-28T03:11:00Z"
    assert body["offsets_error"] is None
    lags = {(p["service"], p["topic"], p["partition"]): p["lag"] for p in body["partitions"]}
    assert lags == {
        ("ingest", "insurance.policy.v1", 0): 300,
        ("ingest", "insurance.survey.v1", 0): 0,
        ("scoring", "kpi.events.v1", 0): 20,
        ("scoring", "kpi.events.v1", 1): 0,
        ("alerts", "kpi.scores.v1", 0): 40,
        ("alerts", "kpi.events.v1", 0): 100,
        ("alerts", "kpi.events.v1", 1): 0,
        ("reporting", "kpi.deadletter.v1", 0): 1,
    }


async def test_the_kpi_catalogue_in_three_languages(http: httpx.AsyncClient) -> None:
    body = (await http.get("/api/v1/kpis")).json()

    rate = next(k for k in body["kpis"] if k["kpi"] == "renewal_rate")
    assert rate["unit"] == "ratio"
    assert rate["direction"] == "higher_is_better"
    assert set(rate["names"]) == {"en", "zh", "ja"}


async def test_health_readiness_and_metrics_are_served_as_before(
    http: httpx.AsyncClient,
) -> None:
    health = await http.get("/healthz")
    ready = await http.get("/readyz")
    metrics = await http.get("/metrics")
    post = await http.post("/healthz")

    assert health.json() == {"status": "alive", "service": "reporting"}
    assert ready.status_code == 503  # nothing probed yet: the app was not started
    assert ready.json() == {
        "status": "not_ready",
        "service": "reporting",
        "checks": {"kafka": False, "mongodb": False},
    }
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'kpi_build_info{service="reporting"' in metrics.text
    assert post.status_code == 405


async def test_every_answer_is_json_of_the_documented_shape(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/openapi.json")).json()

    paths = set(schema["paths"])
    assert {
        "/api/v1/scores/{entity}/{period}",
        "/api/v1/hierarchy",
        "/api/v1/scorecards",
        "/api/v1/scorecards/{entity}/{period}",
        "/api/v1/alerts",
        "/api/v1/deadletters",
        "/healthz",
        "/readyz",
    } <= paths
    assert "/scorecards/{entity}/{period}" not in paths
    for path, operations in schema["paths"].items():
        responses = operations["get"]["responses"]
        if path.startswith("/api/v1"):
            assert "4XX" in responses, path
            assert "422" not in responses, path
    assert json.dumps(schema).count("HTTPValidationError") == 0
