"""Every service's frame against the real broker and database: endpoints and readiness."""

import httpx
import pytest

from services.registry import app_factory
from shared.localstack.probes import free_port_block
from shared.settings import SERVICE_NAMES, Settings
from tests.support.running import running

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_service_exposes_health_readiness_and_metrics(settings: Settings, name: str) -> None:
    app = app_factory(name)(settings)
    async with running(app, free_port_block(1)) as base, httpx.AsyncClient(base_url=base) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        metrics = await http.get("/metrics")
        missing = await http.get("/nowhere")

    assert health.status_code == 200
    assert health.json() == {"status": "alive", "service": name}
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "service": name,
        "checks": {"kafka": True, "mongodb": True, "progress": True},
        "reasons": {},
    }
    assert "kpi_service_ready 1.0" in metrics.text
    assert 'kpi_dependency_up{dependency="mongodb"} 1.0' in metrics.text
    assert f'kpi_build_info{{service="{name}"' in metrics.text
    assert f'kpi_consumer_stalled{{service="{name}"}} 0.0' in metrics.text
    assert missing.status_code == 404
