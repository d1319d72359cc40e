"""Scoring's published read model: the one scoring module other services may import.

Alerts and reporting read scores and scoring's event-time clock through `ScoreQueries`, never
through scoring's store, its composition root or its document layout, so scoring can change how
it stores its state by changing the adapter here alone. Three pieces:

- `ScoreQueries`, the protocol: current scores of an entity and period (rolling windows
  included), one period's scores of many entities in bulk, rolling windows in bulk, the
  group's event-time clock (`GroupClock`) and its positions on `kpi.events.v1` (kept with the
  state: scoring commits no offset to Kafka);
- `mongo_score_queries`, the adapter on scoring's MongoDB state (read-only);
- `MemoryScoreQueries`, an in-memory fake filled with scores and a clock, for other services'
  unit tests. Both keep the promises of `tests/support/score_queries_contract.py`.
"""

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Protocol

from pymongo import AsyncMongoClient

from shared import mongo, topics
from shared.kpi.config import KpiConfig
from shared.messages.score import Score

from .domain.contributions import DAILY_LEVELS
from .generation_store import ActiveStateStore, MongoGenerations
from .generations import FIRST
from .ports import GroupClock, StateStore
from .queries import current_scores, period_scores
from .scores import ScoreBuilder

__all__ = [
    "GroupClock",
    "MemoryScoreQueries",
    "ScoreQueries",
    "StateScoreQueries",
    "generation_score_queries",
    "has_windows",
    "mongo_score_queries",
]


def has_windows(entity: str) -> bool:
    """Whether scoring keeps rolling windows for the entity (branch level and above); other
    entities are absent from `ScoreQueries.window_scores`."""
    return entity.startswith(DAILY_LEVELS)


