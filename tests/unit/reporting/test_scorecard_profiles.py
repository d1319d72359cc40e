"""The scorecard profiles file: the shipped one loads, entities find their profile, and each
mistake an operator can make gets one line naming the file, the profile and the field."""

from copy import deepcopy
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from services.reporting.domain.config_models import BandMeasure, FallbackUse, Method, YearlyTarget
from services.reporting.domain.profiles import ScorecardConfig, load_profiles
from shared.config import InvalidConfig, Level, load_org
from shared.errors import ConfigError
from shared.kpi.catalogue import load_catalogue
from shared.messages.scorecard import Category

D = Decimal
CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"
CATALOGUE: Final = load_catalogue(CONFIG_DIR / "kpis.yaml")
ORG: Final = load_org(CONFIG_DIR / "org.yaml")
SOURCE: Final = "config/scorecards.yaml"


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    loaded = yaml.safe_load((CONFIG_DIR / "scorecards.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture
def document(shipped: dict[str, Any]) -> dict[str, Any]:
    return deepcopy(shipped)


def errors_of(document: object) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        ScorecardConfig.from_document(document, catalogue=CATALOGUE, org=ORG, source=SOURCE)
    return str(caught.value).splitlines()


# --- the shipped file ---------------------------------------------------------------------


def test_the_shipped_profiles_load() -> None:
    config = load_profiles(CONFIG_DIR, CATALOGUE, org=ORG)
    assert [p.id for p in config] == ["renewal_clerk", "branch", "service_centre", "fd_agency"]
    for profile in config:
        assert sum(k.weight for k in profile.kpis) == 100
        assert (profile.split.quantitative, profile.split.qualitative) == (D(70), D(30))
        assert profile.qualitative_fallback.use is FallbackUse.QUANTITATIVE
        assert (profile.grades.excellent, profile.grades.qualified) == (D(90), D(80))
        assert D(60) <= profile.category_points(Category.PERFORMANCE) <= D(70)
        assert D(20) <= profile.category_points(Category.CUSTOMER_SERVICE) <= D(30)
        assert D(10) <= profile.category_points(Category.CAPABILITY) <= D(20)
        assert profile.quadrants is not None
        assert profile.quadrants.x.kpi == "renewal_rate"


def test_renewal_clerks_are_banded_on_their_renewal_rate_as_in_seed_001() -> None:
    clerk = load_profiles(CONFIG_DIR, CATALOGUE)["renewal_clerk"]
    renewal = clerk.kpi("renewal_rate")
    assert renewal is not None
    assert (renewal.method, renewal.band_measure) == (Method.BANDS, BandMeasure.VALUE)
    assert renewal.bands is not None
    assert [(b.at_least, b.share) for b in renewal.bands] == [
        (D("0.9"), D(1)),
        (D("0.8"), D("0.6")),
    ]
    assert clerk.vetoes == ("complaint_rate_per_10k",)
    assert clerk.quadrants is not None
    assert clerk.quadrants.y.kpi == "satisfaction_mean"


def test_the_branch_profile_follows_seed_002() -> None:
    branch = load_profiles(CONFIG_DIR, CATALOGUE)["branch"]
    premium = branch.kpi("premium_attainment")
    assert premium is not None
    assert (premium.weight, premium.method, premium.effective_cap) == (
        D(20),
        Method.PROPORTIONAL,
        D(1),
    )
    assert branch.vetoes == ("persistency_13m", "complaint_rate_per_10k")
    new_business = branch.kpi("new_business_premium")
    assert new_business is not None
    assert isinstance(new_business.target, YearlyTarget)
    assert new_business.target.regional
    assert new_business.target.baseline(Level.REGION) == D(1000000000)


def test_an_entity_assignment_wins_over_its_level() -> None:
    config = load_profiles(CONFIG_DIR, CATALOGUE)
    profile_of = {
        e: p.id if (p := config.profile_for(e)) else None
        for e in (
            "agent:A0001",
            "team:T01",
            "branch:B01",
            "branch:B08",
            "region:R1",
            "company:ACME",
        )
    }
    assert profile_of == {
        "agent:A0001": "renewal_clerk",
        "team:T01": "service_centre",
        "branch:B01": "branch",
        "branch:B08": "fd_agency",  # the FD agency, by name
        "region:R1": "branch",
        "company:ACME": "branch",
    }


def test_a_level_left_out_gets_no_scorecard(document: dict[str, Any]) -> None:
    del document["assign"]["levels"]["team"]
    config = ScorecardConfig.from_document(document, catalogue=CATALOGUE)
    assert config.profile_for("team:T01") is None


def test_a_missing_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"scorecards\.yaml: file not found"):
        load_profiles(tmp_path, CATALOGUE)


# --- weights and categories ---------------------------------------------------------------


def test_weights_adding_up_to_99_name_the_profile(document: dict[str, Any]) -> None:
    document["profiles"][0]["kpis"][1]["weight"] = 24
    assert errors_of(document) == [
        f"{SOURCE}: profiles[0] (renewal_clerk).kpis: weights add up to 99, not 100 "
        "(40 + 24 + 10 + 15 + 5 + 5); change them so the profile 'renewal_clerk' is worth "
        "100 points"
    ]


def test_a_category_outside_its_share_is_refused(document: dict[str, Any]) -> None:
    kpis = document["profiles"][1]["kpis"]
    kpis[0]["weight"] = 25  # premium attainment: performance 70 → 70
    kpis[9]["weight"] = 5  # direct channel rate: capability 10 → 5
    assert errors_of(document) == [
        f"{SOURCE}: profiles[1] (branch).kpis: capability KPIs weigh 5 of 100, outside 10–20 "
        "(defaults.category_shares); move weight between categories"
    ]


def test_category_shares_are_configurable(document: dict[str, Any]) -> None:
    document["defaults"]["category_shares"]["capability"] = [0, 20]
    document["defaults"]["category_shares"]["performance"] = [60, 75]
    kpis = document["profiles"][1]["kpis"]
    kpis[0]["weight"] = 25
    kpis[9]["weight"] = 5
    config = ScorecardConfig.from_document(document, catalogue=CATALOGUE)
    assert config["branch"].category_points(Category.CAPABILITY) == D(5)


# --- KPIs ---------------------------------------------------------------------------------


def test_an_unknown_kpi_is_named_with_a_suggestion(document: dict[str, Any]) -> None:
    document["profiles"][0]["kpis"][0]["kpi"] = "renewal_rat"
    assert errors_of(document) == [
        f"{SOURCE}: profiles[0] (renewal_clerk).kpis[0].kpi: unknown KPI 'renewal_rat' (did you "
        "mean 'renewal_rate'?); use an id defined in kpis.yaml",
        # The grid's x axis is renewal_rate, which the profile no longer weighs.
        f"{SOURCE}: profiles[0] (renewal_clerk).quadrants: the x axis 'renewal_rate' is not one "
        "of the profile's KPIs, so the peers' scatter would have no renewal_rate to plot; add it "
        "to kpis, or give the profile its own quadrants, or set quadrants: none",
    ]


def test_a_kpi_listed_twice_is_refused(document: dict[str, Any]) -> None:
    kpis = document["profiles"][0]["kpis"]
    kpis[5] = dict(kpis[4])
    assert errors_of(document) == [
        f"{SOURCE}: profiles[0] (renewal_clerk).kpis[5].kpi: KPI 'renewal_cycle_days' is already "
        "weighted at kpis[4]; list each KPI once"
    ]


def test_field_mistakes_name_the_field_and_the_fix(document: dict[str, Any]) -> None:
    kpi = document["profiles"][0]["kpis"][2]
    kpi["wieght"] = kpi.pop("weight")
    document["profiles"][0]["kpis"][3]["category"] = "service"
    document["profiles"][0]["kpis"][4]["method"] = "linear"
    prefix = f"{SOURCE}: profiles[0] (renewal_clerk).kpis"
    assert errors_of(document) == [
        f"{prefix}[2].weight: required field is missing; add it (e.g. weight: 20)",
        f"{prefix}[2].wieght: unknown field; remove it or correct the spelling (did you mean "
        "'weight'?)",
        f"{prefix}[3].category: unknown category 'service'; categories are performance, "
        "customer_service, capability",
        f"{prefix}[4].method: unknown method 'linear'; methods are proportional, bands",
    ]


def test_bands_are_listed_best_first(document: dict[str, Any]) -> None:
    renewal = document["profiles"][0]["kpis"][0]
    renewal["bands"] = [{"at_least": 0.8, "share": 0.6}, {"at_least": 0.9, "share": 1}]
    assert errors_of(document) == [
        f"{SOURCE}: profiles[0] (renewal_clerk).kpis[0].bands: list the bands best first: a "
        "later band's share 1 is above an earlier one's 0.6"
    ]


def test_bands_on_a_lower_is_better_value_are_written_at_most(document: dict[str, Any]) -> None:
    cycle = document["profiles"][0]["kpis"][4]
    cycle.update(method="bands", measure="value", bands=[{"at_least": 14, "share": 1}])
    assert errors_of(document) == [
        f"{SOURCE}: profiles[0] (renewal_clerk).kpis[4].bands: renewal_cycle_days is "
        "lower-is-better, so bands on its value are written at_most, best first, e.g. "
        "[{at_most: 14, share: 1}, {at_most: 21, share: 0.6}]"
    ]
    cycle["bands"] = [{"at_most": 14, "share": 1}, {"at_most": 21, "share": 0.6}]
    config = ScorecardConfig.from_document(document, catalogue=CATALOGUE)
    assert config["renewal_clerk"].kpi("renewal_cycle_days") is not None


def test_a_proportional_cap_is_between_1_and_2(document: dict[str, Any]) -> None:
    document["profiles"][0]["kpis"][1]["cap"] = 0.8
    assert errors_of(document) == [
        f"{SOURCE}: profiles[0] (renewal_clerk).kpis[1].cap: must be at least 1 (got 0.8); the "
        "most a proportional KPI earns, as a multiple of its weight"
    ]


def test_a_yearly_baseline_only_for_kpis_that_add_up(document: dict[str, Any]) -> None:
    document["profiles"][0]["kpis"][3]["target"] = {"per_year": 85}
    assert errors_of(document) == [
        f"{SOURCE}: profiles[0] (renewal_clerk).kpis[3].target: satisfaction_mean is a mean, "
        "which does not add up over months, so it takes a plain target (a number), not per_year"
    ]


def test_a_baseline_per_level_names_levels(document: dict[str, Any]) -> None:
    document["profiles"][0]["kpis"][1]["target"] = {"per_year": {"brnch": 1}}
    document["profiles"][0]["kpis"][3]["target"] = "high"
    prefix = f"{SOURCE}: profiles[0] (renewal_clerk).kpis"
    assert errors_of(document) == [
        f"{prefix}[1].target.per_year.brnch: unknown level 'brnch'; levels are company, region, "
        "branch, team, agent",
        f"{prefix}[3].target: expected a decimal number, got 'high'",
    ]


def test_a_veto_needs_a_catalogue_rule(document: dict[str, Any]) -> None:
    document["profiles"][0]["vetoes"] = ["renewal_rate", "persistancy_13m"]
    prefix = f"{SOURCE}: profiles[0] (renewal_clerk).vetoes"
    assert errors_of(document) == [
        f"{prefix}[0]: renewal_rate has no veto in kpis.yaml; add veto: {{below: …}} or "
        "{above: …} there, or remove it here",
        f"{prefix}[1]: unknown KPI 'persistancy_13m' (did you mean 'persistency_13m'?); use an "
        "id defined in kpis.yaml",
    ]


# --- split, fallback, grades --------------------------------------------------------------


def test_split_and_fallback_and_grades_are_checked(document: dict[str, Any]) -> None:
    document["defaults"]["split"] = {"quantitative": 70, "qualitative": 20}
    document["defaults"]["qualitative_fallback"] = {"use": "fixed"}
    document["defaults"]["grades"] = {"excellent": 80, "qualified": 90}
    assert errors_of(document) == [
        f"{SOURCE}: defaults.split.quantitative: quantitative 70 and qualitative 20 add up to "
        "90, not 100; e.g. {quantitative: 70, qualitative: 30}",
        f"{SOURCE}: defaults.qualitative_fallback.value: use: fixed needs a value 0–100, e.g. "
        "{use: fixed, value: 80}",
        f"{SOURCE}: defaults.grades.excellent: must be above qualified (80 ≤ 90); e.g. "
        "{excellent: 90, qualified: 80}",
    ]


def test_a_profile_may_set_its_own_split_and_fallback(document: dict[str, Any]) -> None:
    document["profiles"][2]["split"] = {"quantitative": 80, "qualitative": 20}
    document["profiles"][2]["qualitative_fallback"] = {"use": "fixed", "value": 75}
    centre = ScorecardConfig.from_document(document, catalogue=CATALOGUE)["service_centre"]
    assert (centre.split.quantitative, centre.split.qualitative) == (D(80), D(20))
    assert (centre.qualitative_fallback.use, centre.qualitative_fallback.value) == (
        FallbackUse.FIXED,
        D(75),
    )


# --- quadrants and assignment -------------------------------------------------------------


def test_quadrant_axes_must_be_kpis_of_the_profile(document: dict[str, Any]) -> None:
    document["profiles"][3]["quadrants"]["y"] = {"kpi": "nps"}
    assert errors_of(document) == [
        f"{SOURCE}: profiles[3] (fd_agency).quadrants.y.kpi: the y axis 'nps' is not one of the "
        "profile's KPIs, so the peers' scatter would have no nps to plot; add it to kpis, or "
        "choose axes among the profile's KPIs"
    ]


def test_a_profile_may_have_no_grid(document: dict[str, Any]) -> None:
    document["profiles"][3]["quadrants"] = "none"
    config = ScorecardConfig.from_document(document, catalogue=CATALOGUE)
    assert config["fd_agency"].quadrants is None


def test_a_profiles_grid_takes_the_default_coaching(document: dict[str, Any]) -> None:
    config = ScorecardConfig.from_document(document, catalogue=CATALOGUE)
    fd, clerk = config["fd_agency"].quadrants, config["renewal_clerk"].quadrants
    assert fd is not None
    assert clerk is not None
    assert fd.coaching == clerk.coaching
    assert fd.labels.high_low.en == "High renewal rate, low top-box share"


def test_assignments_name_known_profiles_and_entities(document: dict[str, Any]) -> None:
    document["assign"]["levels"]["team"] = "service_center"
    document["assign"]["entities"] = {"branch:B99": "fd_agency", "B08": "fd_agency"}
    assert errors_of(document) == [
        f"{SOURCE}: assign.levels.team: unknown profile 'service_center' (did you mean "
        "'service_centre'?); profiles are renewal_clerk, branch, service_centre, fd_agency",
        f"{SOURCE}: assign.entities.branch:B99: branch:B99 is not in the organisation (org.yaml)",
        f"{SOURCE}: assign.entities.B08: 'B08' is not an entity; write LEVEL:ID, e.g. "
        "'branch:B08', with LEVEL one of company, region, branch, team, agent",
    ]


def test_duplicate_profiles_and_unknown_sections(document: dict[str, Any]) -> None:
    document["profiles"].append(deepcopy(document["profiles"][0]))
    document["profile"] = []
    assert errors_of(document) == [
        f"{SOURCE}: profile: unknown field (did you mean 'profiles'?); the file holds only "
        "'defaults', 'assign' and 'profiles'",
        f"{SOURCE}: profiles[4] (renewal_clerk).id: profile 'renewal_clerk' is already defined "
        "at profiles[0]; give each profile its own id",
    ]


def test_not_a_mapping() -> None:
    assert errors_of(None) == [
        f"{SOURCE}: expected a mapping with 'defaults', 'assign' and 'profiles', got nothing"
    ]
    assert errors_of({"assign": {}}) == [
        f"{SOURCE}: profiles: expected a non-empty list of profiles, one '- id: …' each"
    ]
