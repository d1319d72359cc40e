"""Every service's frame against the real broker and database: endpoints and readiness."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from services.registry import app_factory
from shared.service import ServiceApp, serve
from shared.settings import SERVICE_NAMES, Settings
from tests.support.stack_fixtures import free_port_block

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def running(app: ServiceApp, port: int) -> AsyncIterator[str]:
    task = asyncio.create_task(serve(app, port=port))
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(150):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
    try:
        yield base
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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
        "checks": {"kafka": True, "mongodb": True},
    }
    assert "kpi_service_ready 1.0" in metrics.text
    assert 'kpi_dependency_up{dependency="mongodb"} 1.0' in metrics.text
    assert f'kpi_build_info{{service="{name}"' in metrics.text
    assert missing.status_code == 404
