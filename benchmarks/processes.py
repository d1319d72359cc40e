"""Processes under measurement: the services started as real processes, and what each one cost
(CPU seconds and peak resident memory, read from /proc)."""

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from shared.localstack.probes import free_port_block
from shared.settings import SERVICE_NAMES, Settings

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime field 14, stime field 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / _TICKS


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM), in MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class CpuUsage:
    """CPU used by named processes over an interval, as a share of one core."""

    pids: Mapping[str, int]
    _start: dict[str, float] = field(default_factory=dict)
    _wall: float = 0.0

    def start(self) -> "CpuUsage":
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._wall = time.perf_counter()
        return self

    def stop(self) -> dict[str, float]:
        """Share of a core each process used since `start` (1.0 = one core busy)."""
        wall = max(time.perf_counter() - self._wall, 1e-9)
        return {
            name: (cpu_seconds(pid) - self._start.get(name, 0.0)) / wall
            for name, pid in self.pids.items()
        }


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a service process pointed at the bench's stack."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URI": settings.mongodb_uri.get_secret_value(),
        "MONGODB_DATABASE": settings.mongodb_database,
        "KPI_STATE_DIR": str(settings.state_dir),
        "KPI_HTTP_PORT_BASE": str(settings.http_port_base),
        "KPI_LOG_LEVEL": "WARNING",
        **extra,
    }


@dataclass
class Running:
    """Service processes started by `services`, by name."""

    pids: dict[str, int]

    def peaks(self) -> dict[str, float]:
        """Peak RSS (MiB) of each service so far."""
        return {name: peak_rss_mib(pid) for name, pid in self.pids.items()}


@asynccontextmanager
async def services(settings: Settings, names: Sequence[str], log: Path) -> AsyncIterator[Running]:
    """Run services as processes until the block ends; ready on entry."""
    children = {
        name: subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", name],
            env=service_env(settings),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        for name in names
    }
    try:
        for name in names:
            url = f"http://127.0.0.1:{settings.http_port_for(name)}/readyz"
            for _ in range(600):
                try:
                    with urllib.request.urlopen(url, timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                await asyncio.sleep(0.1)
        yield Running({name: child.pid for name, child in children.items()})
    finally:
        for child in children.values():
            child.terminate()
        for child in children.values():
            child.wait(timeout=20)


def metric(settings: Settings, service: str, name: str) -> float:
    """One unlabelled sample from a running service's /metrics (0 when absent)."""
    url = f"http://127.0.0.1:{settings.http_port_for(service)}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[-1])
    return 0.0


def metrics_text(settings: Settings, service: str) -> str:
    """A running service's /metrics page."""
    url = f"http://127.0.0.1:{settings.http_port_for(service)}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def port_base() -> int:
    """A `KPI_HTTP_PORT_BASE` whose every service port is free now (a free base alone may
    leave the port of the service after it taken: the bench's scoring once failed to bind)."""
    return free_port_block(len(SERVICE_NAMES))
