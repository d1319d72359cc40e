"""Retrying a batch until it goes through: a lost broker or database stalls the batch, not the
service, and nothing is committed until the batch is done.

Only a `TransientError` is retried. Anything else is a bug or a record the code cannot handle:
retrying it would stall the partition for ever, so it is counted, logged with where the batch
was read, and raised for the caller to isolate the poisoned record and dead-letter it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .batch_span import BatchSpan
from .errors import TransientError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
logger = logging.getLogger(__name__)


def _nothing() -> None:
    return None


async def until_done(
    step: Callable[[], Awaitable[T]],
    *,
    where: BatchSpan,
    max_backoff_s: float,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[], None] = _nothing,
    on_failure: Callable[[], None] = _nothing,
    give_up_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Run `step` until it succeeds, waiting 0.5 s doubling to `max_backoff_s` between tries
    of a `TransientError` (each counted by `on_retry`).

    Exceptions listed in `give_up_on` (and cancellation) propagate at once, uncounted; any
    other exception propagates at once too, counted by `on_failure` and logged with `where`.
    """
    delay = min(0.5, max_backoff_s)
    while True:
        try:
            return await step()
        except give_up_on:
            raise
        except TransientError as exc:
            on_retry()
            logger.warning(
                "%s failed; retrying in %.1fs: %s", where, delay, exc, extra=where.log_fields()
            )
            await sleep(delay)
            delay = min(delay * 2, max_backoff_s)
        except Exception:
            on_failure()
            logger.exception(
                "%s failed, and retrying would not help", where, extra=where.log_fields()
            )
            raise


@dataclass(frozen=True)
class RetryPolicy:
    """How a service retries its batches: the backoff cap, how it waits, what it counts, and
    which errors end the attempt at once (see `until_done`)."""

    max_backoff_s: float
    sleep: Sleep = asyncio.sleep
    on_retry: Callable[[], None] = _nothing
    on_failure: Callable[[], None] = _nothing
    give_up_on: tuple[type[BaseException], ...] = ()

    async def run(self, step: Callable[[], Awaitable[T]], where: BatchSpan) -> T:
        """`until_done` under this policy."""
        return await until_done(
            step,
            where=where,
            max_backoff_s=self.max_backoff_s,
            sleep=self.sleep,
            on_retry=self.on_retry,
            on_failure=self.on_failure,
            give_up_on=self.give_up_on,
        )
