"""The KPI catalogue: the shipped file, and a message naming file, entry and field for each
mistake an operator can make in it."""

from copy import deepcopy
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest

from shared.config import InvalidConfig
from shared.errors import ConfigError
from shared.kpi.catalogue import KpiCatalogue, load_catalogue
from shared.kpi.components import PREFIX_SUMMED, C
from shared.kpi.fiscal_calendar import PeriodKind
from shared.kpi.kpi_definition import (
    DenominatorSource,
    Direction,
    KpiDefinition,
    KpiKind,
    Unit,
    Veto,
)
from shared.kpi.kpi_values import compute

CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"
SOURCE: Final = "config/kpis.yaml"
DESIGN_KPIS: Final = (
    "renewal_rate",
    "renewal_premium",
    "renewal_cycle_days",
    "contacts_per_day",
    "persistency_13m",
    "premium_attainment",
    "new_business_premium",
    "per_capita_premium",
    "referral_rate",
    "lapse_rate",
    "surrender_rate",
    "complaint_rate_per_10k",
    "complaint_resolution_days",
    "compliments",
    "survey_top_box",
    "satisfaction_mean",
    "nps",
    "direct_channel_rate",
    "second_purchase_rate",
)
COMPONENT_LIST: Final = ", ".join(component.value for component in C)


@pytest.fixture(scope="module")
def shipped() -> KpiCatalogue:
    return load_catalogue(CONFIG_DIR / "kpis.yaml")


# --- the shipped catalogue ---------------------------------------------------------------


def test_the_shipped_catalogue_has_every_design_kpi_and_the_scorecard_extras(
    shipped: KpiCatalogue,
) -> None:
    assert shipped.ids == (*DESIGN_KPIS, "assessment_score", "training_hours")
    assert all(kpi_id in shipped for kpi_id in DESIGN_KPIS)


def test_every_kpi_is_labelled_in_three_languages(shipped: KpiCatalogue) -> None:
    for kpi in shipped:
        labels = [kpi.label(language) for language in ("en", "zh", "ja")]
        assert all(labels), kpi.id
        assert kpi.labels.zh != kpi.labels.en, kpi.id
    assert (shipped["renewal_rate"].labels.zh, shipped["renewal_rate"].labels.ja) == (
        "续保率",
        "続保率",
    )
    assert shipped["persistency_13m"].labels.zh == "13个月继续率"
    assert shipped["persistency_13m"].labels.ja == "13ヶ月継続率"
    assert shipped["complaint_rate_per_10k"].labels.zh == "万件投诉率"
    assert shipped["complaint_rate_per_10k"].labels.ja == "苦情件数(1万件あたり)"
    assert shipped["satisfaction_mean"].labels.ja == "顧客満足度"
    assert shipped["compliments"].labels.ja == "お褒めの言葉"


def test_ratios_divide_the_components_of_design_section_5(shipped: KpiCatalogue) -> None:
    renewal = shipped["renewal_rate"]
    assert (renewal.kind, renewal.numerator, renewal.denominator) == (
        KpiKind.RATIO,
        "renewal_renewed",
        "renewal_due",
    )
    for kpi_id in ("lapse_rate", "surrender_rate", "complaint_rate_per_10k"):
        assert shipped[kpi_id].denominator == C.INFORCE_DELTA  # in force at period start
        assert shipped[kpi_id].direction is Direction.LOWER_IS_BETTER
    assert shipped["second_purchase_rate"].denominator in PREFIX_SUMMED
    nps = shipped["nps"]
    assert (nps.numerator, nps.subtract, nps.denominator) == (
        "nps_promoters",
        "nps_detractors",
        "nps_responses",
    )


def test_denominators_from_outside_the_counters(shipped: KpiCatalogue) -> None:
    assert shipped["premium_attainment"].denominator_from is DenominatorSource.TARGET
    assert shipped["per_capita_premium"].denominator_from is DenominatorSource.HEADCOUNT
    assert shipped["contacts_per_day"].denominator_from is DenominatorSource.WORKING_DAYS
    assert shipped["compliments"].denominator_from is None


def test_scaled_components_are_read_back(shipped: KpiCatalogue) -> None:
    assert shipped["renewal_premium"].scale == 10000
    assert shipped["premium_attainment"].scale == 10000
    assert shipped["satisfaction_mean"].scale == 100
    assert shipped["renewal_cycle_days"].scale == 86400
    assert shipped["training_hours"].unit is Unit.HOURS


