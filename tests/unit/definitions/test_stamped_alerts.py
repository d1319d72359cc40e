"""Alerts carry the definitions version the alerts service loaded: when they fire, when their
severity changes and when they resolve; without a version, the field stays null as before."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from services.alerts.domain.evaluation import Breach
from services.alerts.domain.lifecycle import AlertBook
from services.alerts.domain.rules import ThresholdRule
from shared.messages import Alert, AlertSeverity, AlertState, Definitions

RULE: Final = ThresholdRule.model_validate(
    {
        "id": "renewal_rate_low",
        "type": "threshold",
        "kpi": "renewal_rate",
        "direction": "below",
        "threshold": "0.8",
        "severity": "warning",
        "escalate": {"threshold": "0.7", "severity": "critical"},
        "levels": ["branch"],
        "runbook_url": "renewal_rate_low.md",
        "messages": {"en": "{entity} low", "zh": "{entity} 低", "ja": "{entity} 低い"},
    }
)
T0: Final = datetime(2024, 3, 15, 9, 0, tzinfo=UTC)
VERSION: Final = Definitions(hash="00112233445566ff", label="FY2024 scheme")


def observe(book: AlertBook, breach: Breach | None, minutes: int) -> Alert | None:
    return book.observe(
        RULE,
        "branch:B01",
        kpi="renewal_rate",
        period="2024-03",
        breach=breach,
        now=T0 + timedelta(minutes=minutes),
    )


def test_every_alert_sent_carries_the_version() -> None:
    book = AlertBook(definitions=VERSION)
    fired = observe(book, Breach(AlertSeverity.WARNING, Decimal("0.75"), Decimal("0.8")), 0)
    escalated = observe(book, Breach(AlertSeverity.CRITICAL, Decimal("0.6"), Decimal("0.7")), 1)
    resolved = observe(book, None, 2)
    assert fired is not None
    assert escalated is not None
    assert resolved is not None
    assert [a.state for a in (fired, escalated, resolved)] == [
        AlertState.FIRING,
        AlertState.FIRING,
        AlertState.RESOLVED,
    ]
    assert {a.definitions for a in (fired, escalated, resolved)} == {VERSION}
    assert '"definitions":{"hash":"00112233445566ff","label":"FY2024 scheme"}' in (
        resolved.model_dump_json()
    )


def test_an_alert_restored_from_before_versions_resolves_with_the_current_version() -> None:
    book = AlertBook()
    old = observe(book, Breach(AlertSeverity.WARNING, Decimal("0.75"), Decimal("0.8")), 0)
    assert old is not None
    assert old.definitions is None
    restarted = AlertBook(definitions=VERSION)
    restarted.restore([old])
    resolved = observe(restarted, None, 5)
    assert resolved is not None
    assert resolved.definitions == VERSION
    assert Alert.model_validate_json(old.model_dump_json(exclude={"definitions"})) == old
