"""A fiscal year's totals read for an opening (policies in force and customers summed over the
years before) while a batch changes that year are used once, not kept. The publication runs
beside the batches: it read FY2024 for an opening, a batch applied a late March 2025 policy
(a channel behind may still deliver one) and dropped FY2024 from the kept openings, then the
read stored the totals from before the batch, and every later score of FY2025 was published
with one policy in force too few. The 10-minute overload's seventh run found 188 last
published scores short of the state that way (docs/resilience.md)."""

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from services.scoring.domain.batch import BatchOutcome
from services.scoring.domain.model import Deltas
from services.scoring.scores import ScoreBuilder
from shared.kpi.components import C
from shared.kpi.config import load_kpi_config
from tests.support.fake_state_store import MemoryStateStore

CONFIG: Final = load_kpi_config(Path("config"))
AGENT: Final = "agent:A0404"
LATE: Final = datetime(2026, 1, 1, tzinfo=UTC)  # FY2024 is past its lateness by stream time


class SlowStore(MemoryStateStore):
    """Counter documents from a dict; the first read waits until the test lets it go on."""

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.documents = documents
        self.reading = asyncio.Event()
        self.go_on = asyncio.Event()

    async def counter_documents(self, doc_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        found = {i: self.documents[i] for i in doc_ids if i in self.documents}
        if not self.go_on.is_set():
            self.reading.set()
            await self.go_on.wait()
        return found


def _builder(store: SlowStore, *, keep_openings: bool = True) -> ScoreBuilder:
    """A builder that keeps openings unless told not to (the cache under test)."""
    return ScoreBuilder(
        catalogue=CONFIG.catalogue,
        calendar=CONFIG.calendar,
        org=CONFIG.org,
        targets=CONFIG.targets,
        store=store,
        keep_openings=keep_openings,
    )


def _fy2024(in_force: int) -> dict[str, dict[str, Any]]:
    return {f"{AGENT}|FY2024": {"buckets": {"2025-03": {C.INFORCE_DELTA: in_force}}}}


async def test_an_opening_read_while_a_batch_changes_its_year_is_not_kept() -> None:
    store = SlowStore(_fy2024(6))
    builder = _builder(store)
    reading = asyncio.ensure_future(builder.openings([(AGENT, "FY2025")], LATE))
    await store.reading.wait()
    # The batch beside it commits a March 2025 policy, then tells the builder.
    store.documents.update(_fy2024(7))
    builder.changed(
        BatchOutcome(
            deltas=Deltas([((AGENT, "2025-03", str(C.INFORCE_DELTA)), 1)]),
            records={},
            positions={},
            rejected=[],
            touched={(AGENT, "2025-03")},
        )
    )
    store.go_on.set()
    assert (await reading)[(AGENT, "FY2025")][C.INFORCE_DELTA] == 6  # read before the batch

    again = await builder.openings([(AGENT, "FY2025")], LATE)
    assert again[(AGENT, "FY2025")][C.INFORCE_DELTA] == 7


async def test_an_opening_read_with_no_batch_beside_it_is_kept() -> None:
    store = SlowStore(_fy2024(6))
    store.go_on.set()
    builder = _builder(store)
    await builder.openings([(AGENT, "FY2025")], LATE)
    store.documents.update(_fy2024(99))  # not read again: FY2024 can no longer change
    again = await builder.openings([(AGENT, "FY2025")], LATE)
    assert again[(AGENT, "FY2025")][C.INFORCE_DELTA] == 6


async def test_the_read_model_keeps_no_opening_it_could_not_drop() -> None:
    """Reporting's and the API's builder sees no batch, so it is never told of a late change to
    a year past its lateness by stream time: it reads the year every time."""
    store = SlowStore(_fy2024(6))
    store.go_on.set()
    builder = _builder(store, keep_openings=False)
    await builder.openings([(AGENT, "FY2025")], LATE)
    store.documents.update(_fy2024(7))  # a channel behind delivered a March 2025 policy
    again = await builder.openings([(AGENT, "FY2025")], LATE)
    assert again[(AGENT, "FY2025")][C.INFORCE_DELTA] == 7
