"""A real Prometheus (Debian's package) scraping the four running services with the rule files of
deploy/prometheus: a KPI breach caused by replayed events shows as a firing alert in
Prometheus's /api/v1/alerts, and a stopped service fires the pipeline page.

The rule files are used as they are except for their holds: every `for:` becomes 1s and the
1-minute group interval 1s, so the test waits seconds, not the hour a real ticket waits (the
holds themselves are tested by `promtool test rules` in make deploy-check).
"""

import asyncio
import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared import topics
from shared.localstack import LocalStack
from shared.localstack.probes import free_port_block
from shared.settings import SERVICE_NAMES, Settings
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import publish_raw, read_until

pytestmark = pytest.mark.e2e

RULES = Path("deploy/prometheus/rules")
AGENTS = ("A0210", "A0213")  # team T09 of branch B03
PROMETHEUS = shutil.which("prometheus")


def _renewal(n: int, action: str, at: str) -> bytes:
    return json.dumps(
        {
            "event_id": f"ren-{n}-{action}",
            "event_type": "renewal",
            "schema_version": 1,
            "occurred_at": at,
            "source": "renewal-desk",
            "agent_id": AGENTS[n % 2],
            "renewal_id": f"R{n:07d}",
            "policy_id": f"P{n:07d}",
            "action": action,
            "due_date": "2024-05-31",
            "premium": "82000",
            "currency": "JPY",
            "channel": "phone",
        }
    ).encode()


def _half_renewed(first: int, at: str) -> list[bytes]:
    """Ten renewals falling due, five renewed and five lost: a 50 % renewal rate."""
    due = [_renewal(n, "due", at) for n in range(first, first + 10)]
    outcomes = [_renewal(n, "renewed" if n % 2 else "lost", at) for n in range(first, first + 10)]
    return due + outcomes


def _prometheus_config(tmp: Path, settings: Settings) -> Path:
    for source in RULES.glob("*.yml"):
        text = source.read_text(encoding="utf-8")
        text = re.sub(r"(\n\s+for:) \S+", r"\1 1s", text)
        text = re.sub(r"(\n\s+interval:) \S+", r"\1 1s", text)
        (tmp / source.name).write_text(text, encoding="utf-8")
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / p.name) for p in RULES.glob("*.yml")],
        "scrape_configs": [
            {
                "job_name": name,
                "static_configs": [{"targets": [f"127.0.0.1:{settings.http_port_for(name)}"]}],
            }
            for name in SERVICE_NAMES
        ],
    }
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def services(
    private_stack: LocalStack, tmp_path: Path
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    env = service_env(private_stack.settings) | {"KPI_ALERTS_TICK_S": "1"}
    children = {
        name: subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", name],
            env=env,
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


@pytest.fixture
def prometheus(private_stack: LocalStack, tmp_path: Path) -> Iterator[str]:
    if PROMETHEUS is None:
        pytest.fail("prometheus is not installed: run `make tools` (Debian's prometheus)")
    port = free_port_block(1)
    config = _prometheus_config(tmp_path, private_stack.settings)
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=(tmp_path / "prometheus.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=20)


Match = Callable[[dict[str, Any]], bool]


async def _firing(base: str, match: Match, timeout_s: float) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        deadline = asyncio.get_running_loop().time() + timeout_s
        seen: list[dict[str, Any]] = []
        while asyncio.get_running_loop().time() < deadline:
            try:
                seen = (await http.get("/api/v1/alerts")).json()["data"]["alerts"]
            except httpx.TransportError:
                seen = []
            for alert in seen:
                if alert["state"] == "firing" and match(alert["labels"]):
                    return alert
            await asyncio.sleep(1)
    raise AssertionError(f"no such firing alert after {timeout_s}s; alerts: {seen}")


async def test_a_kpi_breach_and_a_stopped_service_fire_in_prometheus(
    private_stack: LocalStack,
    services: dict[str, subprocess.Popen[bytes]],
    prometheus: str,
) -> None:
    settings = private_stack.settings

    # Two batches of a 50 % renewal rate at branch B03, 25 minutes of stream time apart: the
    # rule's 10-minute hold (in stream time) has passed when the second one is scored. 50 % is
    # under the rule's escalation limit (70 %), so the ticket is the critical one.
    await publish_raw(settings, _half_renewed(1, "2024-05-10T10:00:00+09:00"))

    def scored(records: list[Any]) -> bool:
        # The whole first batch: its two agents' events sit on two partitions, and the renewal
        # rate of the one scored first alone is 0 % or 100 %. A 100 % clears the hold, so the
        # second batch would start it afresh and never outlast it (CI run of 2026-11-30).
        return any(
            (score := json.loads(r.value))["entity"] == "branch:B03"
            and score["kpi"] == "renewal_rate"
            and score["period"] == "2024-05"
            and Decimal(str(score["denominator"])) == 10
            for r in records
        )

    assert scored(await read_until(settings, [topics.SCORES], scored, timeout_s=120))
    await publish_raw(settings, _half_renewed(11, "2024-05-10T10:25:00+09:00"))

    breach = await _firing(
        prometheus,
        lambda labels: (
            labels.get("alertname") == "KpiRuleBreachCritical"
            and labels.get("rule") == "renewal_rate_low"
            and labels.get("entity") == "branch:B03"
        ),
        timeout_s=180,
    )
    assert breach["labels"]["branch"] == "B03"
    assert breach["labels"]["page"] == "false"
    assert breach["annotations"]["runbook_url"].endswith("KpiRuleBreachCritical.md")

    reporting = services["reporting"]
    reporting.send_signal(signal.SIGTERM)
    reporting.wait(timeout=15)
    page = await _firing(
        prometheus,
        lambda labels: (
            labels.get("alertname") == "KpiServiceDown" and labels.get("job") == "reporting"
        ),
        timeout_s=60,
    )
    assert page["labels"]["severity"] == "critical"
    assert page["labels"]["page"] == "true"
