"""Scoring's metrics; labels are bounded (never an agent, customer or policy)."""

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.metrics import ConsumerLag

from .domain.batch import BatchOutcome
from .ports import BatchWrite

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LATENCY_BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60)


class ScoringMetrics:
    """Counters, histograms and gauges of the scoring service."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.applied = Counter(
            "kpi_scoring_events_applied",
            "Canonical events applied to the state.",
            registry=registry,
        )
        self.duplicates = Counter(
            "kpi_scoring_duplicates",
            "Canonical events skipped as re-publications already applied.",
            registry=registry,
        )
        self.rejected = Counter(
            "kpi_scoring_rejected",
            "Events dead-lettered: too_late (period closed beyond the allowed lateness), "
            "schema_violation (not a canonical event) or processing_error (an error a retry "
            "would not fix).",
            ["reason"],
            registry=registry,
        )
        self.scores_published = Counter(
            "kpi_scoring_scores_published", "Score updates published.", registry=registry
        )
        self.batch_seconds = Histogram(
            "kpi_scoring_batch_seconds",
            "From reading a batch's state to its transaction's commit.",
            buckets=BUCKETS,
            registry=registry,
        )
        self.batch_events = Histogram(
            "kpi_scoring_batch_events",
            "Events per batch.",
            buckets=(1, 10, 100, 500, 1000, 5000, 10000, 20000, 50000),
            registry=registry,
        )
        self.documents_written = Histogram(
            "kpi_scoring_documents_written",
            "Counter and record documents written per batch.",
            buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000),
            registry=registry,
        )
        self.retries = Counter(
            "kpi_scoring_retries", "Batches retried after a failure.", registry=registry
        )
        self.processing_errors = Counter(
            "kpi_scoring_processing_errors",
            "Batches and records whose processing raised an error a retry would not fix; the "
            "batch is bisected and each record that fails alone is dead-lettered.",
            registry=registry,
        )
        self.splits = Counter(
            "kpi_scoring_batch_splits",
            "Batches split in two because their commit was too long or too large for the "
            "database (a transaction lifetime reached); later batches are cut smaller.",
            registry=registry,
        )
        self.fenced = Counter(
            "kpi_scoring_fenced",
            "Batches dropped because another instance had committed the partition.",
            registry=registry,
        )
        self.stream_time = Gauge(
            "kpi_scoring_stream_time_seconds",
            "The low watermark (minimum over active channels), as a Unix time.",
            registry=registry,
        )
        self.score_flush_seconds = Histogram(
            "kpi_scoring_score_flush_seconds",
            "Publishing the pending score updates: computing them from the committed counters "
            "and sending them (after every batch once caught up; less often in a backlog).",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.scores_pending = Gauge(
            "kpi_scoring_scores_pending",
            "(entity, period) pairs whose score updates wait to be published.",
            registry=registry,
        )
        self.score_failures = Counter(
            "kpi_scoring_score_failures",
            "Score updates that could not be computed (logged with their entity, KPI and "
            "period); the others are published.",
            registry=registry,
        )
        self.event_to_score = Histogram(
            "kpi_scoring_event_to_score_seconds",
            "From an upstream record's broker timestamp to the score updates of its months "
            "being acknowledged (live: its quarters, halves, years and the later months that "
            "sum it follow, kpi_scoring_event_to_summary_seconds).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.event_to_summary = Histogram(
            "kpi_scoring_event_to_summary_seconds",
            "From an upstream record's broker timestamp to every score update it makes being "
            "acknowledged, quarters, halves, years and later months included (live events; "
            "while catching up, both histograms observe the same publication).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.state_cache_bytes = Gauge(
            "kpi_scoring_state_cache_bytes",
            "BSON bytes of counter and record documents kept in memory between batches "
            "(bounded by KPI_SCORING_CACHE_MB).",
            registry=registry,
        )
        self.consumer_lag = ConsumerLag(registry, "scoring")

    def observe(
        self,
        outcome: BatchOutcome,
        write: BatchWrite,
        seconds: float,
        stream_time: datetime | None,
    ) -> None:
        """Record one committed batch."""
        self.applied.inc(outcome.applied)
        self.duplicates.inc(outcome.duplicates)
        for _, reason, _ in outcome.rejected:
            self.rejected.labels(reason.value).inc()
        self.batch_seconds.observe(seconds)
        self.batch_events.observe(outcome.applied + outcome.duplicates + len(outcome.rejected))
        self.documents_written.observe(len(write.counters) + len(write.records))
        if stream_time is not None:
            self.stream_time.set(stream_time.timestamp())
