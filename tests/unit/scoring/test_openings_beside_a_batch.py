"""A fiscal year's totals for an opening (policies in force and customers summed over the years
before) are read afresh for every publication, never kept. The builder once kept a year past
its lateness by stream time: the publication runs beside the batches, so it read FY2024, a
batch applied a late March 2025 policy (a channel behind may still deliver one) and dropped
FY2024 from what was kept, then the read stored the totals from before the batch, and every
later score of FY2025 was published with one policy in force too few (the 10-minute overload's
seventh run: 188 last scores short of the state; docs/resilience.md). A reader that sees no
batch, or a year another instance's batch changed, could never drop a kept year at all."""

import asyncio
from collections.abc import Collection
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


def _builder(store: SlowStore) -> ScoreBuilder:
    return ScoreBuilder(
        catalogue=CONFIG.catalogue,
        calendar=CONFIG.calendar,
        org=CONFIG.org,
        targets=CONFIG.targets,
        store=store,
    )


def _fy2024(in_force: int) -> dict[str, dict[str, Any]]:
    return {f"{AGENT}|FY2024": {"buckets": {"2025-03": {C.INFORCE_DELTA: in_force}}}}


async def test_an_opening_read_while_a_batch_changes_its_year_is_read_again_after() -> None:
    store = SlowStore(_fy2024(6))
    builder = _builder(store)
    reading = asyncio.ensure_future(builder.openings([(AGENT, "FY2025")]))
    await store.reading.wait()
    # The batch beside it commits a March 2025 policy, then tells the builder.
    store.documents.update(_fy2024(7))
    builder.changed(
        BatchOutcome(
            deltas=Deltas([((AGENT, "2025-03", str(C.INFORCE_DELTA)), 1)]),
            records={},
            positions={},
            rejected=[],
        )
    )
    store.go_on.set()
    assert (await reading)[(AGENT, "FY2025")][C.INFORCE_DELTA] == 6  # read before the batch

    again = await builder.openings([(AGENT, "FY2025")])
    assert again[(AGENT, "FY2025")][C.INFORCE_DELTA] == 7


async def test_a_year_past_its_lateness_changed_by_no_batch_of_its_own_is_read_again() -> None:
    """Reporting's and the API's builder sees no batch, and a scoring instance does not see
    another's: a late change to a year past its lateness by stream time is read all the same."""
    store = SlowStore(_fy2024(6))
    store.go_on.set()
    builder = _builder(store)
    await builder.openings([(AGENT, "FY2025")])
    store.documents.update(_fy2024(7))  # a channel behind delivered a March 2025 policy
    again = await builder.openings([(AGENT, "FY2025")])
    assert again[(AGENT, "FY2025")][C.INFORCE_DELTA] == 7
