"""Scoring computes each period with the KPI version in force in it, and stamps every score
with the definitions version it loaded."""

import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from prometheus_client import CollectorRegistry

from services.scoring.domain.batch import InputRecord
from services.scoring.metrics import ScoringMetrics
from services.scoring.scores import PeriodTotals, ScoreBuilder
from services.scoring.service import ScoringService
from shared import topics
from shared.kpi.config import KpiConfig, load_kpi_config
from shared.messages.score import Score
from tests.support.fake_state_store import MemoryStateStore
from tests.support.fakes import FakeClock, RecordingOutput, RecordingSleep
from tests.support.scoring_events import survey

CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"
WALL: Final = datetime(2026, 11, 1, 12, tzinfo=UTC)
# FY2024's scheme: satisfaction must reach 90 (85 before), and NPS joins the catalogue.
FY2024_RULES: Final = """
  - id: satisfaction_mean
    labels: {en: Customer satisfaction score, zh: 客户满意度, ja: 顧客満足度}
    kind: mean
    direction: higher_is_better
    unit: points
    numerator: survey_score_e2
    denominator: survey_responses
    scale: 100
    default_target: 90
    effective_from: FY2024
  - id: survey_mean_fy2024
    labels: {en: Survey mean, zh: 调查均分, ja: アンケート平均}
    kind: mean
    direction: higher_is_better
    unit: points
    numerator: survey_score_e2
    denominator: survey_responses
    scale: 100
    default_target: 50
    effective_from: FY2024
"""


def dated_config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    kpis = config / "kpis.yaml"
    kpis.write_text(kpis.read_text(encoding="utf-8") + FY2024_RULES, encoding="utf-8")
    return config


async def scored(config: KpiConfig, *events_at: tuple[datetime, int]) -> list[Score]:
    store, output = MemoryStateStore(), RecordingOutput()
    builder = ScoreBuilder(
        catalogue=config.catalogue,
        calendar=config.calendar,
        org=config.org,
        targets=config.targets,
        store=store,
        definitions=config.definitions,
    )
    service = ScoringService(
        store=store,
        output=output,
        calendar=config.calendar,
        scorer=builder,
        metrics=ScoringMetrics(CollectorRegistry()),
        group=topics.SCORING_GROUP,
        wall=FakeClock(WALL),
        sleep=RecordingSleep(),
        flush_interval=timedelta(seconds=10),
        complete_every=timedelta(0),
    )
    partition = (topics.EVENTS, 0)
    await service.assign({partition})
    batch = [
        InputRecord(
            *partition,
            offset,
            survey(offset + 1, "A1", at, score=answer).model_copy(
                update={"source_timestamp": WALL}
            ),
        )
        for offset, (at, answer) in enumerate(events_at)
    ]
    await service.handle(batch, {partition: False})
    await service.published()  # the months at once, their quarters, halves and years after
    return [Score.model_validate_json(m.value) for m in output.on(topics.SCORES)]


LAST_SECOND_OF_FY2023: Final = datetime(2024, 3, 31, 14, 59, 59, tzinfo=UTC)  # 23:59:59 JST
FIRST_SECOND_OF_FY2024: Final = datetime(2024, 3, 31, 15, 0, tzinfo=UTC)  # 00:00 JST, 1 April


async def test_each_side_of_the_fiscal_year_boundary_is_scored_with_its_rule(
    tmp_path: Path,
) -> None:
    config = load_kpi_config(dated_config(tmp_path))
    scores = await scored(config, (LAST_SECOND_OF_FY2023, 8), (FIRST_SECOND_OF_FY2024, 6))
    by_key = {(s.entity, s.kpi, s.period): s for s in scores}

    march = by_key[("agent:A1", "satisfaction_mean", "2024-03")]
    april = by_key[("agent:A1", "satisfaction_mean", "2024-04")]
    assert (march.value, march.target, march.attainment) == (
        Decimal(80),
        Decimal(85),
        Decimal("0.941176"),
    )
    assert (april.value, april.target, april.attainment) == (
        Decimal(60),
        Decimal(90),
        Decimal("0.666667"),
    )
    assert by_key[("agent:A1", "satisfaction_mean", "FY2023")].target == Decimal(85)
    assert by_key[("agent:A1", "satisfaction_mean", "FY2024")].target == Decimal(90)

    joined = {period for entity, kpi, period in by_key if kpi == "survey_mean_fy2024"}
    assert joined == {"2024-04", "FY2024-Q1", "FY2024-H1", "FY2024"}
    assert by_key[("agent:A1", "survey_mean_fy2024", "FY2024")].value == Decimal(60)


async def test_every_score_carries_the_definitions_version_loaded(tmp_path: Path) -> None:
    config = load_kpi_config(dated_config(tmp_path))
    scores = await scored(config, (FIRST_SECOND_OF_FY2024, 6))
    assert scores
    assert {s.definitions for s in scores} == {config.definitions}
    assert config.definitions.label == "demo scheme 1"
    assert config.definitions.hash != load_kpi_config(CONFIG_DIR).definitions.hash


async def test_the_shipped_undated_configuration_scores_as_before(tmp_path: Path) -> None:
    config = load_kpi_config(CONFIG_DIR)
    scores = await scored(config, (LAST_SECOND_OF_FY2023, 8), (FIRST_SECOND_OF_FY2024, 6))
    by_key = {(s.entity, s.kpi, s.period): s for s in scores}
    assert by_key[("agent:A1", "satisfaction_mean", "2024-03")].target == Decimal(85)
    assert by_key[("agent:A1", "satisfaction_mean", "2024-04")].target == Decimal(85)
    assert not any(s.kpi == "survey_mean_fy2024" for s in scores)


def test_the_read_side_score_of_a_kpi_not_defined_yet_has_no_value(tmp_path: Path) -> None:
    config = load_kpi_config(dated_config(tmp_path))
    builder = ScoreBuilder(
        catalogue=config.catalogue,
        calendar=config.calendar,
        org=config.org,
        targets=config.targets,
        store=MemoryStateStore(),
        definitions=config.definitions,
    )
    totals = PeriodTotals()
    totals.totals.update({"survey_score_e2": 8000, "survey_responses": 1})
    kpi = config.catalogue["survey_mean_fy2024"]
    march = builder.score(kpi, "agent:A1", "2024-03", totals, WALL)
    april = builder.score(kpi, "agent:A1", "2024-04", totals, WALL)
    assert (march.value, march.target, march.numerator) == (None, None, None)
    assert (april.value, april.target) == (Decimal(80), Decimal(50))
