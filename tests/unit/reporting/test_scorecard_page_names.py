"""The scorecard page of a stored card names its entity as org.yaml does, in the page's
language, and shows the id alone without an org chart."""

from pathlib import Path
from typing import Final

import pytest

from services.reporting.domain import load_profiles
from services.reporting.pages import scorecard_page
from services.reporting.render import Language
from shared.config import load_calendar, load_org
from shared.kpi.catalogue import load_catalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from tests.support.fake_scorecard_store import MemoryScorecardStore
from tests.support.scorecard_sample import ENTITY, PERIOD, sample_scorecard

CONFIG: Final = Path(__file__).resolve().parents[3] / "config"
CATALOGUE: Final = load_catalogue(CONFIG / "kpis.yaml")


async def _page(language: Language, *, with_org: bool) -> str:
    store = MemoryScorecardStore()
    await store.save([sample_scorecard()])
    page = await scorecard_page(
        store,
        config=load_profiles(CONFIG, CATALOGUE),
        catalogue=CATALOGUE,
        calendar=FiscalCalendar(load_calendar(CONFIG / "calendar.yaml")),
        entity=ENTITY,
        period=PERIOD,
        language=language,
        org=load_org(CONFIG / "org.yaml") if with_org else None,
    )
    assert page is not None
    return page.entity_label


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("en", "Yokohama Branch (branch:B03)"),
        ("zh", "横滨分公司 (branch:B03)"),
        ("ja", "横浜支店 (branch:B03)"),
    ],
)
async def test_the_page_names_the_entity_in_its_language(language: Language, label: str) -> None:
    assert await _page(language, with_org=True) == label


async def test_without_the_org_chart_the_page_shows_the_id() -> None:
    assert await _page("ja", with_org=False) == ENTITY
