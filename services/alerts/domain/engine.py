"""The alerts service's decisions, with no I/O: score updates, canonical events and clock ticks
in; alert lifecycle messages out.

`AlertEngine` owns the rule set, the alert book, the fraud detector, the staleness tracker and
the last value of every (entity, KPI, period) a drop rule watches. The service around it
persists and publishes what it returns, and restores it after a restart (`restore`).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeAlias

from shared.events.canonical import KpiEvent
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages.alert import Alert
from shared.messages.definitions import Definitions
from shared.messages.score import Score

from .evaluation import (
    Breach,
    FraudDetector,
    StalenessTracker,
    applies,
    drop,
    projection,
    staleness,
    threshold,
)
from .lifecycle import AlertBook
from .rules import DropRule, ProjectionRule, RuleSet, ThresholdRule

ValueKey: TypeAlias = tuple[str, str, str]  # entity, KPI, period


@dataclass(frozen=True, slots=True)
class RememberedValue:
    """A score value a drop rule needs later, as the previous period of the next one."""

    entity: str
    kpi: str
    period: str
    value: Decimal | None


class AlertEngine:
    """Evaluates every rule and keeps each alert's lifecycle; not thread-safe."""

    def __init__(
        self,
        rules: RuleSet,
        calendar: FiscalCalendar,
        *,
        started_at: datetime,
        definitions: Definitions | None = None,
    ) -> None:
        self.rules = rules
        self._calendar = calendar
        self._book = AlertBook(runbook_base_url=rules.runbook_base_url, definitions=definitions)
        self._fraud = FraudDetector(rules.fraud_rules(), calendar)
        self._fraud_rules = {rule.id: rule for rule in rules.fraud_rules()}
        expected = {s for rule in rules.staleness_rules() for s in rule.sources}
        self._staleness = StalenessTracker(started_at, sorted(expected))
        self._values: dict[ValueKey, Decimal | None] = {}
        self._stream_time: datetime | None = None
        self._drop_kpis = frozenset(r.kpi for r in rules if isinstance(r, DropRule))

    @property
    def stream_time(self) -> datetime | None:
        """The latest event time seen (the alerts service's event time)."""
        return self._stream_time

    # -- restart --------------------------------------------------------------------------

    def restore(
        self, alerts: Iterable[Alert], values: Iterable[RememberedValue], events: Iterable[KpiEvent]
    ) -> None:
        """Rebuild after a restart: stored alerts (firing ones are not sent again), remembered
        values for drop rules, and the surveys the fraud windows still hold."""
        self._book.restore(alerts)
        for value in values:
            self._values[(value.entity, value.kpi, value.period)] = value.value
        for event in events:
            self._fraud.observe(event)

    # -- inputs ---------------------------------------------------------------------------

    def on_scores(self, scores: Sequence[Score]) -> tuple[list[Alert], list[RememberedValue]]:
        """Evaluate threshold, drop and projection rules; the alerts to publish and the values
        to remember for later drop checks."""
        alerts: list[Alert] = []
        remembered: list[RememberedValue] = []
        for score in scores:
            for rule in self.rules.score_rules(score.kpi):
                if not applies(rule, score):
                    continue
                breach = self._evaluate(rule, score)
                alert = self._book.observe(
                    rule,
                    score.entity,
                    kpi=score.kpi,
                    period=score.period,
                    breach=breach,
                    now=score.as_of,
                    definitions=score.definitions,
                )
                if alert is not None:
                    alerts.append(alert)
            if score.kpi in self._drop_kpis:
                key = (score.entity, score.kpi, score.period)
                if self._values.get(key, _UNSET) != score.value:
                    self._values[key] = score.value
                    remembered.append(RememberedValue(*key, score.value))
        return alerts, remembered

    def _evaluate(
        self, rule: ThresholdRule | DropRule | ProjectionRule, score: Score
    ) -> Breach | None:
        if isinstance(rule, ThresholdRule):
            return threshold(rule, score)
        if isinstance(rule, DropRule):
            previous = self._calendar.previous_period(score.period)
            return drop(rule, score, self._values.get((score.entity, score.kpi, previous)))
        return projection(rule, score, self._calendar)

    def on_events(self, events: Sequence[KpiEvent], received_at: datetime) -> list[Alert]:
        """Feed the staleness tracker and evaluate fraud rules on surveys.

        A fraud finding is a case for someone to look into, not a level that recovers: it
        stays firing for one rule window of stream time after it was found, then resolves.
        The same phone found again in a later month is a new alert (its period differs)."""
        alerts: list[Alert] = []
        for event in events:
            alerts += self.on_event(event, received_at)
        return alerts + self.expire_fraud()

    def on_event(self, event: KpiEvent, received_at: datetime) -> list[Alert]:
        """One event of `on_events`, without the expiry of fraud findings that ends a batch
        (`expire_fraud`): the alerts this event raised."""
        alerts: list[Alert] = []
        self._staleness.seen(event.event.source, received_at)
        occurred = event.event.occurred_at
        if self._stream_time is None or occurred > self._stream_time:
            self._stream_time = occurred
        for finding in self._fraud.observe(event):
            alert = self._book.observe(
                finding.rule,
                finding.entity,
                kpi=None,
                period=finding.period,
                breach=finding.breach,
                now=event.event.occurred_at,
            )
            if alert is not None:
                alerts.append(alert)
        return alerts

    def expire_fraud(self) -> list[Alert]:
        """Resolve the fraud findings one rule window of stream time old."""
        now = self._stream_time
        if now is None:
            return []
        alerts: list[Alert] = []
        for alert in list(self._book.firing().values()):
            rule = self._fraud_rules.get(alert.rule)
            if rule is not None and now - alert.started_at >= rule.window:
                resolved = self._book.observe(
                    rule, alert.entity, kpi=None, period=alert.period, breach=None, now=now
                )
                if resolved is not None:
                    alerts.append(resolved)
        return alerts

    def on_tick(self, now: datetime) -> list[Alert]:
        """Staleness on the wall clock: fire for silent sources, resolve for ones heard again."""
        alerts: list[Alert] = []
        for rule in self.rules.staleness_rules():
            for entity, breach in staleness(rule, self._staleness, now).items():
                alert = self._book.observe(
                    rule, entity, kpi=None, period=None, breach=breach, now=now
                )
                if alert is not None:
                    alerts.append(alert)
        return alerts

    # -- views ----------------------------------------------------------------------------

    def firing(self) -> Mapping[str, Alert]:
        return self._book.firing()

    def last_seen(self) -> Mapping[str, datetime]:
        """When each upstream source was last heard from."""
        return self._staleness.last_seen()


_UNSET = object()
