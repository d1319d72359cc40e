"""The Prometheus and Alertmanager configuration in deploy/ is valid, its rules pass their unit
tests, and every alert carries a hold, a severity, a summary and a runbook that exists."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RUNBOOKS = ROOT / "docs" / "runbooks"
RUNBOOK_BASE = "https://git.example.invalid/kpi-platform/blob/main/docs/runbooks/"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: run `make tools` (Debian's prometheus and "
            "prometheus-alertmanager packages provide promtool and amtool)"
        )
    return path


def _run(*args: str) -> str:
    result = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{output}"
    return output


def _alerts() -> list[dict[str, Any]]:
    document = yaml.safe_load((PROMETHEUS / "rules" / "alerts.yml").read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    alerts = [rule for rule in rules if "alert" in rule]
    assert alerts, "alerts.yml defines no alert"
    return alerts


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.local.yml"])
def test_prometheus_config_is_valid(config: str) -> None:
    _run(_tool("promtool"), "check", "config", str(PROMETHEUS / config))


def test_rules_are_valid() -> None:
    rules = sorted(str(path) for path in (PROMETHEUS / "rules").glob("*.yml"))
    assert len(rules) >= 2
    _run(_tool("promtool"), "check", "rules", *rules)


def test_rule_unit_tests_pass() -> None:
    tests = sorted(str(path) for path in (PROMETHEUS / "tests").glob("*.yml"))
    assert tests, "no promtool rule tests in deploy/prometheus/tests/"
    output = _run(_tool("promtool"), "test", "rules", *tests)
    assert "FAILED" not in output, output


def test_every_alert_is_unit_tested() -> None:
    tested = "\n".join(path.read_text() for path in (PROMETHEUS / "tests").glob("*.yml"))
    untested = [a["alert"] for a in _alerts() if f"alertname: {a['alert']}\n" not in tested]
    assert not untested, f"alerts without a promtool test: {untested}"


def test_alertmanager_config_is_valid() -> None:
    _run(_tool("amtool"), "check-config", str(ALERTMANAGER))


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=KpiServiceDown", "severity=critical", "page=true", "job=ingest"], "pager"),
        (
            ["alertname=KpiRenewalRateLow", "severity=warning", "page=false", "branch=B01"],
            "tickets",
        ),
        (["alertname=KpiRuleBreachWarning", "severity=warning", "page=false"], "tickets"),
    ],
)
def test_pages_and_tickets_reach_different_receivers(labels: list[str], receiver: str) -> None:
    output = _run(
        _tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels
    )
    assert output.split("\n")[0].strip() == receiver, output


def test_critical_inhibits_warning_of_the_same_branch() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    assert any(
        'severity="critical"' in rule.get("source_matchers", [])
        and 'severity="warning"' in rule.get("target_matchers", [])
        and rule.get("equal") == ["branch"]
        for rule in config["inhibit_rules"]
    )


@pytest.mark.parametrize("alert", _alerts(), ids=lambda alert: str(alert["alert"]))
def test_alert_has_hold_severity_summary_and_runbook(alert: dict[str, Any]) -> None:
    name = alert["alert"]
    assert alert.get("for"), f"{name} has no `for` hold"
    assert alert.get("labels", {}).get("severity") in {"critical", "warning"}, name
    assert alert.get("labels", {}).get("page") in {"true", "false"}, name
    annotations = alert.get("annotations", {})
    assert annotations.get("summary"), f"{name} has no summary"
    assert annotations.get("description"), f"{name} has no description"
    assert annotations.get("runbook_url") == f"{RUNBOOK_BASE}{name}.md", name
    runbook = RUNBOOKS / f"{name}.md"
    assert runbook.is_file(), f"{name}: missing runbook {runbook.relative_to(ROOT)}"
    assert f"[{name}]({name}.md)" in (RUNBOOKS / "README.md").read_text(), name
