"""Prometheus helpers: one registry per service, names by Prometheus conventions."""

from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

from aiokafka import TopicPartition
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry, Gauge, Info


class FrameMetrics:
    """Metrics every service exports: build info, readiness and dependency reachability."""

    def __init__(self, registry: CollectorRegistry, service: str, version: str) -> None:
        self.build = Info("kpi_build", "Build of the running service.", registry=registry)
        self.build.info({"service": service, "version": version})
        self.ready = Gauge(
            "kpi_service_ready",
            "1 when the service's broker and database answer, else 0.",
            registry=registry,
        )
        self.dependency_up = Gauge(
            "kpi_dependency_up",
            "1 when the dependency answered its last probe, else 0.",
            ["dependency"],
            registry=registry,
        )


# One gauge per registry: a service's handler sets it after each batch, and its liveness monitor
# (shared/service/liveness.py) sets it for every assigned partition on a timer.
_LAG_GAUGES: "WeakKeyDictionary[CollectorRegistry, Gauge]" = WeakKeyDictionary()


def _lag_gauge(registry: CollectorRegistry) -> Gauge:
    gauge = _LAG_GAUGES.get(registry)
    if gauge is None:
        gauge = _LAG_GAUGES[registry] = Gauge(
            "kpi_consumer_lag_records",
            "Records between a partition's true end (its high watermark) and the next record "
            "to process, for every partition assigned to the service.",
            ["service", "topic", "partition"],
            registry=registry,
        )
    return gauge


class ConsumerLag:
    """`kpi_consumer_lag_records{service,topic,partition}`: how far behind a consumer is."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self._service = service
        self._gauge = _lag_gauge(registry)

    def set(self, topic: str, partition: int, lag: int) -> None:
        """Set one partition's lag."""
        self._gauge.labels(self._service, topic, str(partition)).set(lag)

    def remove(self, topic: str, partition: int) -> None:
        """Stop exporting a partition no longer assigned."""
        self._gauge.remove(self._service, topic, str(partition))

    def observe(self, consumer: Any, last_offsets: Mapping[tuple[str, int], int]) -> None:
        """Set the lag of each partition from the consumer's high watermarks."""
        for (topic, partition), offset in last_offsets.items():
            high = consumer.highwater(TopicPartition(topic, partition))
            if high is not None:
                lag = max(0, high - offset - 1)
                self._gauge.labels(self._service, topic, str(partition)).set(lag)


def create_registry() -> CollectorRegistry:
    """A fresh registry: no process-global state, so tests can build many services."""
    return CollectorRegistry(auto_describe=True)


def faststream_middleware(registry: CollectorRegistry, service: str) -> KafkaPrometheusMiddleware:
    """FastStream's consume/publish metrics on the service's registry."""
    return KafkaPrometheusMiddleware(registry=registry, app_name=service, metrics_prefix="kpi")
