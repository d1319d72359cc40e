"""The resilience tier's harness (docs/resilience.md): the four services as real processes on a
test's own stack (`Pipeline`), their peak memory (VmHWM) and readiness watched, the demo
company's events to replay, and the Kafka groups' committed offsets.

`KPI_RESILIENCE_SCALE` (default 1) multiplies every event count of the tier; it exists for a
slower machine and is not used by `make test-resilience`.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx

from services.demo.generator import generate_events, write_jsonl
from shared.kpi.config import KpiConfig, load_kpi_config
from shared.settings import Settings
from tests.support.stack_fixtures import service_env

SERVICES: Final = ("ingest", "scoring", "alerts", "reporting")
SCALE: Final = float(os.environ.get("KPI_RESILIENCE_SCALE", "1"))
CONFIG: Final[KpiConfig] = load_kpi_config(Path("config"))
TOKYO: Final = ZoneInfo("Asia/Tokyo")


def scaled(count: int) -> int:
    """An event count of the tier, times `KPI_RESILIENCE_SCALE`."""
    return max(1_000, round(count * SCALE))


def demo_documents(count: int, seed: int, days: int = 75) -> list[dict[str, Any]]:
    """`count` events of the demo company spread over `days` from 2024-04-01 (Tokyo), oldest
    first: so months close (and reporting publishes scorecards) whatever the count."""
    start = datetime(2024, 4, 1, tzinfo=TOKYO)
    stream = generate_events(
        CONFIG.org,
        start=start,
        end=start + timedelta(days=days + 30),
        seed=seed,
        events_per_day=max(1, count // days),
    )
    return [d for _, d in zip(range(count), stream, strict=False)]


def write_demo(path: Path, documents: list[dict[str, Any]]) -> Path:
    write_jsonl(documents, path)
    return path


def upstream_key(document: dict[str, Any]) -> str:
    return f"{document['source']}:{document['event_id']}"


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM), in KiB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@dataclass
class Pipeline:
    """The four services as `kpi serve` children of the test, with what was done to them."""

    settings: Settings
    logs: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)
    peak_kib: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def env(self) -> dict[str, str]:
        return (
            service_env(self.settings)
            | {
                "KPI_REPORTING_TICK_S": "2",
                "KPI_ALERTS_TICK_S": "5",
                "KPI_READINESS_TIMEOUT_S": "2",
                "KPI_STARTUP_TIMEOUT_S": "300",
            }
            | self.extra_env
        )

    def start(self, *names: str) -> None:
        for name in names or SERVICES:
            self.children[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli.main", "serve", name],
                env=self.env,
                stdout=(self.logs / f"{name}.log").open("ab"),
                stderr=subprocess.STDOUT,
            )

    def sample(self) -> None:
        """Keep each service's peak RSS (VmHWM survives only as long as the process)."""
        for name, child in self.children.items():
            self.peak_kib[name] = max(self.peak_kib[name], peak_rss_kib(child.pid))

    def kill(self, name: str) -> None:
        """kill -9 one service, then start it again."""
        self.sample()
        child = self.children[name]
        assert child.poll() is None, f"{name} had died before the kill:\n{self.log_tail(name)}"
        child.send_signal(signal.SIGKILL)
        child.wait()
        self.kills[name] += 1
        self.start(name)

    def alive(self) -> dict[str, bool]:
        return {name: child.poll() is None for name, child in self.children.items()}

    def assert_alive(self) -> None:
        dead = [name for name, up in self.alive().items() if not up]
        assert not dead, "\n".join(f"{n} died:\n{self.log_tail(n)}" for n in dead)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def log_problems(self, name: str, lines: int = 30) -> str:
        """The last warnings and errors of a service's log (its JSON lines above info)."""
        path = self.logs / f"{name}.log"
        kept = [
            line[:600]
            for line in path.read_text(errors="replace").splitlines()
            if '"level": "info"' not in line and '"level": "debug"' not in line
        ]
        return "\n".join(kept[-lines:])

    def stop(self) -> None:
        self.sample()
        for child in self.children.values():
            child.terminate()
        for child in self.children.values():
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def peak_mib(self) -> dict[str, float]:
        return {name: round(kib / 1024, 1) for name, kib in self.peak_kib.items()}

    async def readiness(self, reasons: dict[str, str] | None = None) -> dict[str, int]:
        """Each service's /readyz status code now (0 when it does not answer); `reasons`, when
        given, receives why each service that answered 503 is not ready."""
        codes: dict[str, int] = {}
        async with httpx.AsyncClient(timeout=4) as http:
            for name in SERVICES:
                port = self.settings.http_port_for(name)
                try:
                    answer = await http.get(f"http://127.0.0.1:{port}/readyz")
                except httpx.HTTPError as exc:
                    codes[name] = 0
                    if reasons is not None:
                        reasons[name] = f"no answer: {exc!r}"
                    continue
                codes[name] = answer.status_code
                if reasons is not None and answer.status_code != 200:
                    reasons[name] = answer.text
        return codes

    async def until_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if set((await self.readiness()).values()) == {200}:
                return
            self.assert_alive()
            await asyncio.sleep(0.5)
        raise AssertionError(f"not ready after {timeout_s}s: {await self.readiness()}")


async def sample_forever(running: Pipeline) -> None:
    while True:
        running.sample()
        await asyncio.sleep(0.5)


def replay(env: dict[str, str], path: Path) -> subprocess.Popen[bytes]:
    """`kpi replay FILE` started beside the test (the caller waits for it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "replay", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def finish(process: subprocess.Popen[bytes], timeout_s: float = 900) -> str:
    out, _ = await asyncio.to_thread(process.communicate, timeout=timeout_s)
    text = out.decode(errors="replace")
    assert process.returncode == 0, text
    return text


# --- outages ----------------------------------------------------------------------------------


async def committed_offsets(settings: Settings, group: str, names: Iterable[str]) -> dict[str, int]:
    """A Kafka consumer group's committed offsets, as "topic/partition" → offset."""
    from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: PLC0415

    from shared.kafka import aiokafka_options  # noqa: PLC0415

    consumer = AIOKafkaConsumer(
        **aiokafka_options(settings), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        found: dict[str, int] = {}
        for topic in names:
            for partition in sorted(consumer.partitions_for_topic(topic) or ()):
                offset = await consumer.committed(TopicPartition(topic, partition))
                if offset is not None:
                    found[f"{topic}/{partition}"] = offset
        return found
    finally:
        await consumer.stop()


@dataclass
class ReadinessLog:
    """/readyz of every service, polled once a second: (seconds since start, codes)."""

    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    last_reason: dict[str, str] = field(default_factory=dict)  # of the last answer not 200

    def codes(self, name: str, since: float, until: float) -> list[int]:
        return [codes[name] for at, codes in self.samples if since <= at < until]


async def poll_readiness(pipeline: Pipeline, log: ReadinessLog, started: float) -> None:
    while True:
        codes = await pipeline.readiness(log.last_reason)  # stamped when every answer is in
        log.samples.append((time.monotonic() - started, codes))
        await asyncio.sleep(1.0)
