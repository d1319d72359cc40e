"""The alerts service's error handling: a record the engine fails on, or whose alerts the
broker refuses for good, is dead-lettered as processing_error and its partition moves on; a
transient failure is retried with backoff."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from prometheus_client import CollectorRegistry

from services.alerts.domain.engine import AlertEngine, RememberedValue
from services.alerts.domain.rules import load_rules
from services.alerts.metrics import AlertGauges, AlertsMetrics, KpiGauges
from services.alerts.service import AlertsService, RawRecord
from services.alerts.store import StoredState
from shared import topics
from shared.config.loading import load_calendar
from shared.errors import OutputError, StoreUnavailable
from shared.events.canonical import KpiEvent
from shared.kafka_output import Outbound
from shared.kpi.catalogue import load_catalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages import Alert, AlertState, DeadLetter, Score
from tests.support.fakes import FakeClock, RecordingOutput, RecordingSleep

CONFIG: Final = Path("config")
T0: Final = datetime(2024, 5, 20, 9, 0, tzinfo=UTC)


class SavedAlerts:
    """An `AlertStore` that keeps what it was asked to save."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def ensure_schema(self) -> None:
        return None

    async def load(self, survey_window: timedelta) -> StoredState:
        return StoredState([], [], [])

    async def save(
        self,
        alerts: Sequence[Alert],
        values: Sequence[RememberedValue],
        surveys: Sequence[KpiEvent],
    ) -> None:
        self.alerts += alerts

    async def list_alerts(self, state: AlertState | None = None) -> list[Alert]:
        return list(self.alerts)


class UnavailableAlerts(SavedAlerts):
    """The database is down for the next `failures` saves."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def save(
        self,
        alerts: Sequence[Alert],
        values: Sequence[RememberedValue],
        surveys: Sequence[KpiEvent],
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("no primary: connection refused")
        await super().save(alerts, values, surveys)


class PoisonedEngine(AlertEngine):
    """Raises, as a bug would, on any score of the poisoned entity."""

    poisoned = "branch:B02"

    def on_scores(self, scores: Sequence[Score]) -> tuple[list[Alert], list[RememberedValue]]:
        if any(score.entity == self.poisoned for score in scores):
            raise ArithmeticError("no previous period")
        return super().on_scores(scores)


class RefusingOutput(RecordingOutput):
    """Refuses for good any call that carries an alert on the refused entity."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused.encode()

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        if any(m.topic == topics.ALERTS and m.key == self.refused for m in messages):
            raise OutputError("cannot publish 1 messages: MessageSizeTooLargeError")
        await super().send_all(messages)


def service(
    output: RecordingOutput, store: SavedAlerts
) -> tuple[AlertsService, CollectorRegistry, RecordingSleep]:
    calendar = FiscalCalendar(load_calendar(CONFIG / "calendar.yaml"))
    catalogue = load_catalogue(CONFIG / "kpis.yaml")
    rules = load_rules(CONFIG / "alerts.yaml", kpi_ids={k.id for k in catalogue})
    registry, sleep = CollectorRegistry(), RecordingSleep()
    levels = frozenset({"company", "region", "branch"})
    svc = AlertsService(
        engine=PoisonedEngine(rules, calendar, started_at=T0),
        store=store,
        output=output,
        metrics=AlertsMetrics(registry),
        kpi_gauges=KpiGauges(registry, levels),
        alert_gauges=AlertGauges(registry, levels, lambda e: None),
        clock=FakeClock(T0),
        max_backoff_s=0.05,
        sleep=sleep,
    )
    return svc, registry, sleep


def low_renewals(entity: str, minutes: float) -> Score:
    """A renewal rate of 0.5: renewal_rate_low fires once it holds for 10 minutes."""
    value = Decimal("0.5")
    return Score(
        score_id=Score.make_id(
            entity, "2024-05", "renewal_rate", numerator=value, denominator=Decimal(1), revision=1
        ),
        entity=entity,
        period="2024-05",
        kpi="renewal_rate",
        value=value,
        numerator=value,
        denominator=Decimal(1),
        target=None,
        attainment=None,
        revision=1,
        as_of=T0 + timedelta(minutes=minutes),
    )


