"""`kpi run`: the local stack, the four services and the demo feed, stopped by Ctrl-C."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from types import FrameType
from typing import IO, Any

from shared.errors import StackError
from shared.localstack import Component, LocalStack
from shared.settings import SERVICE_NAMES, Settings

from .demo_feed import demo_documents
from .publishing import PublishTotals, producer, publish_documents

READY_TIMEOUT_S = 60.0


def _get(url: str, timeout: float = 1.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our URL
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


class LocalRun:
    """Supervises the stack, one process per service and the demo feed."""

    def __init__(self, settings: Settings, *, rate: float, demo: bool) -> None:
        self.settings = settings
        self.rate = rate
        self.demo = demo
        self.stack = LocalStack(settings)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: list[IO[bytes]] = []
        self.started_stack: list[Component] = []
        self._stopping = threading.Event()

    def _base_url(self, service: str) -> str:
        return f"http://{self.settings.http_host}:{self.settings.http_port_for(service)}"

    def _start_services(self) -> None:
        logs = self.stack.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name in SERVICE_NAMES:
            port = self.settings.http_port_for(name)
            log = (logs / f"{name}.log").open("ab")
            self.logs.append(log)
            self.children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter
                [sys.executable, "-m", "services.cli.main", "serve", name, "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        waiting = set(SERVICE_NAMES)
        while waiting and time.monotonic() < deadline and not self._stopping.is_set():
            for name in sorted(waiting):
                child = self.children[name]
                if child.poll() is not None:
                    raise StackError(
                        f"service {name} exited with code {child.returncode}; "
                        f"see {self.stack.state_dir / 'logs' / (name + '.log')}"
                    )
                if _get(self._base_url(name) + "/readyz") == 200:
                    waiting.discard(name)
            time.sleep(0.3)
        if waiting and not self._stopping.is_set():
            raise StackError(
                f"not ready after {READY_TIMEOUT_S:.0f}s: {', '.join(sorted(waiting))}"
            )

    def _print_urls(self, seconds: float) -> None:
        print(f"\nAll four services are ready ({seconds:.1f}s). Where to look:\n")
        for name in SERVICE_NAMES:
            base = self._base_url(name)
            print(f"  {name:10} {base}/metrics   {base}/healthz   {base}/readyz")
        print(f"\n  Kafka      {self.settings.kafka_bootstrap_servers}")
        print(f"  MongoDB    {self.settings.mongodb_uri.get_secret_value()}")
        print(f"  logs       {self.stack.state_dir / 'logs'}")
        if self.demo:
            print(f"  demo feed  {self.rate:.0f} events/s into insurance.*.v1")
        print("\nCtrl-C stops everything.\n", flush=True)

    async def _feed(self) -> None:
        documents = demo_documents(self.settings, "2024-04-01", 365, seed=7)
        totals = PublishTotals()
        batch = max(1, int(self.rate))
        async with producer(self.settings) as client:
            while not self._stopping.is_set():
                started = time.monotonic()
                chunk = [
                    (str(d.get("event_id")), d)
                    for _, d in zip(range(batch), documents, strict=False)
                ]
                if not chunk:
                    break
                await publish_documents(client, chunk, totals)
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        print(f"demo feed: sent {totals.sent}, failed {totals.failed}", flush=True)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping.set()

    def _shutdown(self) -> None:
        print("\nstopping services…", flush=True)
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            if child.poll() is None:
                child.kill()
                child.wait()
        for log in self.logs:
            log.close()
        for component in self.started_stack:
            self.stack.processes[component].stop()
        if self.started_stack:
            print("stopped the local broker and database", flush=True)

    def run(self) -> int:
        """Run until Ctrl-C or SIGTERM; always leave nothing behind that we started."""
        previous: dict[int, Any] = {
            s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)
        }
        started = time.monotonic()
        try:
            self.started_stack = [c for c in Component if self.stack.start_component(c)]
            asyncio.run(self._stack_ready())
            self._start_services()
            self._wait_ready()
            if self._stopping.is_set():
                return 130
            self._print_urls(time.monotonic() - started)
            if self.demo:
                asyncio.run(self._feed())
            while not self._stopping.is_set():
                for name, child in self.children.items():
                    if child.poll() is not None:
                        raise StackError(f"service {name} exited with code {child.returncode}")
                time.sleep(0.5)
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    async def _stack_ready(self) -> None:
        await asyncio.gather(*(self.stack.wait_ready(c) for c in Component))
        await self.stack.create_topics()
