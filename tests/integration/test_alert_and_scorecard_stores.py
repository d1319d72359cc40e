"""The alerts and reporting stores on the real local database: idempotent saves, newest
revisions, what a restart restores."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.alerts.domain.engine import RememberedValue
from services.alerts.store import MongoAlertStore
from services.reporting.store import MongoScorecardStore
from shared.messages import Alert, AlertMessages, AlertSeverity, AlertState
from shared.messages.scorecard import Grade, Scorecard, ScorecardStatus
from tests.support.scoring_events import survey

pytestmark = pytest.mark.integration

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _alert(entity: str, state: AlertState) -> Alert:
    return Alert(
        alert_id=Alert.make_id("renewal_rate_low", entity, "renewal_rate", "2024-05"),
        rule="renewal_rate_low",
        severity=AlertSeverity.WARNING,
        state=state,
        entity=entity,
        kpi="renewal_rate",
        period="2024-05",
        value=Decimal("0.7"),
        threshold=Decimal("0.8"),
        message="m",
        messages=AlertMessages(en="m", zh="m", ja="m"),
        runbook_url="docs/runbooks/renewal_rate_low.md",
        started_at=T0,
        resolved_at=T0 + timedelta(hours=1) if state is AlertState.RESOLVED else None,
    )


async def test_the_alert_store_keeps_the_newest_message_and_restores_the_fraud_window(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    store = MongoAlertStore(mongo_client, f"alerts_{unique}"[:60])
    await store.ensure_schema()
    entity = "branch:B01"
    firing, resolved = _alert(entity, AlertState.FIRING), _alert(entity, AlertState.RESOLVED)
    old = survey(1, "A1", T0 - timedelta(days=40), 9)
    recent = survey(2, "A1", T0, 9)
    value = RememberedValue(entity, "persistency_13m", "2024-04", Decimal("0.93"))
    await store.save([firing], [value], [old, recent])
    await store.save([firing, resolved], [value], [recent])  # a batch handled twice

    assert await store.list_alerts() == [resolved]
    assert await store.list_alerts(AlertState.FIRING) == []
    state = await store.load(timedelta(days=30))
    assert state.alerts == [resolved]
    assert state.values == [value]
    assert [e.key for e in state.surveys] == [recent.key]  # outside the window: not restored


def _card(entity: str, period: str, revision: int) -> Scorecard:
    return Scorecard(
        scorecard_id=Scorecard.make_id(entity, period, "branch", revision),
        entity=entity,
        period=period,
        profile="branch",
        revision=revision,
        status=ScorecardStatus.PROVISIONAL if revision == 1 else ScorecardStatus.REVISED,
        quantitative_score=Decimal(80 + revision),
        qualitative_score=None,
        final_score=Decimal(80 + revision),
        grade=Grade.QUALIFIED,
        rank=None,
        peers=0,
        quadrant=None,
        kpis=[],
        activity=True,
        as_of=T0,
    )


async def test_the_scorecard_store_answers_the_newest_revision_and_remembers_the_close(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    store = MongoScorecardStore(mongo_client, f"cards_{unique}"[:60])
    await store.ensure_schema()
    await store.save([_card("branch:B01", "2024-04", 1), _card("branch:B02", "2024-04", 1)])
    await store.save([_card("branch:B01", "2024-04", 2), _card("branch:B01", "2024-04", 2)])
    await store.save([_card("branch:B01", "2024-05", 1)])

    newest = await store.latest_of_period("2024-04")
    assert {e: c.revision for e, c in newest.items()} == {"branch:B01": 2, "branch:B02": 1}
    history = await store.latest("branch:B01", ["2024-04", "2024-05", "2024-06"])
    assert {p: c.revision for p, c in history.items()} == {"2024-04": 2, "2024-05": 1}

    assert await store.horizon() is None
    await store.set_horizon("2024-04")
    await store.mark_final("2024-04")
    await store.mark_final("2024-04")
    assert await store.horizon() == "2024-04"
    assert await store.final_periods() == {"2024-04"}
