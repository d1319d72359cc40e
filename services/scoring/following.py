"""How the live scoring service follows a generation switch (`kpi recompute`, `--rollback`).

The service writes to one generation through a `GenerationFence`. When a commit finds that
generation no longer active, the commit is refused (nothing written, nothing published) and
the batch dropped as if fenced by another instance; on a quiet stream the publication timer
finds it, every 5 s. The service is then restarted in process on the active generation: the
definitions are read again from `KPI_CONFIG_DIR` (the files the new generation was built
with), the positions of the assigned partitions are loaded from the new generation's state and
the consumer seeks there. What the previous generation
had committed and not yet published is not published: its scores are no longer the answer.

Why in process rather than exiting for the supervisor to restart it: an exit would look like
a crash (a restart alert, a pod in back-off) for an intended operation, and would stop
scoring for the supervisor's delay; the switch is a restart of the service's state, not of
its connections.
"""

import asyncio
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import topics
from shared.kafka_output import OutputPort
from shared.kpi.republication import republishes, settled

from .consumer import seek
from .definition_change import republish
from .definition_snapshots import DefinitionSnapshots, files_of, write_beside
from .generation_store import GenerationFence, MongoGenerations
from .generations import RevisionProgress, republish_from
from .ports import StateStore
from .publication import Scorer
from .scores import ScoreBuilder
from .service import ScoringService

logger = logging.getLogger(__name__)


def _owns_first(consumer: AIOKafkaConsumer | None) -> bool:
    """Whether this instance owns partition 0 of kpi.events.v1: the one that republishes."""
    return consumer is not None and TopicPartition(topics.EVENTS, 0) in consumer.assignment()


def _report(task: "asyncio.Task[int]") -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "the score revisions of a definitions change failed; the new scores go out as "
            "they change",
            exc_info=task.exception(),
        )


@dataclass
class LiveScoring:
    """The service instance in use, and the fence of the generation it writes (None: the
    store was handed in whole, as tests do, and generations are not followed)."""

    service: ScoringService
    fence: GenerationFence | None = None

    @property
    def switched(self) -> bool:
        """Whether the generation written is known to be no longer the active one."""
        return self.fence is not None and self.fence.switched_to is not None


