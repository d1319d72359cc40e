"""The alerts service's work, between the subscribers and the pure engine: decode a batch,
evaluate it, publish the alert messages, store them, update the gauges.

Order of effects: publish, then store, then (by the subscriber) commit the offsets. A crash
after publishing and before storing re-evaluates the batch from the restored state and sends
the same alert again (same `alert_id` and `started_at`: consumers drop the copy); the reverse
order could lose an alert. A broker or database failure is retried with backoff inside the
batch, because the engine has already moved on and would not re-send on a redelivery.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import TypeAlias

from pydantic import ValidationError

from shared import retry, topics
from shared.events.canonical import KpiEvent
from shared.events.decoding import ContractViolation, RejectReason
from shared.events.upstream import SurveyEvent
from shared.kafka_output import Outbound, OutputPort, dead_letter_outbound
from shared.messages.alert import Alert
from shared.messages.deadletter import DeadLetter
from shared.messages.score import Score

from .domain.engine import AlertEngine, RememberedValue
from .metrics import AlertGauges, AlertsMetrics, KpiGauges
from .store import AlertStore

logger = logging.getLogger(__name__)

Clock: TypeAlias = Callable[[], datetime]
WindowReader: TypeAlias = Callable[[], Awaitable[list[Score]]]
"""Current rolling-window (R30D) scores of the exported entities, read from scoring's state."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    value: bytes


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
        clock: Clock = _utc_now,
        max_backoff_s: float = 10.0,
    ) -> None:
        self.engine = engine
        self._store = store
        self._output = output
        self._metrics = metrics
        self._kpi_gauges = kpi_gauges
        self._alert_gauges = alert_gauges
        self._window_reader = window_reader
        self._clock = clock
        self._max_backoff_s = max_backoff_s
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Restore the engine from the store (firing alerts are not sent again)."""
        windows = [rule.window for rule in self.engine.rules.fraud_rules()]
        state = await self._store.load(max(windows, default=timedelta(0)))
        self.engine.restore(state.alerts, state.values, state.surveys)
        self._alert_gauges.sync(self.engine.firing())
        logger.info(
            "alerts restored: %d stored, %d firing, %d surveys in fraud windows",
            len(state.alerts),
            len(self.engine.firing()),
            len(state.surveys),
        )

    async def handle_scores(self, records: Sequence[RawRecord]) -> None:
        started = perf_counter()
        scores: list[Score] = []
        rejected: list[Outbound] = []
        for record in records:
            try:
                scores.append(Score.model_validate_json(record.value))
            except ValidationError as exc:
                rejected.append(_dead_letter(record, exc))
        async with self._lock:
            alerts, values = self.engine.on_scores(scores)
            self._kpi_gauges.observe(scores)
            await self._publish_and_store(alerts, values, [], rejected)
        self._count(topics.SCORES, records, rejected, started)

    async def handle_events(self, records: Sequence[RawRecord]) -> None:
        started = perf_counter()
        events: list[KpiEvent] = []
        rejected: list[Outbound] = []
        for record in records:
            try:
                events.append(KpiEvent.model_validate_json(record.value))
            except ValidationError as exc:
                rejected.append(_dead_letter(record, exc))
        surveys = [e for e in events if isinstance(e.event, SurveyEvent) and e.callback_phone_hash]
        async with self._lock:
            alerts = self.engine.on_events(events, self._clock())
            await self._publish_and_store(alerts, [], surveys, rejected)
        self._metrics.observe_sources(self.engine.last_seen())
        self._count(topics.EVENTS, records, rejected, started)

    async def tick(self) -> None:
        """Staleness on the wall clock, and the rolling-window gauges."""
        async with self._lock:
            alerts = self.engine.on_tick(self._clock())
            await self._publish_and_store(alerts, [], [], [])
        if self._window_reader is not None:
            self._kpi_gauges.observe(await self._window_reader())

    async def _publish_and_store(
        self,
        alerts: list[Alert],
        values: list[RememberedValue],
        surveys: list[KpiEvent],
        rejected: list[Outbound],
    ) -> None:
        messages = rejected + [
            Outbound(topics.ALERTS, a.entity.encode(), a.model_dump_json().encode()) for a in alerts
        ]

        async def step() -> None:
            if messages:
                await self._output.send_all(messages)
            if alerts or values or surveys:
                await self._store.save(alerts, values, surveys)

        await retry.until_done(
            step, max_backoff_s=self._max_backoff_s, on_retry=self._metrics.retries.inc
        )
        for alert in alerts:
            self._metrics.published.labels(alert.rule, alert.state.value).inc()
            logger.info(
                "alert %s %s %s (%s)", alert.state.value, alert.rule, alert.entity, alert.severity
            )
        if alerts:
            self._alert_gauges.sync(self.engine.firing())

    def _count(
        self, topic: str, records: Sequence[RawRecord], rejected: list[Outbound], started: float
    ) -> None:
        self._metrics.inputs.labels(topic).inc(len(records))
        if rejected:
            self._metrics.rejected.labels(topic).inc(len(rejected))
        self._metrics.batch_seconds.labels(topic).observe(perf_counter() - started)


def _dead_letter(record: RawRecord, error: ValidationError) -> Outbound:
    first = error.errors()[0] if error.errors() else {"msg": str(error), "loc": ()}
    where = ".".join(str(part) for part in first.get("loc", ())) or "record"
    reason = (
        RejectReason.MALFORMED_JSON
        if first.get("type") == "json_invalid"
        else RejectReason.SCHEMA_VIOLATION
    )
    letter = DeadLetter.from_violation(
        record.value,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        violation=ContractViolation(
            reason, f"not a valid {record.topic} message: {where}: {first.get('msg')}"
        ),
    )
    logger.warning(
        "dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, letter.detail
    )
    return dead_letter_outbound(letter)
