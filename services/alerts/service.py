"""The alerts service's work, between the subscribers and the pure engine: decode a batch,
evaluate it, publish the alert messages, store them, update the gauges.

Order of effects: publish, then store, then (by the subscriber) commit the offsets; the reverse
order could lose an alert. A crash after publishing and before storing would re-evaluate the
batch and send the same firing again, so at start the service reads `kpi.alerts.v1` back and
adopts into its store what was published and not stored (`domain/published.py`). A broker or
database failure (`TransientError`) is retried with backoff inside the batch, because the
engine has already moved on and would not re-send on a redelivery. Publishing and storing are
retried apart: a database outage must not publish the batch's alerts again on every try.

Any other error is a poisoned record, dead-lettered as `processing_error` so its partition
moves on. The engine evaluates record by record, so a record it fails on is known at once; when
publishing or storing the batch fails for good, that step is repeated
one record at a time, and each record that still fails is dead-lettered (its alerts are lost:
the engine has moved on; re-drive the record once the cause is fixed).
"""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import TypeAlias, TypeVar

from pydantic import ValidationError

from shared import retry, topics
from shared.batch_span import BatchSpan
from shared.events.canonical import KpiEvent
from shared.events.decoding import ContractViolation, RejectReason
from shared.events.upstream import SurveyEvent
from shared.kafka_output import Outbound, OutputPort, dead_letter_outbound
from shared.messages.alert import Alert
from shared.messages.deadletter import DeadLetter
from shared.messages.score import Score

from .domain.engine import AlertEngine, RememberedValue
from .domain.published import missed_by_store
from .metrics import AlertGauges, AlertsMetrics, KpiGauges
from .published import NothingPublished, PublishedAlerts
from .store import AlertStore

logger = logging.getLogger(__name__)
T = TypeVar("T")

Clock: TypeAlias = Callable[[], datetime]
Sleep: TypeAlias = Callable[[float], Awaitable[None]]
DETAIL_CHARS = 500  # an error's message in a dead letter's detail, cut to stay readable
WindowReader: TypeAlias = Callable[[], Awaitable[list[Score]]]
"""Current rolling-window (R30D) scores of the exported entities, read from scoring's state."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    value: bytes


@dataclass
class Effects:
    """What evaluating one record (or the batch's end, or a tick) asks to publish and store."""

    record: RawRecord | None
    alerts: list[Alert] = field(default_factory=list)
    values: list[RememberedValue] = field(default_factory=list)
    surveys: list[KpiEvent] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.alerts or self.values or self.surveys)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _span(what: str, records: Sequence[RawRecord]) -> BatchSpan:
    return BatchSpan.of(what, ((r.topic, r.partition, r.offset) for r in records))


