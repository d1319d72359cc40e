"""Which published alerts a restarting service adopts because its store missed them."""

from datetime import timedelta

from services.alerts.domain.published import missed_by_store
from shared.messages import AlertSeverity, AlertState
from tests.support.alert_store_contract import T0, alert


def test_a_store_that_holds_the_newest_message_misses_nothing() -> None:
    firing, resolved = alert(), alert(state=AlertState.RESOLVED)
    assert missed_by_store({firing.alert_id: resolved}, [firing, resolved]) == []


def test_an_alert_published_and_never_stored_is_adopted() -> None:
    firing = alert()
    assert missed_by_store({}, [firing]) == [firing]


def test_a_store_behind_the_topic_adopts_the_newest_message() -> None:
    firing, critical = alert(), alert(severity=AlertSeverity.CRITICAL)
    resolved = alert(state=AlertState.RESOLVED)
    assert missed_by_store({firing.alert_id: firing}, [firing, critical, resolved]) == [resolved]


def test_a_copy_published_twice_is_not_a_newer_message() -> None:
    firing = alert()
    assert missed_by_store({firing.alert_id: firing}, [firing, firing]) == []


def test_a_stored_message_the_topic_lost_wins() -> None:
    # The topic was emptied (a local broker restarted): the store knows better.
    older, newer = alert(), alert(started_at=T0 + timedelta(days=1))
    assert missed_by_store({older.alert_id: newer}, [older]) == []


def test_alerts_of_other_entities_are_judged_apart() -> None:
    a, b = alert("branch:B01"), alert("branch:B02")
    assert missed_by_store({a.alert_id: a}, [a, b]) == [b]
