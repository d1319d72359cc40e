"""Which published alerts a restarting service adopts because its store missed them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.alerts.domain.published import missed_by_store
from shared.messages import Alert, AlertSeverity, AlertState
from shared.messages.alert import AlertMessages

T0 = datetime(2024, 5, 20, 9, 0, tzinfo=UTC)


def alert(
    entity: str = "branch:B01",
    severity: AlertSeverity = AlertSeverity.WARNING,
    resolved: bool = False,
    started: datetime = T0,
) -> Alert:
    return Alert(
        alert_id=Alert.make_id("renewal_rate_low", entity, "renewal_rate", "2024-05"),
        rule="renewal_rate_low",
        severity=severity,
        state=AlertState.RESOLVED if resolved else AlertState.FIRING,
        entity=entity,
        kpi="renewal_rate",
        period="2024-05",
        value=Decimal("0.7"),
        threshold=Decimal("0.8"),
        message="low",
        messages=AlertMessages(en="low", zh="低", ja="低い"),
        runbook_url="https://runbooks/renewal_rate_low",
        started_at=started,
        resolved_at=started + timedelta(hours=1) if resolved else None,
    )


def test_a_store_that_holds_the_newest_message_misses_nothing() -> None:
    firing, resolved = alert(), alert(resolved=True)
    assert missed_by_store({firing.alert_id: resolved}, [firing, resolved]) == []


def test_an_alert_published_and_never_stored_is_adopted() -> None:
    firing = alert()
    assert missed_by_store({}, [firing]) == [firing]


def test_a_store_behind_the_topic_adopts_the_newest_message() -> None:
    firing, critical = alert(), alert(severity=AlertSeverity.CRITICAL)
    resolved = alert(resolved=True)
    assert missed_by_store({firing.alert_id: firing}, [firing, critical, resolved]) == [resolved]


def test_a_copy_published_twice_is_not_a_newer_message() -> None:
    firing = alert()
    assert missed_by_store({firing.alert_id: firing}, [firing, firing]) == []


def test_a_stored_message_the_topic_lost_wins() -> None:
    # The topic was emptied (a local broker restarted): the store knows better.
    older, newer = alert(), alert(started=T0 + timedelta(days=1))
    assert missed_by_store({older.alert_id: newer}, [older]) == []


def test_alerts_of_other_entities_are_judged_apart() -> None:
    a, b = alert("branch:B01"), alert("branch:B02")
    assert missed_by_store({a.alert_id: a}, [a, b]) == [b]
