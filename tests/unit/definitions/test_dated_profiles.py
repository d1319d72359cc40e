"""Effective-dated scorecard profiles: reporting builds each period's scorecards with the profile
version (and KPI versions) in force in it, stamps them with its definitions version, and a bad
dated file names the file, the profile and the field."""

from collections.abc import Sequence
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest
from prometheus_client import CollectorRegistry

from services.reporting.domain import ScorecardConfig, load_profiles
from services.reporting.pages import scorecard_page
from services.reporting.service import ReportingMetrics, ReportingService
from services.scoring.read_model import GroupClock
from shared.config import InvalidConfig, OrgChart
from shared.config.loading import read_yaml
from shared.kpi.catalogue import KpiCatalogue, load_catalogue
from shared.kpi.config import load_kpi_config
from shared.messages.definitions import Definitions
from shared.messages.score import Score
from tests.support.fake_scorecard_store import MemoryScorecardStore
from tests.support.fakes import FakeClock, RecordingOutput

CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"
CONFIG: Final = load_kpi_config(CONFIG_DIR)
SHIPPED: Final[dict[str, Any]] = read_yaml(CONFIG_DIR / "scorecards.yaml")  # type: ignore[assignment]
VERSION: Final = Definitions(hash="0123456789abcdef", label="test scheme")
SMALL_ORG: Final = OrgChart.from_document(
    {
        "company": "ACME",
        "regions": [{"id": "R1", "coefficient": 1.1}],
        "branches": [{"id": "B01", "region": "R1", "headcount": 2}],
        "teams": [{"id": "T01", "branch": "B01"}],
        "agents": [{"id": "A1", "team": "T01", "phone": "+81-90-0000-0001", "from": "2020-04-01"}],
    }
)


def profile_document(profile_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in SHIPPED["profiles"] if p["id"] == profile_id)
    return deepcopy(found)


def with_fy2024_clerks(**changes: Any) -> dict[str, Any]:
    """The shipped file plus an FY2024 version of the renewal clerk's profile whose renewal
    rate earns full marks from 85 % (90 % before) and 60 % of them from 75 % (80 %)."""
    document = deepcopy(SHIPPED)
    fy2024 = profile_document("renewal_clerk")
    fy2024["effective_from"] = "FY2024"
    fy2024["kpis"][0]["bands"] = [
        {"at_least": 0.85, "share": 1},
        {"at_least": 0.75, "share": 0.6},
    ]
    fy2024.update(changes)
    document["profiles"].append(fy2024)
    return document


def scorecards(document: object, catalogue: KpiCatalogue = CONFIG.catalogue) -> ScorecardConfig:
    return ScorecardConfig.from_document(
        document, catalogue=catalogue, source="config/scorecards.yaml"
    )


def test_the_version_in_force_is_chosen_by_month() -> None:
    config = scorecards(with_fy2024_clerks())
    march = config.in_force("renewal_clerk", "2024-03")
    april = config.in_force("renewal_clerk", "2024-04")
    assert march is not None
    assert april is not None
    assert march.kpis[0].bands is not None
    assert april.kpis[0].bands is not None
    assert march.kpis[0].bands[0].at_least == Decimal("0.9")
    assert april.kpis[0].bands[0].at_least == Decimal("0.85")
    assert config["renewal_clerk"] is april  # the current version
    assert config.as_of("2024-03").profile_for("agent:A1") is march
    assert len(config) == len(SHIPPED["profiles"])


def test_a_profile_starting_later_gives_no_scorecard_before() -> None:
    document = deepcopy(SHIPPED)
    clerks = next(p for p in document["profiles"] if p["id"] == "renewal_clerk")
    clerks["effective_from"] = "FY2024"
    config = scorecards(document)
    assert config.as_of("2024-03").profile_for("agent:A1") is None
    assert config.as_of("2024-04").profile_for("agent:A1") is not None


def test_two_versions_starting_together_are_refused() -> None:
    document = with_fy2024_clerks(effective_from="2024-04")
    document["profiles"].append(profile_document("renewal_clerk") | {"effective_from": "FY2024"})
    with pytest.raises(InvalidConfig) as raised:
        scorecards(document)
    assert str(raised.value).splitlines() == [
        "config/scorecards.yaml: profiles[5] (renewal_clerk).effective_from: this version starts "
        "in 2024-04, like profiles[4] (effective_from 2024-04); give each version of a profile "
        "its own start"
    ]


def test_an_unknown_period_names_the_profile_and_field() -> None:
    with pytest.raises(InvalidConfig) as raised:
        scorecards(with_fy2024_clerks(effective_from="FY24"))
    assert str(raised.value).splitlines() == [
        "config/scorecards.yaml: profiles[4] (renewal_clerk).effective_from: 'FY24' is not a "
        "period; write effective_from as a fiscal year (FY2024), half (FY2024-H2), quarter "
        "(FY2024-Q3) or month (2024-10)"
    ]


