"""`build_service`: the pieces every service's composition root assembles the same way."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, FastAPI
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from shared import mongo
from shared.credential_scan import credentials_in_directory
from shared.errors import ConfigError, KpiError
from shared.kafka import create_broker
from shared.metrics import FrameMetrics, create_registry, faststream_middleware
from shared.settings import Settings
from shared.stall_watch import ProgressWatch

from .health import Readiness
from .http import service_http
from .liveness import (
    CHECK_EVERY_S,
    ConsumerLiveness,
    EndProbe,
    LivenessMetrics,
    progress_middleware,
)

logger = logging.getLogger(__name__)
Hook = Callable[[], Awaitable[None]]


def _package_version() -> str:
    try:
        return version("kpi-platform")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass
class ServiceApp:
    """A runnable service: its HTTP app (which runs the FastStream app as its lifespan) and the
    pieces tests may reach into."""

    name: str
    settings: Settings
    broker: KafkaBroker
    mongo_client: AsyncMongoClient[mongo.Document]
    registry: CollectorRegistry
    readiness: Readiness
    liveness: ConsumerLiveness
    http: FastAPI
    faststream: AsgiFastStream
    extra: dict[str, Any] = field(default_factory=dict)


async def _wait_for_kafka(settings: Settings, service: str) -> None:
    """Block start-up until the broker answers, with capped exponential backoff.

    Bounded, so a service that cannot reach Kafka exits (and its supervisor restarts it)
    instead of hanging in start-up, where it would not yet react to SIGTERM.
    """
    host, port = settings.kafka_endpoint()
    delay = 0.2
    deadline = asyncio.get_running_loop().time() + settings.startup_timeout_s
    while True:
        if asyncio.get_running_loop().time() > deadline:
            raise KpiError(
                f"Kafka at {settings.kafka_bootstrap_servers} did not answer within "
                f"{settings.startup_timeout_s:.0f}s (KPI_STARTUP_TIMEOUT_S)"
            )
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2.0)
        except (OSError, TimeoutError):
            logger.warning(
                "waiting for Kafka at %s", settings.kafka_bootstrap_servers, extra={"svc": service}
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        writer.close()
        await writer.wait_closed()
        return


def refuse_credentials_in_files(settings: Settings) -> None:
    """Stop with a `ConfigError` when the configuration directory holds a credential.

    Its files are the repository's (config/ is tracked by git): a password or key written there
    is a committed secret. The error names each file and line, never the value.
    """
    findings = credentials_in_directory(settings.config_dir)
    if findings:
        shown = "; ".join(str(f) for f in findings[:10])
        raise ConfigError(
            f"credentials in files of KPI_CONFIG_DIR ({settings.config_dir}): {shown}. Secrets "
            "come from the environment only (KAFKA_SASL_PASSWORD, MONGODB_URI, "
            "KPI_PHONE_HASH_KEY): remove them from the file, rotate them, and set the variable"
        )


def build_service(
    name: str,
    settings: Settings,
    *,
    broker: KafkaBroker | None = None,
    mongo_client: AsyncMongoClient[mongo.Document] | None = None,
    registry: CollectorRegistry | None = None,
    routers: Sequence[APIRouter] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    clock: Callable[[], float] = time.monotonic,
) -> ServiceApp:
    """Assemble broker, database client, metrics, readiness and HTTP routes for a service;
    `routers` are the service's own routes beside /healthz, /readyz and /metrics.

    Callers may pass their own broker, client or registry (tests do); otherwise they are
    created from settings. Nothing connects until the app starts.
    """
    refuse_credentials_in_files(settings)
    registry = registry or create_registry()
    metrics = FrameMetrics(registry, name, _package_version())
    broker = broker or create_broker(
        settings, client_id=f"kpi-{name}", middlewares=[faststream_middleware(registry, name)]
    )
    client = mongo_client or mongo.create_client(settings, app_name=f"kpi-{name}")
    timeout = settings.readiness_timeout_s

    async def kafka_probe() -> bool:
        return await broker.ping(timeout)

    async def mongodb_probe() -> bool:
        return await mongo.ping(client, timeout)

    # Every subscriber's batches report progress; the monitor watches every subscriber's
    # assigned partitions (reporting's group-less dead-letter reader too).
    watch = ProgressWatch(settings.stall_timeout_s)
    broker.add_middleware(progress_middleware(watch, clock))
    probe = EndProbe(settings, client_id=f"kpi-{name}-ends")
    liveness = ConsumerLiveness(
        name,
        consumers=lambda: [
            consumer
            for subscriber in broker.subscribers
            if (consumer := getattr(subscriber, "consumer", None)) is not None
        ],
        ends=probe.ends,
        metrics=LivenessMetrics(registry, name),
        watch=watch,
        clock=clock,
        interval_s=min(CHECK_EVERY_S, settings.stall_timeout_s / 4),
    )
    readiness = Readiness(
        {"kafka": kafka_probe, "mongodb": mongodb_probe},
        metrics,
        conditions={"progress": liveness.reason},
    )

    async def wait_for_kafka() -> None:
        await _wait_for_kafka(settings, name)

    async def start_probes() -> None:
        await readiness.check_once()
        readiness.start()
        liveness.start()
        logger.info("service %s started", name)

    async def stop_probes() -> None:
        await liveness.stop()
        await probe.stop()
        await readiness.stop()

    async def close_mongo() -> None:
        await client.close()
        logger.info("service %s stopped", name)

    faststream = AsgiFastStream(
        broker,
        on_startup=[wait_for_kafka, *on_startup],
        after_startup=[start_probes],
        on_shutdown=[stop_probes, *on_shutdown],
        after_shutdown=[close_mongo],
        logger=logging.getLogger(f"kpi.{name}"),
    )

    http = service_http(
        name,
        version=_package_version(),
        faststream=faststream,
        readiness=readiness,
        registry=registry,
        routers=routers,
    )
    return ServiceApp(
        name=name,
        settings=settings,
        broker=broker,
        mongo_client=client,
        registry=registry,
        readiness=readiness,
        liveness=liveness,
        http=http,
        faststream=faststream,
    )
