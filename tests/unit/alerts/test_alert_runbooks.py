"""Every alert rule links to a runbook page that exists."""

from pathlib import Path

from services.alerts.domain.rules import load_rules, runbook_url
from shared.kpi.catalogue import load_catalogue


def test_every_rule_has_a_runbook_page() -> None:
    catalogue = load_catalogue(Path("config/kpis.yaml"))
    rules = load_rules(Path("config/alerts.yaml"), kpi_ids=catalogue.ids)
    missing = [rule.id for rule in rules if not Path(runbook_url(rule, "docs/runbooks")).is_file()]
    assert missing == []
