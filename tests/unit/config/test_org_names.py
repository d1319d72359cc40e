"""Entity names in org.yaml: optional, one text or a form per language, with the fallback
requested language → English → None (the page then shows the id alone)."""

import copy
from datetime import date
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from shared.config import InvalidConfig, Level, LocalizedName, OrgChart, load_org
from shared.messages.org import ORG_RECORD_MODELS

CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"

BASE: Final[dict[str, Any]] = {
    "company": "ACME",
    "regions": [{"id": "R1", "coefficient": 1.0}],
    "branches": [{"id": "B01", "region": "R1", "headcount": 3}],
    "teams": [{"id": "T01", "branch": "B01"}],
    "agents": [
        {"id": "A1", "team": "T01", "phone": "+81-90-0000-0001", "from": date(2020, 4, 1)},
    ],
}


def chart(**changes: Any) -> OrgChart:
    document = copy.deepcopy(BASE)
    for path, value in changes.items():
        section, _, field = path.partition("__")
        if field:
            document[section][0][field] = value
        else:
            document[section] = value
    return OrgChart.from_document(document)


def problems(**changes: Any) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        chart(**changes)
    return str(caught.value).splitlines()


def test_without_names_every_entity_has_none() -> None:
    org = chart()
    for level in Level:
        for entity in org.entities(level):
            assert org.name(entity, "ja") is None
    assert org.company_name is None


def test_each_language_gets_its_own_form() -> None:
    org = chart(branches__name={"en": "Yokohama Branch", "zh": "横滨分公司", "ja": "横浜支店"})
    assert org.name("branch:B01", "en") == "Yokohama Branch"
    assert org.name("branch:B01", "zh") == "横滨分公司"
    assert org.name("branch:B01", "ja") == "横浜支店"


def test_a_missing_form_falls_back_to_english_then_to_none() -> None:
    org = chart(regions__name={"en": "Kanto Region", "ja": "関東本部"}, teams__name={"zh": "一组"})
    assert org.name("region:R1", "zh") == "Kanto Region"
    assert org.name("region:R1", "ja") == "関東本部"
    assert org.name("team:T01", "zh") == "一组"
    assert org.name("team:T01", "en") is None
    assert org.name("team:T01", "ja") is None


def test_one_text_is_the_name_in_every_language() -> None:
    """What org.yaml files written before the languages hold keeps working."""
    org = chart(regions__name="関東", company_name="ACME損害保険代理店")
    assert [org.name("region:R1", lang) for lang in ("en", "zh", "ja")] == ["関東"] * 3
    assert org.name("company:ACME", "zh") == "ACME損害保険代理店"
    assert org.company_name == "ACME損害保険代理店"


def test_an_unknown_language_gets_the_english_name() -> None:
    org = chart(branches__name={"en": "Yokohama Branch", "ja": "横浜支店"})
    assert org.name("branch:B01", "fr") == "Yokohama Branch"


def test_an_agent_is_named_by_the_latest_assignment_that_names_them() -> None:
    moved = {"id": "A1", "team": "T01", "phone": "+81-90-0000-0001", "from": date(2024, 10, 1)}
    first = dict(BASE["agents"][0], name={"en": "Kenta Sato", "ja": "佐藤 健太"})
    org = chart(agents=[first, moved])
    assert org.name("agent:A1", "ja") == "佐藤 健太"
    renamed = dict(moved, name={"en": "Kenta Suzuki", "ja": "鈴木 健太"})
    assert chart(agents=[first, renamed]).name("agent:A1", "ja") == "鈴木 健太"


def test_unknown_or_malformed_entities_have_no_name() -> None:
    org = chart(branches__name="横浜支店")
    assert org.name("branch:B99", "en") is None
    assert org.name("company:OTHER", "en") is None
    assert org.name("B01", "en") is None
    assert org.name("", "en") is None


def test_names_are_trimmed() -> None:
    assert chart(regions__name={"en": "  Kanto  "}).name("region:R1") == "Kanto"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            {"fr": "Kanto"},
            "org.yaml: regions[0].name.fr: unknown field; remove it or correct the spelling "
            "(allowed: en, ja, zh)",
        ),
        (
            {},
            "org.yaml: regions[0].name: a name needs at least one of en, zh or ja, e.g. name: "
            "{en: Kanto, ja: 関東}; remove name to show the id alone",
        ),
        (
            "  ",
            "org.yaml: regions[0].name: must not be empty; write the name, or remove it to show "
            "the id alone",
        ),
        (
            {"en": ""},
            "org.yaml: regions[0].name.en: must not be empty; write the text or remove the field",
        ),
        (
            12,
            "org.yaml: regions[0].name: expected the name as text or as a mapping of en, zh and "
            "ja, got 12 (a number), e.g. name: {en: Kanto Region, zh: 关东区域, ja: 関東本部}",
        ),
        (
            {"en": 5},
            "org.yaml: regions[0].name.en: expected text, got 5 (a number); quote it in YAML, "
            "e.g. '5'",
        ),
    ],
    ids=["unknown language", "no form", "blank text", "blank form", "a number", "form a number"],
)
def test_a_bad_name_is_reported_with_the_fix(name: object, expected: str) -> None:
    assert problems(regions__name=name) == [expected]


def test_a_bad_company_name_names_its_field() -> None:
    assert problems(company_name={"de": "x"}) == [
        "org.yaml: company_name.de: unknown field; remove it or correct the spelling "
        "(allowed: en, ja, zh)"
    ]


def test_names_in_yaml_flow_style_load(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    document = copy.deepcopy(BASE)
    text = yaml.safe_dump(document, allow_unicode=True)
    named = "id: B01\n  name: {en: Kobe Branch, zh: 神户分公司, ja: 神戸支店}"
    text = text.replace("id: B01", named)
    path.write_text(text, encoding="utf-8")
    assert load_org(path).name("branch:B01", "zh") == "神户分公司"


def test_every_entity_of_the_demo_company_has_a_name_in_each_language() -> None:
    org = load_org(CONFIG_DIR / "org.yaml")
    for level in Level:
        for entity in org.entities(level):
            names = org.names_of(entity)
            assert names is not None, entity
            assert names.en, entity
            assert names.zh, entity
            assert names.ja, entity
    assert org.name("branch:B03", "ja") == "横浜支店"
    assert org.name("branch:B03", "zh") == "横滨分公司"
    assert org.name("region:R2", "en") == "Kansai Region"


def test_a_kpi_org_record_takes_the_same_names() -> None:
    """kpi.org.v1 values use org.yaml's fields, the name's forms included."""
    team = ORG_RECORD_MODELS["team"].model_validate(
        {"branch": "B01", "name": {"en": "Sales Team 5", "ja": "第5営業課"}}
    )
    region = ORG_RECORD_MODELS["region"].model_validate({"coefficient": "1.0", "name": "九州"})
    assert team.model_dump(exclude_none=True)["name"] == {"en": "Sales Team 5", "ja": "第5営業課"}
    assert region.model_dump(exclude_none=True)["name"] == {"en": "九州"}


def test_localized_name_is_frozen() -> None:
    name = LocalizedName(en="Kanto")
    with pytest.raises(ValueError, match="frozen"):
        name.en = "Kansai"  # type: ignore[misc]