class ScoreQueries(Protocol):
    """Scoring's scores and clock, read-only, as scoring's state stands now."""

    async def current_scores(self, entity: str, period: str, kpi: str | None = None) -> list[Score]:
        """Every KPI (or one) of an entity for a calendar period (`2024-05`, `FY2024-Q1`) or a
        rolling window (`R30D`, ending at the latest event time); empty before any event has
        been applied."""
        ...

    async def period_scores(self, entities: Sequence[str], period: str) -> dict[str, list[Score]]:
        """Every KPI of many entities for one calendar period, read in bulk; every entity asked
        for is a key. Empty before any event has been applied."""
        ...

    async def window_scores(self, entities: Sequence[str], window: str) -> dict[str, list[Score]]:
        """Every KPI of a rolling window (`R30D`) for those of the entities scoring keeps
        windows for (`has_windows`); the others are absent. Empty before any event."""
        ...

    async def clock(self) -> GroupClock | None:
        """Scoring's event time: low watermark, latest and earliest event time, the last
        commit's wall-clock time and backlog (None before its first commit)."""
        ...

    async def positions(
        self, partitions: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        """For each of the `kpi.events.v1` partitions asked for that scoring has committed, the
        offset of the next record it will apply (its consumer position, kept with its state)."""
        ...

    async def generation(self) -> str:
        """The state generation that answers (`g0` until a `kpi recompute` switches to
        another): when it changes, the answers may have changed under new definitions."""
        ...

    async def republished_from(self, since: str) -> str | None:
        """The first period whose changed figures are announced again for the move from
        generation `since` to the one that answers (`kpi recompute --from PERIOD`; see
        `shared.kpi.republication`). None: every period."""
        ...


class StateScoreQueries:
    """`ScoreQueries` on scoring's state, summed by scoring's own score builder."""

    def __init__(
        self,
        state: StateStore,
        config: KpiConfig,
        generation: Callable[[], Awaitable[str]] | None = None,
        republished: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self._state = state
        self._generation = generation
        self._republished = republished
        self._builder = self._built(config)

    def _built(self, config: KpiConfig) -> ScoreBuilder:
        return ScoreBuilder(
            catalogue=config.catalogue,
            calendar=config.calendar,
            org=config.org,
            targets=config.targets,
            store=self._state,
            definitions=config.definitions,
        )

    def redefine(self, config: KpiConfig) -> None:
        """Sum the scores under these definitions from now on: a reader that follows a
        generation switch (reporting) loads the new files and answers with their KPIs,
        targets and version."""
        self._builder = self._built(config)

    async def current_scores(self, entity: str, period: str, kpi: str | None = None) -> list[Score]:
        return await current_scores(
            self._state, self._builder, entity=entity, period=period, kpi=kpi
        )

    async def period_scores(self, entities: Sequence[str], period: str) -> dict[str, list[Score]]:
        return await period_scores(self._state, self._builder, entities=entities, period=period)

    async def window_scores(self, entities: Sequence[str], window: str) -> dict[str, list[Score]]:
        found: dict[str, list[Score]] = {}
        for entity in filter(has_windows, entities):
            scores = await self.current_scores(entity, window)
            if not scores:
                return {}  # nothing applied yet
            found[entity] = scores
        return found

    async def clock(self) -> GroupClock | None:
        return await self._state.group_clock(topics.SCORING_GROUP)

    async def positions(
        self, partitions: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        stored = await self._state.positions(topics.SCORING_GROUP, partitions)
        return {partition: position.next_offset for partition, position in stored.items()}

    async def generation(self) -> str:
        return FIRST if self._generation is None else await self._generation()

    async def republished_from(self, since: str) -> str | None:
        return None if self._republished is None else await self._republished(since)


def mongo_score_queries(
    client: AsyncMongoClient[mongo.Document], database: str, config: KpiConfig
) -> StateScoreQueries:
    """The read model on scoring's MongoDB state (`MONGODB_DATABASE`); it only reads, each
    read of the active state generation (a switch is seen by the next read)."""
    generations = MongoGenerations(client, database)
    return StateScoreQueries(
        ActiveStateStore(generations), config, generations.active, generations.republished_from
    )


def generation_score_queries(
    client: AsyncMongoClient[mongo.Document], database: str, config: KpiConfig, generation: str
) -> ScoreQueries:
    """The read model on one state generation, whether active or not (reporting compares what
    the previous one answers with the new one's answers after a switch); it only reads."""

    async def pinned() -> str:
        return generation

    return StateScoreQueries(MongoGenerations(client, database).store(generation), config, pinned)


class MemoryScoreQueries:
    """An in-memory `ScoreQueries` for tests: put scores and set the clock; it answers with
    what it was given (the newest score per entity, period and KPI), in the order put."""

    def __init__(
        self,
        scores: Iterable[Score] = (),
        clock: GroupClock | None = None,
        positions: Mapping[tuple[str, int], int] | None = None,
        generation: str = FIRST,
    ) -> None:
        self._scores: dict[tuple[str, str], dict[str, Score]] = {}
        self._generation = generation
        self._republish_from: str | None = None
        self._clock = clock
        self._positions = dict(positions or {})
        self.put(scores)

    def put(self, scores: Iterable[Score]) -> None:
        """Add scores, replacing any of the same entity, period and KPI."""
        for score in scores:
            self._scores.setdefault((score.entity, score.period), {})[score.kpi] = score

    def set_clock(self, clock: GroupClock | None) -> None:
        """What `clock` answers from now on; None reads as nothing applied yet."""
        self._clock = clock

    def set_positions(self, positions: Mapping[tuple[str, int], int]) -> None:
        """What `positions` answers from now on (next offsets by partition)."""
        self._positions = dict(positions)

    def set_generation(self, generation: str, *, republish_from: str | None = None) -> None:
        """What `generation` answers from now on (a switch, `--from republish_from`)."""
        self._generation = generation
        self._republish_from = republish_from

    async def generation(self) -> str:
        return self._generation

    async def republished_from(self, since: str) -> str | None:
        return self._republish_from

    def _of(self, entity: str, period: str) -> list[Score]:
        return list(self._scores.get((entity, period), {}).values())

    async def current_scores(self, entity: str, period: str, kpi: str | None = None) -> list[Score]:
        if self._clock is None:
            return []
        return [s for s in self._of(entity, period) if kpi is None or s.kpi == kpi]

    async def period_scores(self, entities: Sequence[str], period: str) -> dict[str, list[Score]]:
        if self._clock is None:
            return {}
        return {entity: self._of(entity, period) for entity in entities}

    async def window_scores(self, entities: Sequence[str], window: str) -> dict[str, list[Score]]:
        if self._clock is None:
            return {}
        return {entity: self._of(entity, window) for entity in filter(has_windows, entities)}

    async def clock(self) -> GroupClock | None:
        return self._clock

    async def positions(
        self, partitions: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        return {p: self._positions[p] for p in partitions if p in self._positions}
