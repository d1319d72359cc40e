"""Write monitoring/prometheusrule.yaml from deploy/prometheus/rules/*.yml.

The rule files stay the one source (promtool checks and unit-tests them); the PrometheusRule is
their copy for the Prometheus Operator. Run after changing a rule:
    .venv/bin/python deploy/kubernetes/monitoring/render_prometheusrule.py
tests/static/test_deploy_manifests.py fails while the two differ.
"""

from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
RULES = HERE.parents[1] / "prometheus" / "rules"
TARGET = HERE / "prometheusrule.yaml"
HEADER = (
    "# GENERATED from deploy/prometheus/rules/*.yml by render_prometheusrule.py: do not edit.\n"
    "# tests/static/test_deploy_manifests.py fails while the two differ.\n"
)


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as block scalars, like the rule files they come from."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", data, style="|" if "\n" in data else None
    )


_Dumper.add_representer(str, _str)


def render() -> str:
    """The PrometheusRule document for every group of every rule file, in file-name order."""
    groups: list[Any] = []
    for path in sorted(RULES.glob("*.yml")):
        groups.extend(yaml.safe_load(path.read_text())["groups"])
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "kpi-platform",
            "labels": {"app.kubernetes.io/part-of": "kpi-platform"},
        },
        "spec": {"groups": groups},
    }
    return HEADER + yaml.dump(rule, Dumper=_Dumper, sort_keys=False, width=120)


if __name__ == "__main__":
    TARGET.write_text(render())
