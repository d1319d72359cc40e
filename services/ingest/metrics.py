"""Ingest's metrics; labels are bounded (event type, reason, topic, partition), never an
agent, customer, policy or phone."""

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.events import MODELS_BY_EVENT_TYPE
from shared.metrics import ConsumerLag

KNOWN_EVENT_TYPES = frozenset(MODELS_BY_EVENT_TYPE)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def bounded_event_type(event_type: str) -> str:
    """The label for an event type: a known one, or `unknown` (publishers cannot add labels)."""
    return event_type if event_type in KNOWN_EVENT_TYPES else "unknown"


class IngestMetrics:
    """Counters, histograms and gauges of the ingest service."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.accepted = Counter(
            "kpi_ingest_accepted",
            "Upstream records published as canonical events.",
            ["event_type"],
            registry=registry,
        )
        self.rejected = Counter(
            "kpi_ingest_rejected",
            "Upstream records sent to the dead-letter topic.",
            ["event_type", "reason"],
            registry=registry,
        )
        self.duplicates = Counter(
            "kpi_ingest_duplicates",
            "Upstream records dropped as repeats of an accepted (source, event_id).",
            ["event_type"],
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "kpi_ingest_batch_seconds",
            "Time to triage, de-duplicate and publish one batch, until every ack.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.latency_seconds = Histogram(
            "kpi_ingest_latency_seconds",
            "From the upstream record's broker timestamp to its output being acknowledged.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_records = Histogram(
            "kpi_ingest_batch_records",
            "Records per batch.",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
            registry=registry,
        )
        self.consumer_lag = ConsumerLag(registry, "ingest")
        self.retries = Counter(
            "kpi_ingest_retries",
            "Batches retried after a broker or database failure.",
            registry=registry,
        )
        self.processing_errors = Counter(
            "kpi_ingest_processing_errors",
            "Batches and records whose processing raised an error a retry would not fix; "
            "each record that still fails on its own is dead-lettered as processing_error.",
            registry=registry,
        )
        self.org_changes = Counter(
            "kpi_ingest_org_changes",
            "kpi.org.v1 records applied or refused.",
            ["result"],
            registry=registry,
        )