def test_a_profile_version_weighing_a_kpi_not_defined_yet_is_refused(tmp_path: Path) -> None:
    kpis = tmp_path / "kpis.yaml"
    text = (CONFIG_DIR / "kpis.yaml").read_text(encoding="utf-8")
    # contacts_per_day exists only from FY2024 in this catalogue
    kpis.write_text(
        text.replace(
            "    default_target: 20\n", "    default_target: 20\n    effective_from: FY2024\n"
        ),
        encoding="utf-8",
    )
    (tmp_path / "calendar.yaml").write_text("fiscal_year_start_month: 4\n", encoding="utf-8")
    catalogue = load_catalogue(kpis)
    with pytest.raises(InvalidConfig) as raised:
        scorecards(SHIPPED, catalogue)
    assert str(raised.value).splitlines() == [
        "config/scorecards.yaml: profiles[0] (renewal_clerk).kpis[5].kpi: contacts_per_day is "
        "defined only from 2024-04 (kpis.yaml: effective_from), but this version of the profile "
        "applies from the beginning (no effective_from); give the profile a version with "
        "effective_from 2024-04 that weighs it"
    ]


# --- reporting closes each period with its version ---------------------------------------


class Reader:
    """Scoring's read model: the same renewal rate, 87 %, for agent A1 in every period (and a
    satisfaction score when given)."""

    def __init__(self, time: datetime, satisfaction: Decimal | None = None) -> None:
        self.time = time
        self.satisfaction = satisfaction

    async def clock(self) -> GroupClock | None:
        return GroupClock(self.time, self.time, None, earliest=self.time - timedelta(days=40))

    async def period_scores(self, entities: Sequence[str], period: str) -> dict[str, list[Score]]:
        values = {"renewal_rate": (Decimal("0.87"), Decimal("0.9"))}
        if self.satisfaction is not None:
            values["satisfaction_mean"] = (self.satisfaction, Decimal(85))
        return {
            "agent:A1": [
                Score(
                    score_id="x",
                    entity="agent:A1",
                    period=period,
                    kpi=kpi,
                    value=value,
                    numerator=value,
                    denominator=Decimal(1),
                    target=target,
                    attainment=None,
                    revision=1,
                    as_of=self.time,
                )
                for kpi, (value, target) in values.items()
            ]
        }


async def test_each_period_is_closed_with_the_profile_version_in_force() -> None:
    output = RecordingOutput()
    service = ReportingService(
        config=scorecards(with_fy2024_clerks()),
        catalogue=CONFIG.catalogue,
        calendar=CONFIG.calendar,
        org=SMALL_ORG,
        reader=Reader(datetime(2024, 5, 2, tzinfo=UTC)),
        store=MemoryScorecardStore(),
        output=output,
        metrics=ReportingMetrics(CollectorRegistry()),
        wall=FakeClock(datetime(2030, 1, 1, tzinfo=UTC)),
        definitions=VERSION,
    )
    published = await service.tick()
    clerk = {c.period: c for c in published if c.entity == "agent:A1"}
    # 87 %: 60 % of the 40 points under FY2023's bands, all 40 under FY2024's
    assert clerk["2024-03"].kpis[0].points == Decimal(24)
    assert clerk["FY2023"].kpis[0].points == Decimal(24)
    assert clerk["2024-04"].kpis[0].points == Decimal(40)
    assert clerk["2024-03"].final_score == Decimal(24)
    assert clerk["2024-04"].final_score == Decimal(40)
    assert {c.definitions for c in published} == {VERSION}


def test_the_shipped_profiles_load_undated_as_before() -> None:
    config = load_profiles(CONFIG_DIR, CONFIG.catalogue, org=CONFIG.org)
    assert not config.dated
    assert config.as_of("2024-04") is config
    assert [p.id for p in config] == [p["id"] for p in SHIPPED["profiles"]]


async def test_the_printable_page_draws_the_periods_own_profile_version() -> None:
    config = scorecards(with_fy2024_clerks(quadrants="none"))  # FY2024: no coaching grid
    store = MemoryScorecardStore()
    service = ReportingService(
        config=config,
        catalogue=CONFIG.catalogue,
        calendar=CONFIG.calendar,
        org=SMALL_ORG,
        reader=Reader(datetime(2024, 5, 2, tzinfo=UTC), satisfaction=Decimal(90)),
        store=store,
        output=RecordingOutput(),
        metrics=ReportingMetrics(CollectorRegistry()),
        wall=FakeClock(datetime(2030, 1, 1, tzinfo=UTC)),
    )
    await service.tick()

    async def chart(period: str) -> object:
        page = await scorecard_page(
            store,
            config=config,
            catalogue=CONFIG.catalogue,
            calendar=CONFIG.calendar,
            entity="agent:A1",
            period=period,
        )
        assert page is not None
        # 87 % against the 90 % target is low, satisfaction 90 against 85 high
        assert page.scorecard.quadrant == ("low_high" if period == "2024-03" else None)
        return page.quadrant

    assert await chart("2024-03") is not None  # FY2023's version has the grid
    assert await chart("2024-04") is None
