"""Readiness: the broker and the database each answer their own protocol, probed in the
background so `/readyz` is instant and reflects a lost dependency within seconds; and the
service's own conditions (its consumers make progress), each of which says why it fails."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from shared.metrics import FrameMetrics

Probe = Callable[[], Awaitable[bool]]
Condition = Callable[[], str | None]  # why the service is not ready, None when it is
logger = logging.getLogger(__name__)


class Readiness:
    """Runs each probe every `interval_s` and remembers the last answers."""

    def __init__(
        self,
        probes: Mapping[str, Probe],
        metrics: FrameMetrics,
        interval_s: float = 1.0,
        conditions: Mapping[str, Condition] | None = None,
    ) -> None:
        self._probes = dict(probes)
        self._conditions = dict(conditions or {})
        self._metrics = metrics
        self._interval_s = interval_s
        self._status: dict[str, bool] = dict.fromkeys(self._probes, False)
        self._task: asyncio.Task[None] | None = None

    @property
    def status(self) -> dict[str, bool]:
        """The last answer of every probe, and whether each condition holds."""
        failing = self.reasons
        return {**self._status, **{name: name not in failing for name in self._conditions}}

    @property
    def reasons(self) -> dict[str, str]:
        """Why each failing check fails."""
        reasons = {
            name: f"{name} did not answer its last probe"
            for name, up in self._status.items()
            if not up
        }
        for name, condition in self._conditions.items():
            reason = condition()
            if reason is not None:
                reasons[name] = reason
        return reasons

    @property
    def ready(self) -> bool:
        """True when every dependency answered its last probe (`kpi_service_ready`; the
        conditions turn `/readyz` to 503 and have metrics of their own)."""
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
