"""Every problem in org.yaml is reported as `file: field.path: what is wrong and the fix`."""

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.config import InvalidConfig, OrgChart, load_org
from shared.errors import ConfigError

VALID: dict[str, Any] = {
    "company": "ACME",
    "company_name": "ACME損害保険代理店",
    "currency": "JPY",
    "regions": [
        {"id": "R1", "coefficient": 1.1, "name": "関東"},
        {"id": "R2", "coefficient": 0.9},
    ],
    "branches": [
        {"id": "B01", "region": "R1", "headcount": 42},
        {"id": "B02", "region": "R2", "headcount": 0},
    ],
    "teams": [{"id": "T01", "branch": "B01"}, {"id": "T02", "branch": "B02"}],
    "agents": [
        {"id": "A0001", "team": "T01", "phone": "+81-90-0000-0001", "from": date(2020, 4, 1)},
        {"id": "A0002", "team": "T01", "phone": "+81-90-0000-0002", "from": date(2021, 4, 1)},
        {"id": "A0003", "team": "T02", "phone": "+81-90-0000-0003", "from": date(2022, 4, 1)},
        {"id": "A0004", "team": "T02", "phone": "+81 (90) 0000 0004", "from": date(2023, 4, 1)},
        {"id": "A0001", "team": "T02", "phone": "+81-90-0000-0001", "from": date(2024, 10, 1)},
    ],
}

Mutation = Callable[[dict[str, Any]], None]


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def message_for(tmp_path: Path, mutate: Mutation) -> str:
    document = copy.deepcopy(VALID)
    mutate(document)
    path = write(tmp_path, document)
    with pytest.raises(ConfigError) as caught:
        load_org(path)
    return str(caught.value).replace(str(path), "config/org.yaml")


def test_a_valid_file_loads(tmp_path: Path) -> None:
    org = load_org(write(tmp_path, VALID))
    assert org.company_name == "ACME損害保険代理店"
    assert len(org.agent_ids) == 4
    assert org.region("R1") is not None


def test_optional_fields_default(tmp_path: Path) -> None:
    document = copy.deepcopy(VALID)
    del document["company_name"], document["currency"]
    org = load_org(write(tmp_path, document))
    assert org.company_name is None
    assert org.currency == "JPY"


def _set(section: str, index: int, **values: object) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document[section][index].update(values)

    return mutate


