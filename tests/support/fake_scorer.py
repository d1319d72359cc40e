"""Hand-written `Scorer`s for the scoring service's unit tests."""

from collections.abc import Iterable, Mapping
from datetime import datetime

from services.scoring.domain.batch import BatchOutcome
from services.scoring.publication import Changed
from shared.kafka_output import Outbound


class NoScores:
    """Changes nothing that has a score: the service's commits alone are under test."""

    def changed(self, outcome: BatchOutcome) -> Changed:
        return {}

    def changed_buckets(self, touched: Iterable[tuple[str, str]]) -> Changed:
        return {}

    def split_live(self, changed: Mapping[tuple[str, str], set[str]]) -> tuple[Changed, Changed]:
        return {}, {}

    async def messages(
        self,
        changed: Mapping[tuple[str, str], set[str]],
        stream_time: datetime | None,
        *,
        later: bool = True,
    ) -> list[Outbound]:
        return []


class PoisonedScorer(NoScores):
    """Raises, as a bug would, on a batch that applied the poisoned agent."""

    def __init__(self, poisoned: str) -> None:
        self.poisoned = poisoned

    def changed(self, outcome: BatchOutcome) -> Changed:
        if any(entity == f"agent:{self.poisoned}" for entity, _, _ in outcome.deltas):
            raise ZeroDivisionError("target of zero")
        return {}
