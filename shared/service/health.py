"""Readiness: the broker and the database each answer their own protocol, probed in the
background so `/readyz` is instant and reflects a lost dependency within seconds."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from shared.metrics import FrameMetrics

Probe = Callable[[], Awaitable[bool]]
logger = logging.getLogger(__name__)


class Readiness:
    """Runs each probe every `interval_s` and remembers the last answers."""

    def __init__(
        self, probes: Mapping[str, Probe], metrics: FrameMetrics, interval_s: float = 1.0
    ) -> None:
        self._probes = dict(probes)
        self._metrics = metrics
        self._interval_s = interval_s
        self._status: dict[str, bool] = dict.fromkeys(self._probes, False)
        self._task: asyncio.Task[None] | None = None

    @property
    def status(self) -> dict[str, bool]:
        """The last answer of every probe."""
        return dict(self._status)

    @property
    def ready(self) -> bool:
        """True when every dependency answered its last probe."""
        return all(self._status.values())

    async def check_once(self) -> None:
        """Probe every dependency now, concurrently."""
        names = list(self._probes)
        answers = await asyncio.gather(*(self._probes[n]() for n in names), return_exceptions=True)
        for name, answer in zip(names, answers, strict=True):
            up = answer is True
            if up != self._status[name]:
                logger.info("dependency %s is %s", name, "up" if up else "down")
            self._status[name] = up
            self._metrics.dependency_up.labels(dependency=name).set(1 if up else 0)
        self._metrics.ready.set(1 if self.ready else 0)

    async def _loop(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self._interval_s)

    def start(self) -> None:
        """Start probing in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="readiness-probes")

    async def stop(self) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
