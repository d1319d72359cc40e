"""The alerts service as its composition root builds it, reading scoring through the read
model a test hands it (`MemoryScoreQueries`): the rolling-window gauges are read on every tick,
whatever other pieces a test passes."""

from pathlib import Path
from typing import Final

from prometheus_client import CollectorRegistry

from services.alerts.app import create_app
from services.alerts.service import AlertsService
from services.scoring.read_model import MemoryScoreQueries
from shared.settings import Settings, load_settings
from tests.support.fakes import RecordingOutput
from tests.support.score_queries_contract import (
    KPI,
    SCENARIO_CLOCK,
    WINDOW_MEAN,
    scenario_scores,
)

CONFIG: Final = Path(__file__).resolve().parents[3] / "config"


def settings() -> Settings:
    # Nothing listens on port 1: building the app must not connect anywhere.
    return load_settings(
        KPI_CONFIG_DIR=CONFIG,
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        MONGODB_URI="mongodb://127.0.0.1:1/?retryWrites=false",
        KPI_LOCAL_STACK=True,
    )


def gauge(registry: CollectorRegistry, entity: str) -> float | None:
    level = entity.split(":", maxsplit=1)[0]
    labels = {"entity_level": level, "entity": entity, "kpi": KPI, "period": "R30D"}
    return registry.get_sample_value("kpi_value", labels)


async def test_a_tick_sets_the_rolling_window_gauges_from_the_read_model() -> None:
    registry = CollectorRegistry()
    scores = MemoryScoreQueries(scenario_scores(), SCENARIO_CLOCK)
    app = create_app(settings(), registry=registry, output=RecordingOutput(), scores=scores)
    service = app.extra["service"]
    assert isinstance(service, AlertsService)

    await service.tick()

    for entity in ("company:ACME", "region:R1", "branch:B01"):
        assert gauge(registry, entity) == float(WINDOW_MEAN), entity
    assert gauge(registry, "team:T01") is None  # not an exported level
    assert gauge(registry, "branch:B02") is None  # no window read for it


async def test_before_scoring_applied_anything_no_window_gauge_is_set() -> None:
    registry = CollectorRegistry()
    app = create_app(
        settings(), registry=registry, output=RecordingOutput(), scores=MemoryScoreQueries()
    )
    service = app.extra["service"]
    assert isinstance(service, AlertsService)

    await service.tick()

    assert gauge(registry, "branch:B01") is None
