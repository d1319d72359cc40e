"""The four services as real processes: ready together, not ready without the database, ready
again when it returns, and stopped by SIGTERM within 10 s."""

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.localstack import Component, LocalStack
from shared.settings import SERVICE_NAMES, Settings
from tests.support.stack_fixtures import service_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def services(
    private_stack: LocalStack, tmp_path: Path
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    settings = private_stack.settings
    children = {
        name: subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", name],
            env=service_env(settings),
            stdout=(tmp_path / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for name in SERVICE_NAMES
    }
    yield children
    for child in children.values():
        if child.poll() is None:
            child.kill()
            child.wait()


async def _statuses(settings: Settings) -> dict[str, int]:
    async with httpx.AsyncClient(timeout=1.5) as http:
        result = {}
        for name in SERVICE_NAMES:
            url = f"http://127.0.0.1:{settings.http_port_for(name)}/readyz"
            try:
                result[name] = (await http.get(url)).status_code
            except httpx.TransportError:
                result[name] = 0
        return result


async def _wait_for(settings: Settings, code: int, timeout_s: float) -> float:
    """Seconds until every service's /readyz answers `code`; fails after the timeout."""
    started = time.monotonic()
    statuses: dict[str, int] = {}
    while time.monotonic() - started < timeout_s:
        statuses = await _statuses(settings)
        if set(statuses.values()) == {code}:
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    pytest.fail(f"/readyz did not all become {code} within {timeout_s}s: {statuses}")


async def test_readiness_follows_the_database_and_sigterm_stops_within_10s(
    private_stack: LocalStack, services: dict[str, subprocess.Popen[bytes]]
) -> None:
    settings = private_stack.settings
    await _wait_for(settings, 200, timeout_s=60)

    private_stack.processes[Component.MONGODB].stop()
    await _wait_for(settings, 503, timeout_s=10)

    private_stack.start_component(Component.MONGODB)
    await private_stack.wait_ready(Component.MONGODB)
    await _wait_for(settings, 200, timeout_s=30)

    for child in services.values():
        child.send_signal(signal.SIGTERM)
    started = time.monotonic()
    codes = {name: child.wait(timeout=15) for name, child in services.items()}
    assert time.monotonic() - started < 10
    assert codes == dict.fromkeys(SERVICE_NAMES, 0)