@pytest.mark.parametrize(
    ("kpi_id", "target"),
    [
        ("renewal_rate", Decimal("0.9")),
        ("persistency_13m", Decimal("0.92")),
        ("premium_attainment", Decimal(1)),
        ("referral_rate", Decimal("0.2")),
        ("lapse_rate", Decimal("0.05")),
        ("complaint_rate_per_10k", Decimal(5)),
        ("complaint_resolution_days", Decimal(5)),
        ("survey_top_box", Decimal("0.7")),
        ("satisfaction_mean", Decimal(85)),
        ("nps", Decimal(30)),
        ("direct_channel_rate", Decimal("0.6")),
        ("second_purchase_rate", Decimal("0.022")),
        ("renewal_cycle_days", Decimal(14)),
        ("contacts_per_day", Decimal(20)),
        ("renewal_premium", None),
    ],
)
def test_default_targets_are_in_the_kpis_unit(
    shipped: KpiCatalogue, kpi_id: str, target: Decimal | None
) -> None:
    assert shipped[kpi_id].default_target == target


def test_a_yearly_count_target_is_spread_over_shorter_periods(shipped: KpiCatalogue) -> None:
    compliments = shipped["compliments"]
    assert compliments.target_for(PeriodKind.FISCAL_YEAR) == Decimal(100)
    assert compliments.target_for(PeriodKind.HALF) == Decimal(50)
    assert compliments.target_for(PeriodKind.QUARTER) == Decimal(25)
    assert compliments.target_for(PeriodKind.MONTH) == Decimal("8.333333")
    assert shipped["renewal_rate"].target_for(PeriodKind.MONTH) == Decimal("0.9")


def test_vetoes(shipped: KpiCatalogue) -> None:
    assert shipped["persistency_13m"].veto == Veto(below=Decimal("0.85"))
    assert shipped["complaint_rate_per_10k"].veto == Veto(above=Decimal(5))
    persistency = shipped["persistency_13m"].veto
    assert persistency is not None
    assert persistency.applies(Decimal("0.8499"))
    assert not persistency.applies(Decimal("0.85"))
    assert not persistency.applies(None)
    assert [kpi.id for kpi in shipped if kpi.veto] == ["persistency_13m", "complaint_rate_per_10k"]


def test_an_unknown_kpi_or_language_is_named(shipped: KpiCatalogue) -> None:
    with pytest.raises(KeyError, match="no KPI 'renewal' in"):
        shipped["renewal"]
    with pytest.raises(ValueError, match="no label in 'fr'; labels are en, zh and ja"):
        shipped["nps"].label("fr")


def test_a_new_kpi_of_an_existing_kind_is_configuration_only(tmp_path: Path) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text(
        "kpis:\n"
        "  - id: escalation_rate\n"
        "    labels: {en: Regulator escalation rate, zh: 监管投诉升级率, ja: 行政への申立率}\n"
        "    kind: ratio\n"
        "    direction: lower_is_better\n"
        "    unit: ratio\n"
        "    numerator: complaints_escalated\n"
        "    denominator: complaints_opened\n"
        "    default_target: 0.01\n",
        encoding="utf-8",
    )
    kpi = load_catalogue(path)["escalation_rate"]
    totals = {"complaints_escalated": 1, "complaints_opened": 8}
    value = compute(kpi, totals, {}, target=None, headcount=None, working_days=21)
    assert value.value == Decimal("0.125")


# --- mistakes, each with its exact message -------------------------------------------------

RENEWAL_RATE: Final[dict[str, Any]] = {
    "id": "renewal_rate",
    "labels": {"en": "Renewal rate", "zh": "续保率", "ja": "続保率"},
    "kind": "ratio",
    "direction": "higher_is_better",
    "unit": "ratio",
    "numerator": "renewal_renewed",
    "denominator": "renewal_due",
    "default_target": 0.9,
}
COMPLIMENTS: Final[dict[str, Any]] = {
    "id": "compliments",
    "labels": {"en": "Compliments", "zh": "客户表扬数", "ja": "お褒めの言葉"},
    "kind": "count",
    "direction": "higher_is_better",
    "unit": "count",
    "numerator": "compliments",
}