class AlertsService:
    """Owns the engine; one lock keeps batches and ticks from interleaving their effects."""

    def __init__(
        self,
        *,
        engine: AlertEngine,
        store: AlertStore,
        output: OutputPort,
        metrics: AlertsMetrics,
        kpi_gauges: KpiGauges,
        alert_gauges: AlertGauges,
        window_reader: WindowReader | None = None,
        published: PublishedAlerts | None = None,
        clock: Clock = _utc_now,
        max_backoff_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self._store = store
        self._output = output
        self._metrics = metrics
        self._retry = retry.RetryPolicy(
            max_backoff_s,
            sleep,
            on_retry=metrics.retries.inc,
            on_failure=metrics.processing_errors.inc,
        )
        self._kpi_gauges = kpi_gauges
        self._alert_gauges = alert_gauges
        self._window_reader = window_reader
        self._published: PublishedAlerts = published or NothingPublished()
        self._clock = clock
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Restore the engine from the store (firing alerts are not sent again)."""
        windows = [rule.window for rule in self.engine.rules.fraud_rules()]
        state = await self._store.load(max(windows, default=timedelta(0)))
        # Published and not stored (a crash between the two): adopted, so the re-read batch
        # does not send the same firing again.
        stored = {alert.alert_id: alert for alert in state.alerts}
        missed = missed_by_store(stored, await self._published.read())
        if missed:
            await self._retry.run(
                functools.partial(self._store.save, missed, [], []),
                BatchSpan("alerts published, not stored"),
            )
            stored.update((alert.alert_id, alert) for alert in missed)
            logger.warning(
                "%d alerts were published and not stored before a restart; adopted from %s",
                len(missed),
                topics.ALERTS,
            )
        self.engine.restore(stored.values(), state.values, state.surveys)
        self._alert_gauges.sync(self.engine.firing())
        logger.info(
            "alerts restored: %d stored, %d firing, %d surveys in fraud windows",
            len(state.alerts),
            len(self.engine.firing()),
            len(state.surveys),
        )

    async def handle_scores(self, records: Sequence[RawRecord]) -> None:
        started = perf_counter()
        decoded, rejected = _decode(records, Score.model_validate_json)
        async with self._lock:
            effects: list[Effects] = []
            for record, score in decoded:
                try:
                    alerts, values = self.engine.on_scores([score])
                    self._kpi_gauges.observe([score])
                except Exception as exc:  # noqa: BLE001 - the engine raised: a poisoned record
                    self._metrics.processing_errors.inc()
                    rejected.append(self._poisoned(record, exc))
                    continue
                effects.append(Effects(record, alerts, values))
            rejected += await self._publish_and_store(effects, rejected, _span("scores", records))
        self._count(topics.SCORES, records, rejected, started)

    async def handle_events(self, records: Sequence[RawRecord]) -> None:
        started = perf_counter()
        decoded, rejected = _decode(records, KpiEvent.model_validate_json)
        async with self._lock:
            now = self._clock()
            effects: list[Effects] = []
            for record, event in decoded:
                try:
                    alerts = self.engine.on_event(event, now)
                except Exception as exc:  # noqa: BLE001 - the engine raised: a poisoned record
                    self._metrics.processing_errors.inc()
                    rejected.append(self._poisoned(record, exc))
                    continue
                survey = isinstance(event.event, SurveyEvent) and event.callback_phone_hash
                effects.append(Effects(record, alerts, surveys=[event] if survey else []))
            effects.append(Effects(None, self.engine.expire_fraud()))
            rejected += await self._publish_and_store(effects, rejected, _span("events", records))
        self._metrics.observe_sources(self.engine.last_seen())
        self._count(topics.EVENTS, records, rejected, started)

    async def tick(self) -> None:
        """Staleness on the wall clock, and the rolling-window gauges."""
        async with self._lock:
            alerts = self.engine.on_tick(self._clock())
            await self._publish_and_store([Effects(None, alerts)], [], BatchSpan("alerts tick"))
        if self._window_reader is not None:
            self._kpi_gauges.observe(await self._window_reader())

    async def _publish_and_store(
        self, effects: list[Effects], rejected: list[Outbound], span: BatchSpan
    ) -> list[Outbound]:
        """Publish the batch's effects, then store them; return the dead letters of the records
        that had to be isolated (an error a retry would not fix).

        The two steps are retried apart: a database outage retries the store alone, so what
        was published is not sent again (an alert episode fires once)."""
        try:
            await self._retry.run(functools.partial(self._publish, effects, rejected), span)
        except Exception:  # noqa: BLE001 - not transient: until_done logged and counted it
            await self._retry.run(
                functools.partial(self._publish, [], rejected), _span("dead letters", [])
            )
            published, poisoned = await self._isolate(effects, self._publish)
        else:
            published, poisoned = effects, []
        try:
            await self._retry.run(functools.partial(self._save, published), span)
        except Exception:  # noqa: BLE001 - not transient: until_done logged and counted it
            _, unstored = await self._isolate(published, self._save)
            poisoned += unstored
        alerts = [alert for effect in published for alert in effect.alerts]
        for alert in alerts:
            self._metrics.published.labels(alert.rule, alert.state.value).inc()
            logger.info(
                "alert %s %s %s %s (%s)",
                alert.state.value,
                alert.rule,
                alert.entity,
                alert.period or "-",
                alert.severity,
            )
        if alerts or poisoned:
            self._alert_gauges.sync(self.engine.firing())
        return poisoned

    async def _isolate(
        self, effects: list[Effects], step: Callable[[Sequence[Effects]], Awaitable[None]]
    ) -> tuple[list[Effects], list[Outbound]]:
        """`step` on each record's effects alone; a record whose effects still fail is
        dead-lettered. Effects of no record (expiry, a tick) that fail for good propagate."""
        done: list[Effects] = []
        poisoned: list[Outbound] = []
        for effect in effects:
            record = effect.record
            span = _span("alerts record", [record]) if record else BatchSpan("alerts batch end")
            try:
                await self._retry.run(functools.partial(step, [effect]), span)
            except Exception as exc:  # not transient: this record is the poison
                if record is None:
                    raise
                letter = self._poisoned(record, exc)
                await self._retry.run(functools.partial(self._publish, [], [letter]), span)
                poisoned.append(letter)
            else:
                done.append(effect)
        return done, poisoned

    async def _publish(self, effects: Sequence[Effects], rejected: Sequence[Outbound] = ()) -> None:
        messages = list(rejected) + [
            Outbound(topics.ALERTS, a.entity.encode(), a.model_dump_json().encode())
            for effect in effects
            for a in effect.alerts
        ]
        if messages:
            await self._output.send_all(messages)

    async def _save(self, effects: Sequence[Effects]) -> None:
        alerts = [alert for effect in effects for alert in effect.alerts]
        values = [value for effect in effects for value in effect.values]
        surveys = [survey for effect in effects for survey in effect.surveys]
        if alerts or values or surveys:
            await self._store.save(alerts, values, surveys)

    def _poisoned(self, record: RawRecord, error: Exception) -> Outbound:
        """The record's dead letter with reason `processing_error`, naming the error."""
        detail = f"alerts could not process the record: {type(error).__name__}: {error}"
        logger.error(
            "dead-lettered %s[%d]@%d: processing_error",
            record.topic,
            record.partition,
            record.offset,
            exc_info=error,
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": RejectReason.PROCESSING_ERROR.value,
            },
        )
        violation = ContractViolation(RejectReason.PROCESSING_ERROR, detail[:DETAIL_CHARS])
        return dead_letter_outbound(_letter(record, violation))

    def _count(
        self, topic: str, records: Sequence[RawRecord], rejected: list[Outbound], started: float
    ) -> None:
        self._metrics.inputs.labels(topic).inc(len(records))
        if rejected:
            self._metrics.rejected.labels(topic).inc(len(rejected))
        self._metrics.batch_seconds.labels(topic).observe(perf_counter() - started)


