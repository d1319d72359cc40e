"""A service's batch progress, as it publishes it for the pipeline page: how long its recent
batches took and how far its event time has come. Pure: the service measures and hands the
figures in (`BatchTimings.observe`); `progress_board.py` publishes and reads them.

Prometheus keeps the full histograms (`kpi_*_batch_seconds`); this is the short summary a
person reads on the console without a Prometheus at hand.
"""

import math
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

# The batches the quantiles are taken over: the last ones, whatever their age.
RECENT_BATCHES: Final = 100


class ServiceProgress(BaseModel):
    """One service's batches and event time, as it last published them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    published_at: datetime = Field(description="Wall-clock time of this publication")
    batches: int = Field(ge=0, description="Batches handled since the service started")
    records: int = Field(ge=0, description="Records in those batches")
    last_batch_at: datetime | None = Field(description="When the last batch ended (wall clock)")
    last_batch_s: float | None = None
    recent: int = Field(ge=0, description="How many recent batches the quantiles are over")
    p50_s: float | None = None
    p95_s: float | None = None
    max_s: float | None = None
    watermark: datetime | None = Field(
        default=None, description="The service's event time (its low watermark, or the latest)"
    )


def quantile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank quantile (0 < q ≤ 1) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class BatchTimings:
    """The durations of a service's recent batches and its totals since start."""

    def __init__(self, service: str, keep: int = RECENT_BATCHES) -> None:
        self.service = service
        self._recent: deque[float] = deque(maxlen=keep)
        self._batches = 0
        self._records = 0
        self._last_at: datetime | None = None

    def observe(self, seconds: float, records: int, at: datetime) -> None:
        """A batch of `records` that took `seconds` and ended `at`."""
        self._recent.append(seconds)
        self._batches += 1
        self._records += records
        self._last_at = at

    def progress(self, now: datetime, watermark: datetime | None = None) -> ServiceProgress:
        """The summary to publish at `now`, with the service's event time."""
        recent = list(self._recent)
        return ServiceProgress(
            service=self.service,
            published_at=now,
            batches=self._batches,
            records=self._records,
            last_batch_at=self._last_at,
            last_batch_s=recent[-1] if recent else None,
            recent=len(recent),
            p50_s=quantile(recent, 0.5),
            p95_s=quantile(recent, 0.95),
            max_s=max(recent) if recent else None,
            watermark=watermark,
        )