def _entry(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    entry = deepcopy(base)
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entry


def _messages(*entries: object) -> list[str]:
    with pytest.raises(InvalidConfig) as raised:
        KpiCatalogue.from_document({"kpis": list(entries)}, source=SOURCE)
    return str(raised.value).splitlines()


def test_an_unknown_component_is_named_with_the_list_of_components() -> None:
    assert _messages(_entry(RENEWAL_RATE, numerator="renewal_renewd")) == [
        "config/kpis.yaml: kpis[0] (renewal_rate).numerator: unknown component "
        f"'renewal_renewd' (did you mean 'renewal_renewed'?); components are {COMPONENT_LIST}"
    ]


def test_an_unknown_component_far_from_any_name_gets_no_suggestion() -> None:
    assert _messages(COMPLIMENTS, COMPLIMENTS | {"id": "x", "numerator": "zzz"})[-1] == (
        f"config/kpis.yaml: kpis[1] (x).numerator: unknown component 'zzz'; components are "
        f"{COMPONENT_LIST}"
    )


def test_a_duplicate_id() -> None:
    assert _messages(RENEWAL_RATE, COMPLIMENTS, RENEWAL_RATE) == [
        "config/kpis.yaml: kpis[2] (renewal_rate).id: KPI 'renewal_rate' is already defined at "
        "kpis[0]; give each KPI its own id"
    ]


def test_an_unknown_kind() -> None:
    assert _messages(_entry(RENEWAL_RATE, kind="ratoi")) == [
        "config/kpis.yaml: kpis[0] (renewal_rate).kind: unknown kind 'ratoi'; kinds are ratio, "
        "top_box_share, cohort_ratio, mean, mean_duration_days, rate_per_10k, nps, count, sum, "
        "per_capita, per_working_day"
    ]


def test_an_unknown_direction() -> None:
    assert _messages(_entry(RENEWAL_RATE, direction="up")) == [
        "config/kpis.yaml: kpis[0] (renewal_rate).direction: unknown direction 'up'; directions "
        "are higher_is_better, lower_is_better"
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"numerator": None},
            "kpis[0] (renewal_rate).numerator: kind ratio needs a numerator; add numerator: "
            "<component>",
        ),
        (
            {"denominator": None},
            "kpis[0] (renewal_rate).denominator: kind ratio needs a denominator; add "
            "denominator: <component>",
        ),
        (
            {"kind": "nps"},
            "kpis[0] (renewal_rate).subtract: kind nps needs the component subtracted from its "
            "numerator; add subtract: <component>",
        ),
        (
            {"subtract": "renewal_lost"},
            "kpis[0] (renewal_rate).subtract: kind ratio subtracts nothing; remove subtract",
        ),
        (
            {"denominator_source": "headcount"},
            "kpis[0] (renewal_rate).denominator_source: kind ratio cannot divide by headcount; "
            "use components or target",
        ),
        (
            {"denominator_source": "target"},
            "kpis[0] (renewal_rate).denominator: kind ratio divides by target; remove denominator",
        ),
        (
            {"target_per": "fiscal_year"},
            "kpis[0] (renewal_rate).target_per: only count and sum targets add up over months "
            "and can be stated per longer period; remove target_per",
        ),
    ],
)
def test_a_ratio_needs_exactly_its_operands(changes: dict[str, Any], expected: str) -> None:
    assert _messages(_entry(RENEWAL_RATE, **changes)) == [f"{SOURCE}: {expected}"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"denominator": "renewal_due"},
            "kpis[0] (compliments).denominator: kind count divides by nothing; remove denominator",
        ),
        (
            {"denominator_source": "working_days"},
            "kpis[0] (compliments).denominator_source: kind count cannot divide by "
            "working_days; remove it",
        ),
        (
            {"kind": "per_capita", "denominator_source": "working_days"},
            "kpis[0] (compliments).denominator_source: kind per_capita cannot divide by "
            "working_days; use headcount",
        ),
    ],
)
def test_kinds_without_a_component_denominator(changes: dict[str, Any], expected: str) -> None:
    assert _messages(_entry(COMPLIMENTS, **changes)) == [f"{SOURCE}: {expected}"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"kind": "sum", "numerator": "premium_written_e4"},
            "kpis[0] (compliments).scale: numerator 'premium_written_e4' is stored in "
            "ten-thousandths; set scale: 10000",
        ),
        (
            {"kind": "sum", "numerator": "training_hours_e2", "scale": 10000},
            "kpis[0] (compliments).scale: numerator 'training_hours_e2' is stored in "
            "hundredths; set scale: 100",
        ),
        (
            {"scale": 100},
            "kpis[0] (compliments).scale: numerator 'compliments' is stored unscaled; remove scale",
        ),
        (
            {
                "kind": "ratio",
                "numerator": "nb_premium_e4",
                "denominator": "premium_written_e4",
                "scale": 10000,
            },
            "kpis[0] (compliments).scale: numerator 'nb_premium_e4' and denominator "
            "'premium_written_e4' are stored alike, so their ratio needs no scale; remove scale",
        ),
        (
            {"scale": 0},
            "kpis[0] (compliments).scale: must be at least 1 (got 0); the divisor of a scaled "
            "numerator: 10000, 100 or 86400",
        ),
    ],
)
def test_a_scale_that_would_misread_the_numerator(changes: dict[str, Any], expected: str) -> None:
    assert _messages(_entry(COMPLIMENTS, **changes)) == [f"{SOURCE}: {expected}"]


