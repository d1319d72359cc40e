"""The promises every `AlertQueries` keeps (the alerts service's read model), written once and
run against each implementation.

A test module subclasses `AlertQueriesContract` as `Test...` and gives the class a `fill`
fixture: an async function that takes alert messages in the order the alerts service sent them
and returns a read model holding them. `tests/unit/alerts/test_alert_read_model.py` runs it on
the fake, `tests/integration/test_alert_and_scorecard_stores.py` on MongoDB (filled through the
alerts service's own store).
"""

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeAlias

from services.alerts.read_model import AlertQueries
from shared.messages import Alert, AlertSeverity, AlertState
from tests.support.alert_store_contract import T0, alert, by_id

RULE = "fraud_shared_callback_phone"
Fill: TypeAlias = Callable[[Sequence[Alert]], Awaitable[AlertQueries]]


def fraud_alert() -> Alert:
    """A fraud alert whose evidence holds a phone hash and customer ids, as the rule finds it."""
    return alert("agent:A0001", kpi="survey_top_box").model_copy(
        update={
            "alert_id": Alert.make_id(
                "fraud_shared_callback_phone", "agent:A0001", None, "2024-05"
            ),
            "rule": RULE,
            "severity": AlertSeverity.CRITICAL,
            "kpi": None,
            "evidence": {
                "callback_phone_hash": "hmac-sha256:" + "ab" * 32,
                "customer_ids": ["C-1", "C-2", "C-3"],
                "response_ids": ["R1", "R2", "R3"],
                "window_days": 30.0,
            },
        }
    )


class AlertQueriesContract:
    """What reporting and `kpi alerts` rely on when they read alerts."""

    async def test_nothing_stored_lists_nothing(self, fill: Fill) -> None:
        queries = await fill([])

        assert await queries.alerts() == []
        assert await queries.alerts(AlertState.FIRING) == []
        assert await queries.alerts(AlertState.RESOLVED) == []

    async def test_the_latest_message_of_an_alert_is_the_one_read(self, fill: Fill) -> None:
        firing = alert()
        resolved = alert(state=AlertState.RESOLVED)
        again = firing.model_copy(update={"started_at": T0 + timedelta(days=1)})

        assert await (await fill([firing, resolved])).alerts() == [resolved]
        assert await (await fill([firing, resolved, again])).alerts() == [again]

    async def test_newest_first_ties_by_id_and_by_state(self, fill: Fill) -> None:
        old = alert("branch:B01", started_at=T0)
        new = alert("branch:B02", AlertState.RESOLVED, started_at=T0 + timedelta(hours=2))
        tie_a = alert("branch:B03", started_at=T0 + timedelta(hours=1))
        tie_b = alert("branch:B04", started_at=T0 + timedelta(hours=1))
        queries = await fill([old, tie_b, new, tie_a])

        assert await queries.alerts() == [new, *by_id([tie_a, tie_b]), old]
        assert await queries.alerts(AlertState.FIRING) == [*by_id([tie_a, tie_b]), old]
        assert await queries.alerts(AlertState.RESOLVED) == [new]

    async def test_an_alert_reads_back_whole_evidence_and_texts_included(self, fill: Fill) -> None:
        found = fraud_alert()

        assert await (await fill([found])).alerts() == [found]
