"""Prometheus helpers: one registry per service, names by Prometheus conventions."""

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


def create_registry() -> CollectorRegistry:
    """A fresh registry: no process-global state, so tests can build many services."""
    return CollectorRegistry(auto_describe=True)


def faststream_middleware(registry: CollectorRegistry, service: str) -> KafkaPrometheusMiddleware:
    """FastStream's consume/publish metrics on the service's registry."""
    return KafkaPrometheusMiddleware(registry=registry, app_name=service, metrics_prefix="kpi")
