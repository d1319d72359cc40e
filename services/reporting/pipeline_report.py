"""The pipeline page's per-service figures, put together from the offset samples
(`pipeline_figures.py`), the progress the services publish (shared/progress_board.py) and the
clocks: ingest's and alerts' event time from their progress, scoring's low watermark from its
read model, reporting's close clock. Pure."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from shared.progress import ServiceProgress

from .api import models as m
from .pipeline_figures import INPUTS, OffsetSnapshot, partition_lags, rates, service_lags


def pipeline_figures(
    snapshots: Sequence[OffsetSnapshot],
    progress: Mapping[str, ServiceProgress],
    watermarks: Mapping[str, datetime | None],
) -> tuple[list[m.ServiceFigures], list[m.PartitionLag]]:
    """Every service of `INPUTS` in the pipeline's order, and every partition's lag.
    `watermarks` are the event times known outside the progress (scoring's, reporting's): they
    take the place of what a service published."""
    lags = partition_lags(snapshots[-1]) if snapshots else []
    totals = service_lags(lags) if snapshots else {}
    speeds = rates(snapshots)
    kinds: dict[str, m.WatermarkKind] = {
        "ingest": "low_watermark",
        "scoring": "low_watermark",
        "alerts": "latest_event",
        "reporting": "close_clock",
    }
    services = []
    for service, inputs in INPUTS.items():
        published = progress.get(service)
        speed = speeds[service]
        watermark = watermarks.get(service, published.watermark if published else None)
        services.append(
            m.ServiceFigures(
                service=service,
                inputs=list(inputs),
                lag=totals.get(service),
                events_per_s=None if speed is None else speed.per_second,
                rate_seconds=None if speed is None else speed.seconds,
                batches=published.batches if published else None,
                batch_p50_s=published.p50_s if published else None,
                batch_p95_s=published.p95_s if published else None,
                batch_max_s=published.max_s if published else None,
                recent_batches=published.recent if published else 0,
                last_batch_at=published.last_batch_at if published else None,
                published_at=published.published_at if published else None,
                watermark=watermark,
                watermark_kind=kinds[service],
            )
        )
    partitions = [
        m.PartitionLag(
            service=lag.service,
            topic=lag.topic,
            partition=lag.partition,
            position=lag.position,
            end=lag.end,
            lag=lag.lag,
        )
        for lag in lags
    ]
    return services, partitions
