"""The score builder's kept targets do not grow with the history scored: they were kept per
(KPI, entity, period) with the plans for as long as the process ran, about 97 MiB a year of a
1,100-entity company's history (measured: 418,000 entries of 20 KPIs over 19 periods). Now
they are kept per kind of period, plans come from the yearly plans, and the bound that empties
them when full stays; either way the scores are the same."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pytest

from services.scoring import scores
from services.scoring.scores import PeriodTotals, ScoreBuilder
from shared.config.org import Level
from shared.kpi.config import load_kpi_config
from tests.support.fake_state_store import MemoryStateStore

CONFIG: Final = load_kpi_config(Path("config"))
AS_OF: Final = datetime(2025, 4, 20, tzinfo=UTC)
MONTHS: Final = [f"2024-{m:02d}" for m in range(4, 13)] + ["2025-01", "2025-02", "2025-03"]


def _builder() -> ScoreBuilder:
    return ScoreBuilder(
        catalogue=CONFIG.catalogue,
        calendar=CONFIG.calendar,
        org=CONFIG.org,
        targets=CONFIG.targets,
        store=MemoryStateStore(),
    )


def _every_score(builder: ScoreBuilder) -> list[object]:
    entities = [e for level in Level for e in CONFIG.org.entities(level)][:40]
    periods = sorted({p for month in MONTHS for p in CONFIG.calendar.periods_of_month(month)})
    totals = PeriodTotals()
    totals.totals.update({"premium_e4": 1_000_000, "renewal_due": 10, "renewal_renewed": 8})
    return [
        builder.score_fields(kpi, entity, period, totals, AS_OF)
        for entity in entities
        for period in periods
        for kpi in CONFIG.catalogue
    ]


def test_kept_targets_and_plans_stay_under_the_bound_and_the_scores_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unbounded = _every_score(_builder())
    monkeypatch.setattr(scores, "CACHED_FACTS", 50)
    bounded = _builder()

    assert _every_score(bounded) == unbounded
    assert len(unbounded) > 1_000
    assert len(bounded._targets_cache) <= 50


def test_kept_targets_do_not_grow_with_the_periods_scored() -> None:
    builder = _builder()
    _every_score(builder)
    # 40 entities × every KPI × (month, quarter, half, fiscal year), over 12 months, 4
    # quarters, 2 halves and 1 year: a period's kind, not the period, is what is kept.
    assert len(builder._targets_cache) <= 40 * len(CONFIG.catalogue) * 4
