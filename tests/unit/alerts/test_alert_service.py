"""The alerts service around its engine, with fakes for the store and the broker: what is
published and stored, restart without re-sending, drop rules across periods, fraud findings
that expire, staleness on the clock, dead letters, retries, and bounded gauges."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from services.alerts.domain.engine import AlertEngine
from services.alerts.domain.rules import load_rules
from services.alerts.metrics import AlertGauges, AlertsMetrics, KpiGauges
from services.alerts.service import AlertsService, RawRecord
from shared import topics
from shared.config.loading import load_calendar
from shared.events.canonical import KpiEvent
from shared.kpi.catalogue import load_catalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages import Alert, AlertState, DeadLetter, Score
from shared.settings import Settings
from tests.support.fake_alert_store import MemoryAlertStore
from tests.support.fakes import FakeClock, RecordingOutput, RecordingSleep
from tests.support.scoring_events import survey

CONFIG: Final = Path("config")
T0: Final = datetime(2024, 5, 20, 9, 0, tzinfo=UTC)


def calendar() -> FiscalCalendar:
    return FiscalCalendar(load_calendar(CONFIG / "calendar.yaml"))


def engine(started_at: datetime = T0) -> AlertEngine:
    catalogue = load_catalogue(CONFIG / "kpis.yaml")
    rules = load_rules(CONFIG / "alerts.yaml", kpi_ids={k.id for k in catalogue})
    return AlertEngine(rules, calendar(), started_at=started_at)


class ReadBack:
    """What `output` holds on kpi.alerts.v1, as the service reads it back at start."""

    def __init__(self, output: RecordingOutput) -> None:
        self._output = output

    async def read(self) -> list[Alert]:
        return published(self._output)


def service(
    store: MemoryAlertStore,
    output: RecordingOutput,
    clock: FakeClock | None = None,
    read_back: bool = False,
) -> tuple[AlertsService, CollectorRegistry]:
    registry = CollectorRegistry()
    levels = frozenset({"company", "region", "branch"})
    svc = AlertsService(
        engine=engine(),
        store=store,
        output=output,
        metrics=AlertsMetrics(registry),
        kpi_gauges=KpiGauges(registry, levels),
        alert_gauges=AlertGauges(registry, levels, lambda e: "branch:B01"),
        clock=clock or FakeClock(T0),
        published=ReadBack(output) if read_back else None,
        max_backoff_s=0.01,
        sleep=RecordingSleep(),  # retries wait on nothing real
    )
    return svc, registry


def score(
    entity: str, period: str, kpi: str, value: str | None, minutes: float = 0, revision: int = 1
) -> Score:
    number = None if value is None else Decimal(value)
    return Score(
        score_id=Score.make_id(
            entity, period, kpi, numerator=number, denominator=Decimal(1), revision=revision
        ),
        entity=entity,
        period=period,
        kpi=kpi,
        value=number,
        numerator=number,
        denominator=Decimal(1),
        target=None,
        attainment=None,
        revision=revision,
        as_of=T0 + timedelta(minutes=minutes),
    )


def records(*messages: Score | KpiEvent | bytes) -> list[RawRecord]:
    out = []
    for n, message in enumerate(messages):
        topic = topics.SCORES if isinstance(message, Score) else topics.EVENTS
        value = message if isinstance(message, bytes) else message.model_dump_json().encode()
        out.append(RawRecord(topic, 0, n, value))
    return out


def published(output: RecordingOutput) -> list[Alert]:
    return [Alert.model_validate_json(m.value) for m in output.on(topics.ALERTS)]


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def test_a_breach_held_long_enough_is_published_keyed_by_entity_and_stored() -> None:
    store, output = MemoryAlertStore(), RecordingOutput()
    svc, registry = service(store, output)
    # renewal_rate_low: below 0.8 at branch level, held 10 minutes of stream time.
    await svc.handle_scores(records(score("branch:B01", "2024-05", "renewal_rate", "0.75")))
    assert published(output) == []
    await svc.handle_scores(records(score("branch:B01", "2024-05", "renewal_rate", "0.74", 10)))
    await svc.handle_scores(records(score("branch:B01", "2024-05", "renewal_rate", "0.73", 20)))

    [alert] = published(output)
    assert (alert.rule, alert.state, alert.entity) == ("renewal_rate_low", "firing", "branch:B01")
    assert output.on(topics.ALERTS)[0].key == b"branch:B01"
    assert store.alerts[alert.alert_id] == alert
    labels = {"rule": "renewal_rate_low", "severity": "warning"}
    assert (
        sample(registry, "kpi_alert_firing", **labels, entity_level="branch", entity="branch:B01")
        == 1
    )
    assert (
        sample(registry, "kpi_alerts_published_total", rule="renewal_rate_low", state="firing") == 1
    )


async def test_a_restarted_service_does_not_resend_a_firing_alert_but_resolves_it() -> None:
    store, output = MemoryAlertStore(), RecordingOutput()
    first, _ = service(store, output)
    await first.handle_scores(records(score("branch:B01", "2024-05", "renewal_rate", "0.7", 0)))
    await first.handle_scores(records(score("branch:B01", "2024-05", "renewal_rate", "0.7", 11)))
    assert len(published(output)) == 1

    again, registry = service(store, output)
    await again.start()
    assert (
        sample(
            registry,
            "kpi_alert_firing",
            rule="renewal_rate_low",
            severity="warning",
            entity_level="branch",
            entity="branch:B01",
        )
        == 1
    )
    await again.handle_scores(records(score("branch:B01", "2024-05", "renewal_rate", "0.7", 30)))
    assert len(published(output)) == 1  # still firing: no duplicate
    await again.handle_scores(records(score("branch:B01", "2024-05", "renewal_rate", "0.9", 40)))

    resolved = published(output)[-1]
    assert resolved.state is AlertState.RESOLVED
    assert resolved.alert_id == published(output)[0].alert_id
    assert (
        sample(
            registry,
            "kpi_alert_firing",
            rule="renewal_rate_low",
            severity="warning",
            entity_level="branch",
            entity="branch:B01",
        )
        is None
    )


async def test_a_firing_published_and_not_stored_before_a_crash_is_not_sent_again() -> None:
    # The first instance publishes the firing and dies before its store write: its batch's
    # offsets are not committed, so the restarted instance reads the same scores again.
    output = RecordingOutput()
    lost, _ = service(MemoryAlertStore(), output)  # a store whose writes never land
    batch = [score("branch:B01", "2024-05", "renewal_rate", "0.7", m) for m in (0, 11)]
    for one in batch:
        await lost.handle_scores(records(one))
    [firing] = published(output)
    store = MemoryAlertStore()

    again, _ = service(store, output, read_back=True)
    await again.start()
    assert store.alerts == {firing.alert_id: firing}  # adopted from the topic
    for one in batch:
        await again.handle_scores(records(one))
    assert published(output) == [firing]  # the re-read batch does not fire it again

    await again.handle_scores(records(score("branch:B01", "2024-05", "renewal_rate", "0.9", 40)))
    assert [a.state for a in published(output)] == [AlertState.FIRING, AlertState.RESOLVED]


async def test_a_drop_compares_with_the_previous_month_remembered_across_a_restart() -> None:
    store, output = MemoryAlertStore(), RecordingOutput()
    first, _ = service(store, output)
    await first.handle_scores(records(score("branch:B02", "2024-04", "persistency_13m", "0.93")))

    again, _ = service(store, output)
    await again.start()
    # persistency_13m_drop: down 5 points or more month on month, held 10 minutes.
    for minutes in (0, 10):
        await again.handle_scores(
            records(score("branch:B02", "2024-05", "persistency_13m", "0.88", minutes))
        )

    [alert] = published(output)
    assert alert.rule == "persistency_13m_drop"
    assert alert.value == Decimal("0.05")
    assert alert.evidence["previous_value"] == "0.93"


def _survey(n: int, customer: str, at: datetime, phone: str) -> KpiEvent:
    event = survey(n, "A1", at, 10)
    return event.model_copy(
        update={
            "event": event.event.model_copy(update={"customer_id": customer}),
            "callback_phone_hash": phone,
            "agent_phone_hash": "hmac-sha256:" + "a" * 64,
        }
    )


async def test_a_fraud_finding_resolves_once_its_window_of_stream_time_has_passed() -> None:
    store, output = MemoryAlertStore(), RecordingOutput()
    svc, _ = service(store, output)
    phone = "hmac-sha256:" + "b" * 64
    await svc.handle_events(
        records(*(_survey(n, f"C{n}", T0 + timedelta(hours=n), phone) for n in range(3)))
    )
    [fired] = published(output)
    assert fired.rule == "fraud_shared_callback_phone"
    assert fired.evidence["customer_ids"] == ["C0", "C1", "C2"]
    assert len(store.surveys) == 3  # kept for the window, for a restart

    later = survey(99, "A1", T0 + timedelta(days=31), 9)
    await svc.handle_events(records(later))

    resolved = published(output)[-1]
    assert (resolved.alert_id, resolved.state) == (fired.alert_id, AlertState.RESOLVED)


async def test_a_silent_source_fires_on_the_clock_and_resolves_when_heard_again() -> None:
    store, output = MemoryAlertStore(), RecordingOutput()
    clock = FakeClock(T0)
    svc, registry = service(store, output, clock)
    await svc.handle_events(records(survey(1, "A1", T0, 9)))
    clock.now = T0 + timedelta(minutes=59)
    await svc.tick()
    assert published(output) == []

    clock.now = T0 + timedelta(minutes=61)
    await svc.tick()
    [fired] = published(output)
    assert (fired.rule, fired.entity) == ("source_stale", "source:survey-system")
    assert (
        sample(registry, "kpi_source_last_event_timestamp_seconds", source="survey-system")
        == T0.timestamp()
    )

    await svc.handle_events(records(survey(2, "A1", T0, 9)))
    await svc.tick()
    assert published(output)[-1].state is AlertState.RESOLVED


async def test_a_record_that_is_not_a_score_is_dead_lettered_with_its_bytes() -> None:
    store, output = MemoryAlertStore(), RecordingOutput()
    svc, registry = service(store, output)
    bad = b'{"entity": "branch:B01", "value": 1'
    await svc.handle_scores(
        [
            RawRecord(topics.SCORES, 2, 7, bad),
            *records(score("branch:B01", "2024-05", "renewal_rate", "0.95")),
        ]
    )

    [letter] = [DeadLetter.model_validate_json(m.value) for m in output.on(topics.DEADLETTER)]
    assert letter.reason == "malformed_json"
    assert (letter.source_topic, letter.partition, letter.offset) == (topics.SCORES, 2, 7)
    assert letter.payload == bad
    assert sample(registry, "kpi_alerts_rejected_total", topic=topics.SCORES) == 1
    assert sample(registry, "kpi_alerts_inputs_total", topic=topics.SCORES) == 2


async def test_a_broker_failure_is_retried_inside_the_batch_and_sent_once() -> None:
    store, output = MemoryAlertStore(), RecordingOutput()
    svc, registry = service(store, output)
    output.fail_next(2)
    for minutes in (0, 10):
        await svc.handle_scores(
            records(score("branch:B01", "2024-05", "renewal_rate", "0.7", minutes))
        )

    assert len(published(output)) == 1
    assert sample(registry, "kpi_alerts_retries_total") == 2


def test_kpi_gauges_show_exported_levels_and_only_the_newest_period_of_a_kind() -> None:
    registry = CollectorRegistry()
    gauges = KpiGauges(registry, frozenset({"branch"}))
    gauges.observe(
        [
            score("branch:B01", "2024-04", "renewal_rate", "0.9"),
            score("agent:A0001", "2024-04", "renewal_rate", "0.5"),
            score("branch:B01", "FY2024", "renewal_rate", "0.88"),
        ]
    )
    gauges.observe([score("branch:B01", "2024-05", "renewal_rate", "0.91")])
    gauges.observe([score("branch:B01", "2024-04", "renewal_rate", "0.2", revision=2)])

    def value(entity: str, period: str) -> float | None:
        return sample(
            registry,
            "kpi_value",
            entity_level=entity.partition(":")[0],
            entity=entity,
            kpi="renewal_rate",
            period=period,
        )

    assert value("branch:B01", "2024-05") == pytest.approx(0.91)
    assert value("branch:B01", "2024-04") is None  # replaced by the newer month
    assert value("branch:B01", "FY2024") == pytest.approx(0.88)
    assert value("agent:A0001", "2024-04") is None  # never an agent label


def test_alert_gauges_show_an_agents_alert_on_its_branch() -> None:
    registry = CollectorRegistry()
    gauges = AlertGauges(registry, frozenset({"branch"}), lambda e: "branch:B07")
    alert = engine_alert("agent:A0123")
    gauges.sync({alert.alert_id: alert})

    assert (
        sample(
            registry,
            "kpi_alert_firing",
            rule=alert.rule,
            severity="critical",
            entity_level="branch",
            entity="branch:B07",
        )
        == 1
    )
    gauges.sync({})
    assert (
        sample(
            registry,
            "kpi_alert_firing",
            rule=alert.rule,
            severity="critical",
            entity_level="branch",
            entity="branch:B07",
        )
        is None
    )


def engine_alert(entity: str) -> Alert:
    from shared.messages import AlertMessages, AlertSeverity  # noqa: PLC0415

    return Alert(
        alert_id=Alert.make_id("fraud_own_phone_callback", entity, None, "2024-05"),
        rule="fraud_own_phone_callback",
        severity=AlertSeverity.CRITICAL,
        state=AlertState.FIRING,
        entity=entity,
        kpi=None,
        period="2024-05",
        value=None,
        threshold=None,
        message="m",
        messages=AlertMessages(en="m", zh="m", ja="m"),
        runbook_url="docs/runbooks/x.md",
        started_at=T0,
    )


@pytest.mark.parametrize("levels", ["agent", "branch,agent", "customer"])
def test_unbounded_metric_levels_are_refused(levels: str) -> None:
    with pytest.raises(ValidationError, match="unbounded"):
        Settings(KPI_METRIC_LEVELS=levels)  # type: ignore[call-arg]


def test_metric_levels_default_to_branch_and_above() -> None:
    assert Settings().metric_level_set() == {"company", "region", "branch"}