def _drop(section: str, index: int, key: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        del document[section][index][key]

    return mutate


def _append(section: str, entry: dict[str, object]) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document[section].append(entry)

    return mutate


CASES: list[tuple[str, Mutation, str]] = [
    (
        "unknown team",
        _set("agents", 3, team="T99"),
        "config/org.yaml: agents[3].team: team 'T99' is not defined under teams",
    ),
    (
        "unknown branch",
        _set("teams", 1, branch="B09"),
        "config/org.yaml: teams[1].branch: branch 'B09' is not defined under branches",
    ),
    (
        "unknown region",
        _set("branches", 0, region="R7"),
        "config/org.yaml: branches[0].region: region 'R7' is not defined under regions",
    ),
    (
        "duplicate region",
        _append("regions", {"id": "R1", "coefficient": 1.0}),
        "config/org.yaml: regions[2].id: region 'R1' is already defined at regions[0]; "
        "give each one its own id",
    ),
    (
        "duplicate branch",
        _append("branches", {"id": "B02", "region": "R1", "headcount": 3}),
        "config/org.yaml: branches[2].id: branch 'B02' is already defined at branches[1]; "
        "give each one its own id",
    ),
    (
        "duplicate team",
        _append("teams", {"id": "T01", "branch": "B02"}),
        "config/org.yaml: teams[2].id: team 'T01' is already defined at teams[0]; "
        "give each one its own id",
    ),
    (
        "duplicate assignment",
        _append(
            "agents",
            {"id": "A0002", "team": "T02", "phone": "+81-90-0000-0002", "from": date(2021, 4, 1)},
        ),
        "config/org.yaml: agents[5].from: agent 'A0002' already has an assignment starting "
        "2021-04-01 at agents[1]; keep one of them or give the move a later date",
    ),
    (
        "zero coefficient",
        _set("regions", 1, coefficient=0),
        "config/org.yaml: regions[1].coefficient: must be greater than 0 (got 0); use e.g. 1.1 "
        "for a strong region, 1.0 for the baseline, 0.9 for a developing one",
    ),
    (
        "negative coefficient",
        _set("regions", 0, coefficient=-1.1),
        "config/org.yaml: regions[0].coefficient: must be greater than 0 (got -1.1); use e.g. "
        "1.1 for a strong region, 1.0 for the baseline, 0.9 for a developing one",
    ),
    (
        "coefficient not a number",
        _set("regions", 0, coefficient="strong"),
        "config/org.yaml: regions[0].coefficient: expected a decimal number, got 'strong' "
        "(e.g. coefficient: 1.1)",
    ),
    (
        "negative headcount",
        _set("branches", 1, headcount=-3),
        "config/org.yaml: branches[1].headcount: must be at least 0 (got -3); the branch's "
        "number of staff; 0 if it has none yet",
    ),
    (
        "headcount as text",
        _set("branches", 1, headcount="many"),
        "config/org.yaml: branches[1].headcount: expected a whole number, got 'many' "
        "(e.g. headcount: 42)",
    ),
    (
        "missing from",
        _drop("agents", 2, "from"),
        "config/org.yaml: agents[2].from: required field is missing; add it "
        "(e.g. from: 2024-04-01)",
    ),
    (
        "bad date",
        _set("agents", 0, **{"from": "2024-13-01"}),
        "config/org.yaml: agents[0].from: expected a date written YYYY-MM-DD, got '2024-13-01' "
        "(e.g. from: 2024-04-01)",
    ),
    (
        "bad phone",
        _set("agents", 1, phone="call me"),
        "config/org.yaml: agents[1].phone: 'call me' is not a phone number; use digits with an "
        "optional leading '+' and spaces, '-' or parentheses, e.g. '+81-90-1234-5678'",
    ),
    (
        "id read as a number",
        _set("agents", 1, id=1),
        "config/org.yaml: agents[1].id: expected text, got 1 (a number); quote it in YAML, "
        "e.g. '1'",
    ),
    (
        "bad id",
        _set("teams", 0, id="T 01"),
        "config/org.yaml: teams[0].id: 'T 01' is not a valid id; use letters, digits, '.', '_' "
        "or '-', starting with a letter or digit, at most 64 characters",
    ),
    (
        "misspelt field",
        _set("branches", 0, headcont=4),
        "config/org.yaml: branches[0].headcont: unknown field; remove it or correct the spelling "
        "(did you mean 'headcount'?)",
    ),
    (
        "misspelt top-level key",
        lambda d: d.update(compnay="ACME"),
        "config/org.yaml: compnay: unknown field; remove it or correct the spelling "
        "(did you mean 'company'?)",
    ),
    (
        "missing section",
        lambda d: d.pop("teams"),
        "config/org.yaml: teams: required field is missing; add it "
        "(e.g. teams: [{id: T01, branch: B01}])",
    ),
    (
        "no regions",
        lambda d: d.update(regions=[], branches=[], teams=[], agents=[]),
        "config/org.yaml: regions: must not be empty; add at least one region, e.g. regions: "
        "[{id: R1, coefficient: 1.0}]",
    ),
    (
        "section not a list",
        lambda d: d.update(teams="T01"),
        "config/org.yaml: teams: expected a list (one '- ' item per line), got 'T01' "
        "(e.g. teams: [{id: T01, branch: B01}])",
    ),
    (
        "entry not a mapping",
        lambda d: d["regions"].append("R3"),
        "config/org.yaml: regions[2]: expected a mapping of fields, got 'R3'",
    ),
    (
        "bad currency",
        lambda d: d.update(currency="yen"),
        "config/org.yaml: currency: 'yen' is not an ISO 4217 currency code; use three capital "
        "letters, e.g. 'JPY'",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_has_its_exact_message(
    tmp_path: Path, mutate: Mutation, expected: str
) -> None:
    assert message_for(tmp_path, mutate) == expected


def test_every_problem_is_reported_one_line_each(tmp_path: Path) -> None:
    def mutate(document: dict[str, Any]) -> None:
        document["agents"][0]["team"] = "T98"
        document["agents"][1]["team"] = "T99"

    assert message_for(tmp_path, mutate).splitlines() == [
        "config/org.yaml: agents[0].team: team 'T98' is not defined under teams",
        "config/org.yaml: agents[1].team: team 'T99' is not defined under teams",
    ]


def test_the_error_carries_its_issues() -> None:
    document = copy.deepcopy(VALID)
    document["agents"][3]["team"] = "T99"
    with pytest.raises(InvalidConfig) as caught:
        OrgChart.from_document(document, source="org.yaml")
    assert caught.value.source == "org.yaml"
    assert [(i.path, i.message) for i in caught.value.issues] == [
        ("agents[3].team", "team 'T99' is not defined under teams")
    ]


@pytest.mark.parametrize(
    ("document", "shown"), [(None, "an empty file"), ([1, 2], "a list"), ("ACME", "a str")]
)
def test_a_document_that_is_not_a_mapping_is_refused(document: object, shown: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        OrgChart.from_document(document, source="config/org.yaml")
    assert str(caught.value) == (
        "config/org.yaml: expected a mapping with company, regions, branches, teams and agents "
        f"at the top level, got {shown}"
    )
