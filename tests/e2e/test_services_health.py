"""The four services as real processes: ready together, not ready without the database, ready
again when it returns, and stopped by SIGTERM: each exits 0 after logging that it stopped (its
in-flight work drained and its database client closed). How fast is not asserted here."""

import asyncio
import json
import signal
import subprocess
import sys
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


async def _wait_for(settings: Settings, code: int, timeout_s: float) -> None:
    """Until every service's /readyz answers `code`; the timeout only bounds a hung wait."""
    statuses: dict[str, int] = {}
    try:
        async with asyncio.timeout(timeout_s):
            statuses = await _statuses(settings)
            while set(statuses.values()) != {code}:
                await asyncio.sleep(0.25)
                statuses = await _statuses(settings)
    except TimeoutError:
        pytest.fail(f"/readyz did not all become {code} within {timeout_s}s: {statuses}")


def _messages(log: Path) -> list[str]:
    """The messages of a service's JSON log lines."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [json.loads(line)["msg"] for line in lines if line.startswith("{")]


async def test_readiness_follows_the_database_and_sigterm_stops_every_service_cleanly(
    private_stack: LocalStack, services: dict[str, subprocess.Popen[bytes]], tmp_path: Path
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
    # The timeout bounds a hung shutdown; the services' own limit is KPI_SHUTDOWN_TIMEOUT_S.
    codes = {name: child.wait(timeout=60) for name, child in services.items()}
    assert codes == dict.fromkeys(SERVICE_NAMES, 0)
    for name in SERVICE_NAMES:
        assert f"service {name} stopped" in _messages(tmp_path / f"{name}.log"), name