def test_labels_missing_a_language() -> None:
    labels = {"en": "Renewal rate", "zh": "续保率"}
    assert _messages(_entry(RENEWAL_RATE, labels=labels)) == [
        "config/kpis.yaml: kpis[0] (renewal_rate).labels.ja: labels need en, zh and ja; add ja: "
        "the KPI's name in Japanese"
    ]


def test_an_empty_label_and_a_misspelt_language() -> None:
    labels = {"en": " ", "zh": "续保率", "ja": "続保率", "jp": "続保率"}
    assert _messages(_entry(RENEWAL_RATE, labels=labels)) == [
        "config/kpis.yaml: kpis[0] (renewal_rate).labels.en: must not be empty",
        "config/kpis.yaml: kpis[0] (renewal_rate).labels.jp: unknown field; remove it or "
        "correct the spelling (allowed: en, ja, zh)",
    ]


def test_a_misspelt_field_and_a_missing_one() -> None:
    assert _messages(_entry(RENEWAL_RATE, unit=None, numerater="renewal_renewed")) == [
        "config/kpis.yaml: kpis[0] (renewal_rate).unit: required field is missing; add it "
        "(e.g. unit: ratio)",
        "config/kpis.yaml: kpis[0] (renewal_rate).numerater: unknown field; remove it or "
        "correct the spelling (did you mean 'numerator'?)",
    ]


def test_a_bad_id_names_the_entry_by_position() -> None:
    assert _messages(_entry(RENEWAL_RATE, id="Renewal Rate")) == [
        "config/kpis.yaml: kpis[0] (Renewal Rate).id: 'Renewal Rate' is not a KPI id; use "
        "lower-case snake_case, e.g. renewal_rate"
    ]
    assert _messages(_entry(RENEWAL_RATE, id=None)) == [
        "config/kpis.yaml: kpis[0].id: required field is missing; add it (e.g. id: renewal_rate)"
    ]


def test_a_veto_needs_exactly_one_bound() -> None:
    assert _messages(_entry(RENEWAL_RATE, veto={"below": 0.8, "above": 0.99})) == [
        "config/kpis.yaml: kpis[0] (renewal_rate).veto: give exactly one of below or above, "
        "e.g. veto: {below: 0.85}"
    ]


def test_a_bad_seed_id() -> None:
    assert _messages(_entry(RENEWAL_RATE, source=["1"])) == [
        "config/kpis.yaml: kpis[0] (renewal_rate).source[0]: '1' is not a seed document id; "
        "use its three digits, e.g. '002'"
    ]


def test_every_problem_is_reported_at_once() -> None:
    messages = _messages(
        _entry(RENEWAL_RATE, kind="ratoi"),
        _entry(COMPLIMENTS, numerator="complement"),
        _entry(COMPLIMENTS, id="praise", numerator=None),
    )
    assert [line.split(":")[1].strip() for line in messages] == [
        "kpis[0] (renewal_rate).kind",
        "kpis[1] (compliments).numerator",
        "kpis[2] (praise).numerator",
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (None, ["config/kpis.yaml: expected a mapping with a 'kpis' list, got nothing"]),
        ([], ["config/kpis.yaml: expected a mapping with a 'kpis' list, got a list"]),
        (
            {"kpis": []},
            ["config/kpis.yaml: kpis: expected a non-empty list of KPIs, one '- id: …' entry each"],
        ),
        (
            {"kpi": [RENEWAL_RATE], "kpis": [RENEWAL_RATE]},
            ["config/kpis.yaml: kpi: unknown field; the file holds only 'kpis' and 'survey_boxes'"],
        ),
        (
            {"kpis": ["renewal_rate"]},
            ["config/kpis.yaml: kpis[0]: expected a mapping of fields, got 'renewal_rate'"],
        ),
    ],
)
def test_the_shape_of_the_document(document: object, expected: list[str]) -> None:
    with pytest.raises(InvalidConfig) as raised:
        KpiCatalogue.from_document(document, source=SOURCE)
    assert str(raised.value).splitlines() == expected


def test_the_loader_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text("kpis:\n  - id: renewal_rate\n    kind: ratoi\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_catalogue(path)
    assert str(raised.value).startswith(f"{path}: kpis[0] (renewal_rate).labels: required field")
    with pytest.raises(ConfigError, match="file not found"):
        load_catalogue(tmp_path / "missing.yaml")


def test_a_definition_built_in_code_has_the_same_defaults() -> None:
    kpi = KpiDefinition.model_validate(COMPLIMENTS)
    assert (kpi.scale, kpi.source, kpi.veto, kpi.target_for(PeriodKind.MONTH)) == (
        1,
        (),
        None,
        None,
    )