class GenerationFollower:
    """Restarts the live service on the active generation."""

    def __init__(
        self,
        live: LiveScoring,
        generations: MongoGenerations,
        build: Callable[[GenerationFence], ScoringService],
        definitions_hash: Callable[[], str],
        output: OutputPort,
        *,
        config_dir: Path | None = None,
        snapshots: DefinitionSnapshots | None = None,
        scorer_for: Callable[[Path, StateStore], ScoreBuilder] | None = None,
    ) -> None:
        self._live = live
        self._generations = generations
        self._build = build
        self._definitions_hash = definitions_hash
        self._output = output
        # The files of each version loaded, kept so that the revisions of a switch can be
        # worked out again after a crash (definition_snapshots.py); None: not kept (tests).
        self._config_dir = config_dir
        self._snapshots = snapshots
        self._scorer_for = scorer_for
        self._revisions: asyncio.Task[int] | None = None

    async def start(self) -> None:
        """At start-up, before any partition is assigned: write to the active generation (and
        record the definitions applied to it if nobody has: the first generation's)."""
        active = await self._generations.active()
        fence = GenerationFence(self._generations, active)
        self._install(fence)
        await fence.ensure_schema()
        await self._generations.note_definitions(active, self._definitions_hash())
        await self._keep_definitions()
        await self._check_definitions(active)

    async def follow_quietly(self, turn: asyncio.Lock, consumer: AIOKafkaConsumer | None) -> bool:
        """Follow a switch no batch has found (a quiet stream); asked every few seconds.
        Returns whether there was one. `turn` is held by each batch: never beside one."""
        fence = self._live.fence
        if fence is None or (fence.switched_to is None and await fence.check()):
            await self._resume_revisions(consumer)
            return False
        async with turn:
            if self._live.switched:  # not followed by a batch meanwhile
                await self.follow(consumer)
        return True

    async def follow(self, consumer: AIOKafkaConsumer | None) -> None:
        """After a refused commit: the service on the active generation, seeked to its
        positions for the partitions this instance owns."""
        old = self._live.service
        await old.published()  # a publication running beside the batches ends first
        fence = GenerationFence(self._generations, await self._generations.active())
        previous = self._live.fence.generation if self._live.fence is not None else None
        service = self._install(fence)
        await fence.ensure_schema()
        if consumer is not None:
            owned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
            await seek(consumer, await service.assign(owned))
        logger.warning(
            "the active state generation changed from %s to %s: scoring restarted on it "
            "with the definitions in KPI_CONFIG_DIR (%s); %d score updates of %s dropped",
            previous,
            fence.generation,
            self._definitions_hash(),
            old.pending_scores,
            previous,
        )
        await self._keep_definitions()
        await self._check_definitions(fence.generation)
        if _owns_first(consumer) and previous is not None:
            progress = await self._generations.revisions()
            if progress is None or not progress.is_of(fence.generation, previous):
                progress = RevisionProgress(to=fence.generation, previous=previous)
                await self._generations.note_revisions(progress)
            self._start_revisions(old.scorer, service.scorer, progress)

    async def _resume_revisions(self, consumer: AIOKafkaConsumer | None) -> None:
        """Go on with the score revisions of the last switch where a crash left them, when
        this instance owns partition 0 and nothing is under way (asked every few seconds)."""
        fence = self._live.fence
        running = self._revisions is not None and not self._revisions.done()
        if fence is None or running or not _owns_first(consumer):
            return
        progress = await self._generations.revisions()
        if progress is None or progress.finished or progress.to != fence.generation:
            return
        before = await self._scorer_of(progress.previous)
        if before is None:
            logger.error(
                "the score revisions from %s to %s stopped part-way, and the definitions %s "
                "was built with were never kept: the rest are not republished (the new "
                "figures go out as their counters change)",
                progress.previous,
                progress.to,
                progress.previous,
            )
            await self._generations.note_revisions(replace(progress, finished=True))
            return
        logger.warning(
            "the score revisions from %s to %s stopped part-way (after %s); going on",
            progress.previous,
            progress.to,
            progress.after,
        )
        self._start_revisions(before, self._live.service.scorer, progress)

    async def _scorer_of(self, generation: str) -> ScoreBuilder | None:
        """A score builder on a generation's state with the definitions it was built with,
        from the kept files (None: not kept)."""
        built_with = (await self._generations.read()).info(generation).definitions_hash
        if (
            built_with is None
            or self._snapshots is None
            or self._config_dir is None
            or self._scorer_for is None
        ):
            return None
        files = await self._snapshots.files(built_with)
        if files is None:
            return None
        with tempfile.TemporaryDirectory(prefix="kpi-definitions-") as tmp:
            directory = write_beside(self._config_dir, files, Path(tmp) / "config")
            return self._scorer_for(directory, self._generations.store(generation))

    def _start_revisions(self, before: Scorer, after: Scorer, progress: RevisionProgress) -> None:
        self._revisions = asyncio.create_task(
            self._republish(before, after, progress), name="definition-change revisions"
        )
        self._revisions.add_done_callback(_report)

    async def _keep_definitions(self) -> None:
        if self._snapshots is not None and self._config_dir is not None:
            await self._snapshots.keep(self._definitions_hash(), files_of(self._config_dir))

    async def revisions_published(self) -> None:
        """Wait for the score revisions of the last switch (tests; shutdown)."""
        if self._revisions is not None:
            await asyncio.gather(self._revisions, return_exceptions=True)

    async def _republish(self, old: Scorer, new: Scorer, progress: RevisionProgress) -> int:
        if not (isinstance(old, ScoreBuilder) and isinstance(new, ScoreBuilder)):
            return 0
        previous, active = progress.previous, progress.to
        before, after = self._generations.store(previous), self._generations.store(active)
        stream_time = await after.stream_time(topics.SCORING_GROUP)
        since = republish_from(await self._generations.read(), previous, active)
        calendar = new.calendar
        if since is not None:
            logger.info("republishing the changed scores of the periods from %s on", since)

        async def sent_through(pair: tuple[str, str]) -> None:
            await self._generations.note_revisions(replace(progress, after=pair))

        sent = await republish(
            old,
            new,
            await self._generations.counter_keys(active),
            stream_times=(await before.stream_time(topics.SCORING_GROUP), stream_time),
            output=self._output,
            periods=lambda period: republishes(
                calendar, period, since, settled=settled(calendar, period, stream_time)
            ),
            after_pair=progress.after,
            on_chunk=sent_through,
        )
        current = await self._generations.revisions()
        if current is not None and current.is_of(active, previous):
            await self._generations.note_revisions(replace(current, finished=True))
        return sent

    def _install(self, fence: GenerationFence) -> ScoringService:
        service = self._build(fence)
        self._live.service = service
        self._live.fence = fence
        return service

    async def _check_definitions(self, generation: str) -> None:
        built_with = (await self._generations.read()).info(generation).definitions_hash
        loaded = self._definitions_hash()
        if built_with is not None and built_with != loaded:
            logger.error(
                "generation %s was built with definitions %s, but KPI_CONFIG_DIR holds %s: "
                "new events are applied with the files' definitions; put back the files it "
                "was built with (docs/recompute.md, section 3)",
                generation,
                built_with,
                loaded,
            )
