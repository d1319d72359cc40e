"""Which backlog each service reports to `kpi wait-idle`."""

from shared import topics
from shared.idle import BacklogSource, KafkaGroupBacklog
from shared.settings import Settings


def backlog_sources(settings: Settings, names: tuple[str, ...] = ()) -> list[BacklogSource]:
    """The services' backlog sources, all of them or those named."""
    from services.scoring.backlog import StateBacklog  # noqa: PLC0415 - heavy, only here

    sources: list[BacklogSource] = [
        KafkaGroupBacklog("ingest", "kpi-ingest", topics.UPSTREAM, settings),
        StateBacklog(settings),
    ]
    return [s for s in sources if not names or s.name in names]
