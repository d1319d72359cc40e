"""A batch too long for the database's transaction lifetime is split, not retried as it is
(the livelock of a large backlog): every event is still applied exactly once, and later
batches are cut smaller, then grow back."""

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from pymongo.errors import OperationFailure

from services.scoring.domain.batch import InputRecord
from services.scoring.metrics import ScoringMetrics
from services.scoring.mongo_store import too_long
from services.scoring.ports import BatchWrite, BeforeCommit, CommitTooLong
from services.scoring.service import ScoringService
from shared.config import CalendarConfig
from shared.kpi.fiscal_calendar import FiscalCalendar
from tests.support.fake_scorer import NoScores
from tests.support.fake_state_store import MemoryStateStore
from tests.support.fakes import RecordingOutput, RecordingSleep
from tests.support.scoring_events import survey

PARTITIONS = [("kpi.events.v1", 0), ("kpi.events.v1", 1)]
GROUP = "kpi-scoring"


class SmallCommits(MemoryStateStore):
    """A store whose transactions hold at most `limit` counter documents, as a database that
    aborts a transaction past its lifetime would."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.refused = 0

    async def commit(self, write: BatchWrite, before_commit: BeforeCommit) -> None:
        if len(write.counters) > self.limit:
            self.refused += 1
            raise CommitTooLong(f"{len(write.counters)} counter documents")
        await super().commit(write, before_commit)


def _service(store: MemoryStateStore, metrics: ScoringMetrics) -> ScoringService:
    return ScoringService(
        store=store,
        output=RecordingOutput(),
        calendar=FiscalCalendar(CalendarConfig()),
        scorer=NoScores(),
        metrics=metrics,
        group=GROUP,
        sleep=RecordingSleep(),
        max_batch=64,
    )


def _records() -> list[InputRecord]:
    """Two partitions interleaved, three agents in two regions: a commit of everything touches
    more counter documents than one of a few records."""
    at = datetime(2024, 5, 10, tzinfo=UTC)
    records = []
    for n in range(40):
        topic, partition = PARTITIONS[n % 2]
        agent = ("A1", "A2", "A3")[n % 3]
        event = survey(n, agent, at + timedelta(hours=n), score=n % 11)
        records.append(InputRecord(topic, partition, n // 2, event))
    return records


async def _run(store: MemoryStateStore) -> tuple[ScoringService, ScoringMetrics, int]:
    metrics = ScoringMetrics(CollectorRegistry())
    service = _service(store, metrics)
    await service.assign(set(PARTITIONS))
    result = await service.handle(_records())
    return service, metrics, result.applied


async def test_a_commit_too_long_is_split_until_it_fits_and_nothing_counts_twice() -> None:
    whole = MemoryStateStore()
    await _run(whole)
    small = SmallCommits(limit=6)

    _, metrics, applied = await _run(small)

    assert applied == 40
    assert small.refused > 0
    assert metrics.splits._value.get() == small.refused
    documents = {f"{e}|FY2024" for e in ("company:ACME", "agent:A1", "agent:A3", "team:T09")}
    assert await small.counter_documents(documents) == await whole.counter_documents(documents)
    positions = await small.positions(GROUP, PARTITIONS)
    assert {key: p.next_offset for key, p in positions.items()} == dict.fromkeys(PARTITIONS, 20)


async def test_after_a_split_batches_are_cut_smaller_then_grow_back() -> None:
    small = SmallCommits(limit=6)
    service, _, _ = await _run(small)
    cut = service._chunk
    assert cut < 64
    small.limit = 10_000
    metrics_free = service  # the same service keeps its size between batches
    later = [
        InputRecord(
            r.topic,
            r.partition,
            r.offset + 20,
            survey(100 + i, "A1", datetime(2024, 5, 20, tzinfo=UTC), 9),
        )
        for i, r in enumerate(_records())
    ]
    await metrics_free.handle(later)
    assert service._chunk > cut


@pytest.mark.parametrize(
    ("code", "seconds", "expected"),
    [
        (290, 0.1, True),  # TransactionExceededLifetimeLimitSeconds
        (257, 0.1, True),  # TransactionTooLarge
        (251, 25.0, True),  # NoSuchTransaction after a long attempt: aborted for its length
        (251, 1.0, False),  # NoSuchTransaction at once: a failover, retry as it is
        (112, 1.0, False),  # WriteConflict: retry as it is
        (11000, 30.0, False),  # DuplicateKey: not about length at all
    ],
)
def test_which_failed_commits_count_as_too_long(code: int, seconds: float, expected: bool) -> None:
    assert too_long(OperationFailure("failed", code=code), seconds, 20.0) is expected
