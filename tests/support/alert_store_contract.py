"""The promises every `AlertStore` keeps, written once and run against each implementation.

A test module subclasses `AlertStoreContract` as `Test...` and gives the class a `store`
fixture that yields a fresh, empty store with its schema ensured:
`tests/unit/alerts/test_fake_alert_store.py` (`MemoryAlertStore`) and
`tests/integration/test_alert_and_scorecard_stores.py` (`MongoAlertStore` on the real local
database).
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.alerts.domain.engine import RememberedValue
from services.alerts.store import AlertStore
from shared.events.canonical import KpiEvent
from shared.messages import Alert, AlertMessages, AlertSeverity, AlertState
from tests.support.scoring_events import survey

T0 = datetime(2024, 5, 1, tzinfo=UTC)
WINDOW = timedelta(days=30)


def alert(
    entity: str = "branch:B01",
    state: AlertState = AlertState.FIRING,
    started_at: datetime = T0,
    kpi: str = "renewal_rate",
    severity: AlertSeverity = AlertSeverity.WARNING,
) -> Alert:
    return Alert(
        alert_id=Alert.make_id("renewal_rate_low", entity, kpi, "2024-05"),
        rule="renewal_rate_low",
        severity=severity,
        state=state,
        entity=entity,
        kpi=kpi,
        period="2024-05",
        value=Decimal("0.7"),
        threshold=Decimal("0.8"),
        message="m",
        messages=AlertMessages(en="m", zh="m", ja="m"),
        runbook_url="docs/runbooks/renewal_rate_low.md",
        started_at=started_at,
        resolved_at=started_at + timedelta(hours=1) if state is AlertState.RESOLVED else None,
    )


def value(period: str = "2024-04", amount: str | None = "0.93") -> RememberedValue:
    return RememberedValue(
        "branch:B01", "persistency_13m", period, None if amount is None else Decimal(amount)
    )


def surveys_at(*ages: timedelta) -> list[KpiEvent]:
    """Surveys that many days before T0, numbered in order."""
    return [survey(n, "A1", T0 - age, 9) for n, age in enumerate(ages, start=1)]


def by_id(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: a.alert_id)


class AlertStoreContract:
    """What the alerts service relies on, for a restart to resume where it stopped."""

    async def test_an_empty_store_restores_and_lists_nothing(self, store: AlertStore) -> None:
        state = await store.load(WINDOW)

        assert (state.alerts, state.values, state.surveys) == ([], [], [])
        assert await store.list_alerts() == []

    async def test_the_schema_can_be_ensured_again(self, store: AlertStore) -> None:
        await store.save([alert()], [], [])
        await store.ensure_schema()

        assert await store.list_alerts() == [alert()]

    async def test_the_last_message_of_an_alert_wins_within_and_across_batches(
        self, store: AlertStore
    ) -> None:
        firing, resolved = alert(), alert(state=AlertState.RESOLVED)
        await store.save([firing, resolved], [], [])
        assert await store.list_alerts() == [resolved]

        again = firing.model_copy(update={"started_at": T0 + timedelta(days=1)})
        await store.save([again], [], [])
        assert await store.list_alerts() == [again]
        assert (await store.load(WINDOW)).alerts == [again]

    async def test_a_batch_saved_twice_is_stored_once(self, store: AlertStore) -> None:
        batch = ([alert()], [value()], surveys_at(timedelta(0)))
        await store.save(*batch)
        await store.save(*batch)  # a batch handled again after a crash

        state = await store.load(WINDOW)
        assert (state.alerts, state.values) == ([alert()], [value()])
        assert [e.key for e in state.surveys] == [e.key for e in batch[2]]

    async def test_alerts_are_listed_newest_first_and_by_state(self, store: AlertStore) -> None:
        old = alert("branch:B01", started_at=T0)
        new = alert("branch:B02", AlertState.RESOLVED, started_at=T0 + timedelta(hours=2))
        tie_a = alert("branch:B03", started_at=T0 + timedelta(hours=1))
        tie_b = alert("branch:B04", started_at=T0 + timedelta(hours=1))
        await store.save([old, tie_b, new, tie_a], [], [])

        assert await store.list_alerts() == [new, *by_id([tie_a, tie_b]), old]
        assert await store.list_alerts(AlertState.FIRING) == [*by_id([tie_a, tie_b]), old]
        assert await store.list_alerts(AlertState.RESOLVED) == [new]

    async def test_every_alert_is_restored(self, store: AlertStore) -> None:
        alerts = [alert(f"branch:B0{n}", started_at=T0 + timedelta(hours=n)) for n in range(3)]
        await store.save(alerts, [], [])

        assert by_id((await store.load(WINDOW)).alerts) == by_id(alerts)

    async def test_the_latest_value_of_each_entity_kpi_and_period_is_restored(
        self, store: AlertStore
    ) -> None:
        await store.save([], [value("2024-04", "0.93"), value("2024-05", "0.91")], [])
        await store.save([], [value("2024-04", "0.95"), value("2024-06", None)], [])

        restored = (await store.load(WINDOW)).values
        assert sorted(restored, key=lambda v: v.period) == [
            value("2024-04", "0.95"),
            value("2024-05", "0.91"),
            value("2024-06", None),
        ]

    async def test_only_the_surveys_inside_the_window_of_the_newest_are_restored(
        self, store: AlertStore
    ) -> None:
        older, at_edge, inside, newest = surveys_at(
            WINDOW + timedelta(days=10), WINDOW, WINDOW - timedelta(seconds=1), timedelta(0)
        )
        await store.save([], [], [older, at_edge])
        await store.save([], [], [newest, inside])

        restored = (await store.load(WINDOW)).surveys
        assert sorted(e.key for e in restored) == sorted([inside.key, newest.key])
        assert {e.key: e for e in restored}[newest.key] == newest
