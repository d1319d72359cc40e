"""The pipeline's progress board: a published read model every consuming service writes its own
`ServiceProgress` to (shared/progress.py), and reporting's pipeline page reads.

Each service writes one document, its own, keyed by its name, a few seconds apart and never in
a batch's path; nothing else of a service's store is read by another. Three pieces, as in
services/alerts/read_model.py:

- `ProgressQueries` (read) and `ProgressWriter` (write), the protocols;
- `MongoProgressBoard`, both on the `pipeline_progress` collection;
- `MemoryProgressBoard`, both in memory, for tests.

`ProgressPublisher` is the step a service runs on a timer (shared/service/periodic.py).
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from pymongo import AsyncMongoClient

from .progress import BatchTimings, ServiceProgress
from .transient import store_errors

PROGRESS: Final = "pipeline_progress"
PUBLISH_EVERY_S: Final = 5.0


class ProgressQueries(Protocol):
    """What the services last published of their progress, read-only."""

    async def progress(self) -> list[ServiceProgress]:
        """Every service's latest publication, in the order of their names."""
        ...


class ProgressWriter(Protocol):
    async def put(self, progress: ServiceProgress) -> None:
        """Replace the service's publication with this one."""
        ...


class MongoProgressBoard:
    """The board on MongoDB: one document per service, `_id` its name."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._board = client[database][PROGRESS]

    async def put(self, progress: ServiceProgress) -> None:
        document = progress.model_dump()
        with store_errors(f"cannot publish {progress.service}'s progress"):
            await self._board.replace_one({"_id": progress.service}, document, upsert=True)

    async def progress(self) -> list[ServiceProgress]:
        with store_errors("cannot read the services' progress"):
            documents = [d async for d in self._board.find({}, {"_id": False}).sort("service")]
        return [ServiceProgress.model_validate(_aware(d)) for d in documents]


def _aware(document: dict[str, Any]) -> dict[str, Any]:
    """MongoDB gives naive UTC datetimes back unless the client is tz-aware."""
    return {
        k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
        for k, v in document.items()
    }


class MemoryProgressBoard:
    """The board in memory, for tests."""

    def __init__(self, progress: Iterable[ServiceProgress] = ()) -> None:
        self._latest: dict[str, ServiceProgress] = {}
        for item in progress:
            self._latest[item.service] = item

    async def put(self, progress: ServiceProgress) -> None:
        self._latest[progress.service] = progress

    async def progress(self) -> list[ServiceProgress]:
        return [self._latest[name] for name in sorted(self._latest)]


class ProgressPublisher:
    """Publishes a service's `BatchTimings` with its event time, each time it is called."""

    def __init__(
        self,
        timings: BatchTimings,
        board: ProgressWriter,
        watermark: Callable[[datetime], datetime | None] = lambda _: None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._timings = timings
        self._board = board
        self._watermark = watermark
        self._wall = wall

    async def publish(self) -> None:
        now = self._wall()
        await self._board.put(self._timings.progress(now, self._watermark(now)))
