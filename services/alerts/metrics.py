"""The alerts service's Prometheus metrics (DESIGN §8): KPI gauges with bounded labels, the state
of every alert, and the service's own pipeline metrics.

Label cardinality stays bounded: `kpi_value` carries only the levels of `KPI_METRIC_LEVELS`
(company, region and branch by default; agent is refused by the settings) and only the current
period of each kind; `kpi_alert_firing` rolls an alert on a team or agent up to its branch, so
no agent, customer, policy or phone ever becomes a label.
"""

import contextlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TypeAlias

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.kpi.fiscal_calendar import parse_period
from shared.messages.alert import Alert
from shared.messages.score import Score
from shared.metrics import ConsumerLag

BranchOf: TypeAlias = Callable[[str], str | None]
"""The `branch:ID` an entity below branch level belongs to, if known."""

_ROLLED_UP = frozenset({"team", "agent"})


def _level(entity: str) -> str:
    return entity.partition(":")[0]


def _kind(period: str) -> str:
    if period.startswith("R"):
        return period
    try:
        return parse_period(period).kind.value
    except ValueError:
        return period


class KpiGauges:
    """`kpi_value{entity_level,entity,kpi,period}`: the newest period of each kind per entity."""

    def __init__(self, registry: CollectorRegistry, levels: frozenset[str]) -> None:
        self._levels = levels
        self._gauge = Gauge(
            "kpi_value",
            "Current KPI value (ratios as fractions 0-1) of an entity at an exported level.",
            ["entity_level", "entity", "kpi", "period"],
            registry=registry,
        )
        self._current: dict[tuple[str, str, str], str] = {}

    def exported(self, entity: str) -> bool:
        return _level(entity) in self._levels

    def observe(self, scores: Iterable[Score]) -> None:
        """Set the gauge from score updates; an older period of a kind already shown is
        skipped, a newer one replaces it (so series never pile up month after month)."""
        for score in scores:
            if not self.exported(score.entity):
                continue
            slot = (score.entity, score.kpi, _kind(score.period))
            current = self._current.get(slot)
            if current is not None and current > score.period:
                continue
            if current is not None and current != score.period:
                self._remove(score.entity, score.kpi, current)
            self._current[slot] = score.period
            labels = (_level(score.entity), score.entity, score.kpi, score.period)
            if score.value is None:
                self._remove(score.entity, score.kpi, score.period)
            else:
                self._gauge.labels(*labels).set(float(score.value))

    def _remove(self, entity: str, kpi: str, period: str) -> None:
        with contextlib.suppress(KeyError):
            self._gauge.remove(_level(entity), entity, kpi, period)


class AlertGauges:
    """`kpi_alert_firing{rule,severity,entity_level,entity}` = 1 while an alert fires."""

    def __init__(
        self, registry: CollectorRegistry, levels: frozenset[str], branch_of: BranchOf
    ) -> None:
        self._levels = levels | {"source"}
        self._branch_of = branch_of
        self._gauge = Gauge(
            "kpi_alert_firing",
            "1 while an alert of the rule fires for the entity (team and agent alerts are "
            "shown on their branch).",
            ["rule", "severity", "entity_level", "entity"],
            registry=registry,
        )
        self._shown: set[tuple[str, str, str, str]] = set()

    def _labels(self, alert: Alert) -> tuple[str, str, str, str] | None:
        entity = alert.entity
        if _level(entity) in _ROLLED_UP:
            branch = self._branch_of(entity)
            if branch is None:
                return None
            entity = branch
        return (alert.rule, alert.severity.value, _level(entity), entity)

    def sync(self, firing: Mapping[str, Alert]) -> None:
        """Show exactly the alerts firing now."""
        wanted = {labels for a in firing.values() if (labels := self._labels(a)) is not None}
        for labels in self._shown - wanted:
            self._gauge.remove(*labels)
        for labels in wanted:
            self._gauge.labels(*labels).set(1)
        self._shown = wanted


class AlertsMetrics:
    """The service's own counters and timings."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumer_lag = ConsumerLag(registry, "alerts")
        self.published = Counter(
            "kpi_alerts_published",
            "Alert lifecycle messages published to kpi.alerts.v1, by rule and state.",
            ["rule", "state"],
            registry=registry,
        )
        self.inputs = Counter(
            "kpi_alerts_inputs",
            "Records evaluated, by topic.",
            ["topic"],
            registry=registry,
        )
        self.rejected = Counter(
            "kpi_alerts_rejected",
            "Records that were not a valid score or event, dead-lettered, by topic.",
            ["topic"],
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "kpi_alerts_batch_seconds",
            "Time to evaluate, publish and store one batch.",
            ["topic"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.source_last_seen = Gauge(
            "kpi_source_last_event_timestamp_seconds",
            "When the alerts service last received an event from an upstream source.",
            ["source"],
            registry=registry,
        )
        self.retries = Counter(
            "kpi_alerts_retries",
            "Batches retried after a broker or database failure.",
            registry=registry,
        )
        self.processing_errors = Counter(
            "kpi_alerts_processing_errors",
            "Batches and records whose processing raised an error a retry would not fix; "
            "each record that still fails on its own is dead-lettered as processing_error.",
            registry=registry,
        )

    def observe_sources(self, last_seen: Mapping[str, datetime]) -> None:
        for source, at in last_seen.items():
            self.source_last_seen.labels(source).set(at.timestamp())