def records(first: int, *scores: Score) -> list[RawRecord]:
    return [
        RawRecord(topics.SCORES, 3, first + n, s.model_dump_json().encode())
        for n, s in enumerate(scores)
    ]


def letters(output: RecordingOutput) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(m.value) for m in output.on(topics.DEADLETTER)]


def fired(output: RecordingOutput) -> list[str]:
    return [Alert.model_validate_json(m.value).entity for m in output.on(topics.ALERTS)]


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_a_record_the_engine_fails_on_is_dead_lettered_and_the_rest_evaluated() -> None:
    output, store = RecordingOutput(), SavedAlerts()
    svc, registry, sleep = service(output, store)
    await svc.handle_scores(records(0, low_renewals("branch:B01", 0)))
    batch = records(1, low_renewals("branch:B02", 5), low_renewals("branch:B01", 11))

    await svc.handle_scores(batch)

    [letter] = letters(output)
    assert (letter.reason, letter.source_topic, letter.partition, letter.offset) == (
        "processing_error",
        topics.SCORES,
        3,
        1,
    )
    assert "ArithmeticError: no previous period" in letter.detail
    assert letter.payload == batch[0].value
    assert fired(output) == ["branch:B01"]
    assert [a.entity for a in store.alerts] == ["branch:B01"]
    assert metric(registry, "kpi_alerts_rejected_total", topic=topics.SCORES) == 1
    assert metric(registry, "kpi_alerts_processing_errors_total") == 1
    assert sleep.delays == []


async def test_a_record_whose_alert_is_refused_for_good_is_dead_lettered() -> None:
    output, store = RefusingOutput("branch:B05"), SavedAlerts()
    svc, registry, sleep = service(output, store)
    await svc.handle_scores(
        records(0, low_renewals("branch:B01", 0), low_renewals("branch:B05", 0))
    )

    await svc.handle_scores(
        records(2, low_renewals("branch:B05", 11), low_renewals("branch:B01", 11))
    )

    [letter] = letters(output)
    assert (letter.reason, letter.offset) == ("processing_error", 2)
    assert "OutputError" in letter.detail
    assert fired(output) == ["branch:B01"]
    assert [a.entity for a in store.alerts] == ["branch:B01"]
    assert sleep.delays == []
    # The batch, then the record on its own, failed for good.
    assert metric(registry, "kpi_alerts_processing_errors_total") == 2

    # The partition moves on: the next record is evaluated and published as usual.
    await svc.handle_scores(records(4, low_renewals("branch:B01", 12)))
    assert len(letters(output)) == 1


async def test_a_transient_failure_is_retried_with_backoff_not_dead_lettered() -> None:
    output, store = RecordingOutput(), SavedAlerts()
    svc, registry, sleep = service(output, store)
    await svc.handle_scores(records(0, low_renewals("branch:B01", 0)))
    output.fail_next(3)

    await svc.handle_scores(records(1, low_renewals("branch:B01", 11)))

    assert fired(output) == ["branch:B01"]
    assert letters(output) == []
    assert sleep.delays == [0.05, 0.05, 0.05]
    assert metric(registry, "kpi_alerts_retries_total") == 3
    assert metric(registry, "kpi_alerts_processing_errors_total") == 0


async def test_a_database_outage_retries_the_store_alone_and_the_alert_fires_once() -> None:
    """The CI failure of 2026-11-29: each retry of a batch whose store was down published its
    alerts again, and an episode fired 2-9 times during a 30 s database outage."""
    output, store = RecordingOutput(), UnavailableAlerts(failures=0)
    svc, registry, sleep = service(output, store)
    await svc.handle_scores(records(0, low_renewals("branch:B01", 0)))
    store.failures = 4

    await svc.handle_scores(records(1, low_renewals("branch:B01", 11)))

    assert fired(output) == ["branch:B01"]
    assert [a.entity for a in store.alerts] == ["branch:B01"]
    assert letters(output) == []
    assert sleep.delays == [0.05] * 4
    assert metric(registry, "kpi_alerts_retries_total") == 4
