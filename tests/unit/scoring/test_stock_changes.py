"""What a batch publishes: every score it changed, and not the scores a stock left as they were.

Policies in force and existing customers are stocks (prefix-summed components): a period's
figure is their sum before the period starts. So a policy issued in April changes the lapse
rate's denominator of May, of the second quarter and of the next fiscal year, and of no period
April is in. The builder used to send the lapse, surrender, complaint and second-purchase rates
of April's quarter, half and year again after every policy, unchanged (same score id): a third
of the score updates of a live stream (the bench's latency run, docs/scoring.md).

The property: whatever the stored counters and whatever a batch adds, every (entity, period,
KPI) whose score differs after the batch is published, with its value after the batch.
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.batch import BatchOutcome
from services.scoring.domain.model import Deltas
from services.scoring.scores import ScoreBuilder
from shared.kpi.components import C
from shared.kpi.config import load_kpi_config
from tests.support.fake_state_store import MemoryStateStore

CONFIG: Final = load_kpi_config(Path("config"))
CALENDAR: Final = CONFIG.calendar
AGENT: Final = "agent:A0404"
TEAM: Final = "team:T01"
AS_OF: Final = datetime(2025, 6, 1, tzinfo=UTC)
MONTHS: Final = [f"{2024 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in range(4, 4 + 30)]
COMPONENTS: Final = sorted({c for kpi in CONFIG.catalogue for c in kpi.components} - {C.REVISIONS})
Counts = dict[tuple[str, str, str], int]  # (entity, month, component) -> total


class Counters(MemoryStateStore):
    """Counter documents built from totals the test sets."""

    def __init__(self) -> None:
        super().__init__()
        self.totals: Counts = {}

    async def counter_documents(self, doc_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        documents: dict[str, dict[str, Any]] = {}
        for (entity, month, component), value in self.totals.items():
            doc_id = f"{entity}|{CALENDAR.fiscal_year_of_month(month)}"
            if doc_id in doc_ids:
                buckets = documents.setdefault(doc_id, {"buckets": defaultdict(dict)})["buckets"]
                buckets[month][component] = value
        return documents


def _builder(store: Counters) -> ScoreBuilder:
    return ScoreBuilder(
        catalogue=CONFIG.catalogue,
        calendar=CALENDAR,
        org=CONFIG.org,
        targets=CONFIG.targets,
        store=store,
    )


async def _every_score(builder: ScoreBuilder, totals: Counts) -> dict[tuple[str, str, str], Any]:
    every = {kpi.id for kpi in CONFIG.catalogue}
    pairs = {
        (entity, period): set(every)
        for entity, month, _ in totals
        for period in CALENDAR.periods_of_month(month)
    }
    return _by_key(await builder.fields(pairs, AS_OF))


def _by_key(scores: list[Any]) -> dict[tuple[str, str, str], Any]:
    return {(s["entity"], s["period"], s["kpi"]): s for s in scores}


def _outcome(deltas: Sequence[tuple[str, str, str, int]]) -> BatchOutcome:
    merged = Deltas()
    for entity, month, component, amount in deltas:
        merged[(entity, month, component)] += amount
    return BatchOutcome(deltas=merged, records={}, positions={}, rejected=[])


counts = st.tuples(
    st.sampled_from([AGENT, TEAM]),
    st.sampled_from(MONTHS),
    st.sampled_from(COMPONENTS),
    st.integers(min_value=-3, max_value=40),
)


@settings(max_examples=40, deadline=None)
@given(stored=st.lists(counts, max_size=25), batch=st.lists(counts, min_size=1, max_size=6))
async def test_every_score_a_batch_changes_is_published_with_its_new_value(
    stored: list[tuple[str, str, str, int]], batch: list[tuple[str, str, str, int]]
) -> None:
    store = Counters()
    builder = _builder(store)
    for entity, month, component, value in stored:
        store.totals[(entity, month, component)] = value
    before_totals = dict(store.totals)
    for entity, month, component, amount in batch:
        key = (entity, month, component)
        store.totals[key] = store.totals.get(key, 0) + amount
    universe = {**dict.fromkeys(before_totals), **dict.fromkeys(store.totals)}

    published = _by_key(await builder.fields(builder.changed(_outcome(batch)), AS_OF))
    after = await _every_score(builder, dict.fromkeys(universe, 0))
    store.totals = before_totals
    before = await _every_score(builder, dict.fromkeys(universe, 0))

    changed = {key for key, score in after.items() if score["score_id"] != before[key]["score_id"]}
    assert changed <= published.keys()
    for key, score in published.items():
        assert score == after[key]


async def test_a_policy_in_april_publishes_the_periods_after_april_and_not_april_s_own() -> None:
    store = Counters()
    builder = _builder(store)
    store.totals = {
        (AGENT, "2025-04", C.INFORCE_DELTA): 10,
        (AGENT, "2025-05", C.RENEWAL_DUE): 2,  # May and July have buckets (renewals due)
        (AGENT, "2025-07", C.RENEWAL_DUE): 3,
        (AGENT, "2026-05", C.RENEWAL_DUE): 1,
    }
    stock = {kpi.id for kpi in CONFIG.catalogue if C.INFORCE_DELTA in kpi.components}

    published = await builder.fields(
        builder.changed(_outcome([(AGENT, "2025-04", C.INFORCE_DELTA, 1)])), AS_OF
    )

    periods = {s["period"] for s in published}
    assert {s["kpi"] for s in published} == stock
    assert periods == {
        "2025-04",  # the month that changed carries them (its value is the same)
        "2025-05",
        "2025-07",
        "FY2025-Q2",  # not Q1, H1 or FY2025: they began by April
        "2026-05",
        "FY2026-Q1",
        "FY2026-H1",
        "FY2026",
    }  # nothing of October–March: no bucket there, so no score of it was published to update


async def test_one_computation_reads_each_counter_document_once() -> None:
    """The later periods, the openings and the periods' own years ask for overlapping fiscal
    years; each document is read once (an agents' shard document costs the database its whole
    size at every read)."""
    asked: list[str] = []

    class Counting(Counters):
        async def counter_documents(self, doc_ids: Collection[str]) -> dict[str, dict[str, Any]]:
            asked.extend(doc_ids)
            return await super().counter_documents(doc_ids)

    store = Counting()
    builder = _builder(store)
    store.totals = {
        (AGENT, "2025-04", C.INFORCE_DELTA): 10,
        (AGENT, "2025-07", C.RENEWAL_DUE): 3,
        (AGENT, "2026-05", C.RENEWAL_DUE): 1,
    }
    batch = [(AGENT, "2025-04", C.INFORCE_DELTA, 1), (AGENT, "2025-04", C.NB_ISSUED, 1)]

    published = await builder.fields(builder.changed(_outcome(batch)), AS_OF)

    assert {"FY2025", "FY2026-Q1"} <= {s["period"] for s in published}
    assert f"{AGENT}|FY2025" in asked
    assert len(asked) == len(set(asked))
