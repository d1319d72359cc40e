"""The alert lifecycle: fire once, no duplicate while firing, re-send on a severity change,
resolve when the condition clears, fire again later; a hold delays firing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

import pytest
from pydantic import ValidationError

from services.alerts.domain.evaluation import Breach
from services.alerts.domain.lifecycle import AlertBook
from services.alerts.domain.rules import ThresholdRule
from shared.messages import Alert, AlertSeverity, AlertState

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
        "messages": {
            "en": "{entity}: renewal rate {value} for {period} is below {threshold}",
            "zh": "{entity}：{period} 续保率 {value} 低于 {threshold}",
            "ja": "{entity}：{period} の続保率 {value} が {threshold} を下回っています",
        },
    }
)
HELD: Final = RULE.model_copy(update={"hold": timedelta(minutes=10)})
T0: Final = datetime(2024, 3, 15, 9, 0, tzinfo=UTC)
WARNING: Final = Breach(AlertSeverity.WARNING, Decimal("0.75"), Decimal("0.8"))
CRITICAL: Final = Breach(AlertSeverity.CRITICAL, Decimal("0.65"), Decimal("0.7"))


def observe(
    book: AlertBook, breach: Breach | None, minutes: float, rule: ThresholdRule = RULE
) -> Alert | None:
    return book.observe(
        rule,
        "branch:B01",
        kpi="renewal_rate",
        period="2024-03",
        breach=breach,
        now=T0 + timedelta(minutes=minutes),
    )


def test_a_breach_fires_one_alert_in_the_design_shape() -> None:
    book = AlertBook(runbook_base_url="https://wiki.example/runbooks")
    alert = observe(book, WARNING, 0)

    assert alert is not None
    shape = alert.model_dump(mode="json")
    assert set(shape) >= {
        "alert_id", "rule", "severity", "state", "entity", "kpi", "period", "value",
        "threshold", "message", "started_at", "resolved_at", "evidence",
    }  # fmt: skip
    assert shape["alert_id"] == Alert.make_id(
        "renewal_rate_low", "branch:B01", "renewal_rate", "2024-03"
    )
    assert (shape["rule"], shape["severity"], shape["state"]) == (
        "renewal_rate_low",
        "warning",
        "firing",
    )
    assert (shape["value"], shape["threshold"]) == ("0.75", "0.8")
    assert shape["message"] == "branch:B01: renewal rate 0.75 for 2024-03 is below 0.8"
    assert shape["messages"]["ja"] == "branch:B01：2024-03 の続保率 0.75 が 0.8 を下回っています"
    assert shape["runbook_url"] == "https://wiki.example/runbooks/renewal_rate_low.md"
    assert (shape["started_at"], shape["resolved_at"]) == ("2024-03-15T09:00:00Z", None)


def test_no_duplicate_while_firing() -> None:
    book = AlertBook()
    assert observe(book, WARNING, 0) is not None
    same_severity_other_value = Breach(AlertSeverity.WARNING, Decimal("0.71"), Decimal("0.8"))
    assert observe(book, WARNING, 1) is None
    assert observe(book, same_severity_other_value, 2) is None
    assert len(book.firing()) == 1


def test_a_severity_change_is_sent_again_with_the_same_id_and_start() -> None:
    book = AlertBook()
    first = observe(book, WARNING, 0)
    worse = observe(book, CRITICAL, 5)
    assert observe(book, CRITICAL, 6) is None
    better = observe(book, WARNING, 7)

    assert first is not None
    assert worse is not None
    assert better is not None
    assert (worse.severity, worse.state, worse.threshold) == (
        AlertSeverity.CRITICAL,
        AlertState.FIRING,
        Decimal("0.7"),
    )
    assert better.severity is AlertSeverity.WARNING
    assert {first.alert_id, worse.alert_id, better.alert_id} == {first.alert_id}
    assert worse.started_at == better.started_at == first.started_at


def test_it_resolves_when_the_condition_clears_and_only_once() -> None:
    book = AlertBook()
    fired = observe(book, WARNING, 0)
    resolved = observe(book, None, 30)

    assert fired is not None
    assert resolved is not None
    assert resolved.alert_id == fired.alert_id
    assert resolved.state is AlertState.RESOLVED
    assert resolved.started_at == T0
    assert resolved.resolved_at == T0 + timedelta(minutes=30)
    assert observe(book, None, 31) is None
    assert book.firing() == {}


def test_a_clear_condition_that_never_fired_sends_nothing() -> None:
    assert observe(AlertBook(), None, 0) is None


def test_it_fires_again_after_a_resolve_with_a_new_start() -> None:
    book = AlertBook()
    first = observe(book, WARNING, 0)
    observe(book, None, 30)
    again = observe(book, WARNING, 60)

    assert first is not None
    assert again is not None
    assert again.alert_id == first.alert_id
    assert again.state is AlertState.FIRING
    assert again.started_at == T0 + timedelta(minutes=60)


def test_each_rule_entity_kpi_and_period_is_its_own_alert() -> None:
    book = AlertBook()
    march = observe(book, WARNING, 0)
    april = book.observe(
        RULE, "branch:B01", kpi="renewal_rate", period="2024-04", breach=WARNING, now=T0
    )
    assert march is not None
    assert april is not None
    assert march.alert_id != april.alert_id


def test_a_hold_fires_only_once_the_breach_has_lasted_for_it() -> None:
    book = AlertBook()
    assert observe(book, WARNING, 0, HELD) is None
    assert observe(book, WARNING, 9.99, HELD) is None
    fired = observe(book, WARNING, 10, HELD)

    assert fired is not None
    assert fired.started_at == T0  # when the breach was first seen


def test_a_breach_that_clears_during_the_hold_never_fires() -> None:
    book = AlertBook()
    assert observe(book, WARNING, 0, HELD) is None
    assert observe(book, None, 5, HELD) is None
    assert observe(book, WARNING, 12, HELD) is None  # the hold starts again
    assert observe(book, WARNING, 22, HELD) is not None


def test_a_restored_book_does_not_resend_what_was_firing() -> None:
    fired = observe(AlertBook(), WARNING, 0)
    assert fired is not None
    book = AlertBook()
    book.restore([fired])
    assert observe(book, WARNING, 5) is None
    resolved = observe(book, None, 6)
    assert resolved is not None
    assert resolved.state is AlertState.RESOLVED


def test_an_alert_refuses_a_raw_phone_in_its_evidence() -> None:
    fired = observe(AlertBook(), WARNING, 0)
    assert fired is not None
    with pytest.raises(ValidationError, match="phones appear only as hashes"):
        Alert.model_validate(
            fired.model_dump() | {"evidence": {"callback_phone": "+81-90-1234-5678"}}
        )


def test_resolved_at_goes_with_the_resolved_state() -> None:
    fired = observe(AlertBook(), WARNING, 0)
    assert fired is not None
    with pytest.raises(ValidationError, match="resolved_at is set exactly when"):
        Alert.model_validate(fired.model_dump() | {"resolved_at": T0})
