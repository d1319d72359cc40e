"""`make run`'s command as a person uses it: it prints where to look, every service answers
there, and Ctrl-C stops everything it started."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared.localstack import LocalStack
from shared.settings import SERVICE_NAMES
from tests.support.stack_fixtures import _test_settings

pytestmark = pytest.mark.e2e


def _read_until(child: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    assert child.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line and child.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    pytest.fail(f"{marker!r} not printed within {timeout_s}s; output so far:\n{''.join(seen)}")


def test_kpi_run_prints_urls_serves_them_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    settings = _test_settings(tmp_path)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URI": settings.mongodb_uri.get_secret_value(),
        "KPI_STATE_DIR": str(tmp_path),
        "KPI_HTTP_PORT_BASE": str(settings.http_port_base),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "run", "--rate", "200"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = _read_until(child, "Ctrl-C stops everything", timeout_s=60)
        for name in SERVICE_NAMES:
            base = f"http://127.0.0.1:{settings.http_port_for(name)}"
            assert f"{base}/metrics" in output
            assert httpx.get(f"{base}/readyz").status_code == 200
            assert "kpi_service_ready 1.0" in httpx.get(f"{base}/metrics").text
        stack = LocalStack(settings)
        assert all(stack.status().values())

        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=20) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert not any(stack.status().values()), "the broker and database must be stopped"
    for name in SERVICE_NAMES:
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{settings.http_port_for(name)}/healthz", timeout=1)
