"""Dead letters in the log: sampled per reason, the rest counted and summed up once a window.

A backlog with a bad producer can dead-letter every record; one WARNING line each cost ingest
about a tenth of its CPU and buried the log. `kpi_ingest_rejected_total` counts every dead
letter (by event type and reason) and the dead-letter topic keeps every one of them; the log
only has to say that it happens and show what it looks like. So, per reason and per window
(a minute by default), the first `per_reason` dead letters are logged one by one at WARNING
with their topic, partition, offset and detail, as before; the others are counted, and the
first batch after the window closes writes one WARNING summary line with the counts by reason.
"""

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Final

from .triage import Rejected

PER_REASON: Final = 10
WINDOW: Final = timedelta(minutes=1)


class DeadLetterLog:
    """Logs the first dead letters of each reason per window; counts and summarises the rest."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_reason: int = PER_REASON,
        window: timedelta = WINDOW,
    ) -> None:
        self._logger = logger
        self._per_reason = per_reason
        self._window = window
        self._started: datetime | None = None
        self._seen: Counter[str] = Counter()

    def log(self, rejected: Rejected, now: datetime) -> None:
        """Write one dead letter, unless its reason had its share of lines in this window."""
        self.roll(now)
        reason = rejected.dead_letter.reason.value
        self._seen[reason] += 1
        if self._seen[reason] > self._per_reason:
            return
        record = rejected.record
        self._logger.warning(
            "dead-lettered: %s",
            reason,
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
                "detail": rejected.dead_letter.detail,
            },
        )

    def roll(self, now: datetime) -> None:
        """Close the window if it is over: one summary line when some went unlogged."""
        if self._started is None:
            self._started = now
            return
        if now - self._started < self._window:
            return
        unlogged = {r: n - self._per_reason for r, n in self._seen.items() if n > self._per_reason}
        if unlogged:
            counts = dict(sorted(self._seen.items()))
            self._logger.warning(
                "dead-lettered %d records in %ds, by reason %s; %d not logged one by one "
                "(kpi_ingest_rejected_total counts each, kpi.deadletter.v1 holds each)",
                sum(counts.values()),
                round((now - self._started).total_seconds()),
                counts,
                sum(unlogged.values()),
                extra={"dead_letters": counts, "unlogged": dict(sorted(unlogged.items()))},
            )
        self._started = now
        self._seen.clear()