def _decode(
    records: Sequence[RawRecord], parse: Callable[[bytes], T]
) -> tuple[list[tuple[RawRecord, T]], list[Outbound]]:
    """The records that parse, with their message; dead letters for the others."""
    decoded: list[tuple[RawRecord, T]] = []
    rejected: list[Outbound] = []
    for record in records:
        try:
            decoded.append((record, parse(record.value)))
        except ValidationError as exc:
            rejected.append(_dead_letter(record, exc))
    return decoded, rejected


def _letter(record: RawRecord, violation: ContractViolation) -> DeadLetter:
    return DeadLetter.from_violation(
        record.value,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        violation=violation,
    )


def _dead_letter(record: RawRecord, error: ValidationError) -> Outbound:
    first = error.errors()[0] if error.errors() else {"msg": str(error), "loc": ()}
    where = ".".join(str(part) for part in first.get("loc", ())) or "record"
    reason = (
        RejectReason.MALFORMED_JSON
        if first.get("type") == "json_invalid"
        else RejectReason.SCHEMA_VIOLATION
    )
    letter = _letter(
        record,
        ContractViolation(
            reason, f"not a valid {record.topic} message: {where}: {first.get('msg')}"
        ),
    )
    logger.warning(
        "dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, letter.detail
    )
    return dead_letter_outbound(letter)
