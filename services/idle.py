"""Which backlog each service reports to `kpi wait-idle`."""

from shared import topics
from shared.idle import BacklogSource, KafkaGroupBacklog
from shared.settings import Settings


def ingest_backlog(settings: Settings) -> KafkaGroupBacklog:
    """Ingest commits its offsets to Kafka once every output is acknowledged."""
    return KafkaGroupBacklog("ingest", topics.INGEST_GROUP, topics.UPSTREAM, settings)


def backlog_sources(settings: Settings, names: tuple[str, ...] = ()) -> list[BacklogSource]:
    """The services' backlog sources, all of them or those named."""
    from services.scoring.backlog import StateBacklog  # noqa: PLC0415 - heavy, only here

    sources: list[BacklogSource] = [
        ingest_backlog(settings),
        StateBacklog(settings),
        KafkaGroupBacklog("alerts", topics.ALERTS_GROUP, (topics.SCORES, topics.EVENTS), settings),
    ]
    return [s for s in sources if not names or s.name in names]
