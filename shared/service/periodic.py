"""A step a service runs on a timer beside its consumers (alerts' staleness check, reporting's
period close): started after the service's dependencies, cancelled before they stop."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class Periodic:
    """Runs `step` every `interval_s` seconds; a failed step is logged and tried again at the
    next interval, so a lost database delays the work instead of stopping it."""

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[object]],
        interval_s: float,
        *,
        run_first: bool = False,
    ) -> None:
        self._name = name
        self._step = step
        self._interval_s = interval_s
        self._run_first = run_first
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _forever(self) -> None:
        if not self._run_first:
            await asyncio.sleep(self._interval_s)
        while True:
            try:
                await self._step()
            except Exception:
                logger.exception("%s failed; trying again in %.0fs", self._name, self._interval_s)
            await asyncio.sleep(self._interval_s)
