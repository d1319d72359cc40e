"""Retrying a batch until it goes through: a lost broker or database stalls the batch, not the
service, and nothing is committed until the batch is done."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
logger = logging.getLogger(__name__)


async def until_done(
    step: Callable[[], Awaitable[T]],
    *,
    max_backoff_s: float,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[], None] = lambda: None,
    give_up_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Run `step` until it succeeds, waiting 0.5 s doubling to `max_backoff_s` between tries.

    Exceptions listed in `give_up_on` (and cancellation) propagate at once.
    """
    delay = min(0.5, max_backoff_s)
    while True:
        try:
            return await step()
        except asyncio.CancelledError:
            raise
        except give_up_on:
            raise
        except Exception:
            on_retry()
            logger.exception("batch failed; retrying in %.1fs", delay)
            await sleep(delay)
            delay = min(delay * 2, max_backoff_s)
