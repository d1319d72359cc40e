"""The alert rules file: the shipped one loads, and each mistake an operator can make in it gets
one line naming the file, the rule and the field, with the fix."""

from copy import deepcopy
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from services.alerts.domain.rule_kinds import FraudPattern, ThresholdDirection
from services.alerts.domain.rules import (
    DropRule,
    FraudRule,
    ProjectionRule,
    RuleSet,
    StalenessRule,
    ThresholdRule,
    load_rules,
    parse_duration,
)
from shared.config import InvalidConfig, Level
from shared.errors import ConfigError
from shared.kpi.catalogue import load_catalogue
from shared.messages import AlertSeverity

CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"
SOURCE: Final = "config/alerts.yaml"
KPI_IDS: Final = load_catalogue(CONFIG_DIR / "kpis.yaml").ids
PREFIX: Final = f"{SOURCE}: rules[0] (renewal_rate_low)"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded = yaml.safe_load((CONFIG_DIR / "alerts.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def errors_of(document: dict[str, Any]) -> str:
    with pytest.raises(InvalidConfig) as caught:
        RuleSet.from_document(document, kpi_ids=KPI_IDS, source=SOURCE)
    return str(caught.value)


# --- the shipped file ----------------------------------------------------------------------


def test_the_shipped_rules_load_with_the_design_defaults() -> None:
    rules = load_rules(CONFIG_DIR / "alerts.yaml", kpi_ids=KPI_IDS)

    renewal = rules["renewal_rate_low"]
    assert isinstance(renewal, ThresholdRule)
    assert (renewal.kpi, renewal.direction) == ("renewal_rate", ThresholdDirection.BELOW)
    assert renewal.limits() == (
        (AlertSeverity.CRITICAL, Decimal("0.7")),
        (AlertSeverity.WARNING, Decimal("0.8")),
    )
    assert renewal.levels == (Level.BRANCH,)
    assert renewal.hold == timedelta(minutes=10)
    drop = rules["persistency_13m_drop"]
    assert isinstance(drop, DropRule)
    assert (drop.kpi, drop.threshold) == ("persistency_13m", Decimal("0.05"))
    complaints = rules["complaint_rate_high"]
    assert isinstance(complaints, ThresholdRule)
    assert (complaints.direction, complaints.threshold) == (ThresholdDirection.ABOVE, Decimal(5))
    survey = rules["survey_top_box_low"]
    assert isinstance(survey, ThresholdRule)
    assert survey.threshold == Decimal("0.6")
    projection = rules["premium_projection_low"]
    assert isinstance(projection, ProjectionRule)
    assert (projection.threshold, projection.after_months) == (Decimal("0.8"), 6)
    assert projection.levels == (Level.BRANCH, Level.REGION)
    shared = rules["fraud_shared_callback_phone"]
    assert isinstance(shared, FraudRule)
    assert (shared.pattern, shared.min_customers, shared.window) == (
        FraudPattern.SHARED_CALLBACK_PHONE,
        3,
        timedelta(days=30),
    )
    assert shared.severity is AlertSeverity.CRITICAL
    own = rules["fraud_own_phone_callback"]
    assert isinstance(own, FraudRule)
    assert (own.pattern, own.severity) == (FraudPattern.OWN_PHONE_CALLBACK, AlertSeverity.CRITICAL)
    stale = rules["source_stale"]
    assert isinstance(stale, StalenessRule)
    assert (stale.silent_for, stale.severity) == (timedelta(minutes=60), AlertSeverity.WARNING)
    assert rules.runbook_url(renewal) == "docs/runbooks/renewal_rate_low.md"
    assert len(rules.score_rules("renewal_rate")) == 1
    assert len(rules.fraud_rules()) == 2
    assert len(rules.staleness_rules()) == 1


def test_every_shipped_rule_speaks_three_languages(document: dict[str, Any]) -> None:
    for rule in document["rules"]:
        assert set(rule["messages"]) == {"en", "zh", "ja"}, rule["id"]


def test_an_absolute_runbook_url_is_kept_and_a_relative_one_joined() -> None:
    rules = RuleSet.from_document(
        {
            "runbook_base_url": "https://wiki.example/runbooks/",
            "rules": [
                _stale("a", runbook_url="source_stale.md"),
                _stale("b", runbook_url="https://other.example/b"),
            ],
        },
        kpi_ids=KPI_IDS,
    )
    assert rules.runbook_url(rules["a"]) == "https://wiki.example/runbooks/source_stale.md"
    assert rules.runbook_url(rules["b"]) == "https://other.example/b"


def _stale(rule_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "type": "staleness",
        "silent_for": "60m",
        "severity": "warning",
        "runbook_url": "x.md",
        "messages": {"en": "e", "zh": "z", "ja": "j"},
        **extra,
    }


# --- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("30d", timedelta(days=30)),
        ("0m", timedelta(0)),
    ],
)
def test_durations_read_a_whole_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["10", "10 m", "1.5h", "10min", "-5m", "", 10])
def test_other_duration_spellings_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


# --- loader error messages -----------------------------------------------------------------


def test_an_unknown_kpi_is_named_with_a_suggestion(document: dict[str, Any]) -> None:
    changed = deepcopy(document)
    changed["rules"][0]["kpi"] = "renewal_rat"
    assert errors_of(changed) == (
        f"{PREFIX}.kpi: unknown KPI 'renewal_rat' (did you mean 'renewal_rate'?); "
        "use an id defined in kpis.yaml"
    )


def test_an_unknown_rule_type_lists_the_types(document: dict[str, Any]) -> None:
    changed = deepcopy(document)
    changed["rules"][0]["type"] = "treshold"
    assert errors_of(changed) == (
        f"{PREFIX}.type: unknown rule type 'treshold' (did you mean 'threshold'?); "
        "types are threshold, drop, projection, fraud, staleness"
    )


def test_a_missing_rule_type_says_which_to_add(document: dict[str, Any]) -> None:
    changed = deepcopy(document)
    del changed["rules"][0]["type"]
    assert errors_of(changed) == (
        f"{PREFIX}.type: required field is missing; add it, one of threshold, drop, projection, "
        "fraud, staleness"
    )


@pytest.mark.parametrize("hold", ["10 minutes", "10", 10])
def test_a_bad_duration_says_how_to_write_one(document: dict[str, Any], hold: object) -> None:
    changed = deepcopy(document)
    changed["rules"][0]["hold"] = hold
    assert errors_of(changed) == (
        f"{PREFIX}.hold: {hold!r} is not a duration; write a whole number and a unit s, m, h or "
        "d, e.g. 10m or 30d"
    )


def test_a_missing_language_names_it(document: dict[str, Any]) -> None:
    changed = deepcopy(document)
    del changed["rules"][0]["messages"]["ja"]
    assert errors_of(changed) == (
        f"{PREFIX}.messages.ja: messages need en, zh and ja; add ja: the message in Japanese"
    )


def test_a_duplicate_id_points_at_the_first(document: dict[str, Any]) -> None:
    changed = deepcopy(document)
    changed["rules"][1]["id"] = "renewal_rate_low"
    assert errors_of(changed) == (
        f"{SOURCE}: rules[1] (renewal_rate_low).id: rule 'renewal_rate_low' is already defined "
        "at rules[0]; give each rule its own id"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"severity": "urgent"},
            ".severity: unknown severity 'urgent'; severities are info, warning, critical",
        ),
        (
            {"levels": ["branch", "city"]},
            ".levels[1]: unknown level 'city'; levels are company, region, branch, team, agent",
        ),
        (
            {"escalate": {"threshold": 0.9, "severity": "critical"}},
            ".escalate.threshold: must be lower than threshold 0.8",
        ),
        (
            {"escalate": {"threshold": 0.6, "severity": "info"}},
            ".escalate.severity: must be more severe than the rule's severity warning",
        ),
        (
            {"treshold": 0.8},
            ".treshold: unknown field; remove it or correct the spelling "
            "(did you mean 'threshold'?)",
        ),
        ({"id": "Renewal Low"}, None),
    ],
)
def test_field_mistakes_name_the_field_and_the_fix(
    document: dict[str, Any], change: dict[str, Any], expected: str | None
) -> None:
    changed = deepcopy(document)
    changed["rules"][0].update(change)
    if expected is None:  # the id itself is wrong, so the entry is named by the bad id
        expected_line = (
            f"{SOURCE}: rules[0] (Renewal Low).id: 'Renewal Low' is not a rule id; use "
            "lower-case snake_case, e.g. renewal_rate_low"
        )
    else:
        expected_line = PREFIX + expected
    assert errors_of(changed) == expected_line


def test_an_unknown_placeholder_lists_the_known_ones(document: dict[str, Any]) -> None:
    changed = deepcopy(document)
    changed["rules"][0]["messages"]["en"] = "{entity} is at {vale}"
    assert errors_of(changed) == (
        f"{PREFIX}.messages.en: unknown placeholder {{vale}}; placeholders are {{customers}}, "
        "{entity}, {kpi}, {minutes}, {period}, {rule}, {source}, {threshold}, {value}"
    )


def test_a_missing_threshold_shows_an_example(document: dict[str, Any]) -> None:
    changed = deepcopy(document)
    del changed["rules"][0]["threshold"]
    assert errors_of(changed) == (
        f"{PREFIX}.threshold: required field is missing; add it (e.g. threshold: 0.8)"
    )


def test_every_problem_is_reported_at_once(document: dict[str, Any]) -> None:
    changed = deepcopy(document)
    changed["rules"][0]["kpi"] = "nope"
    changed["rules"][7]["silent_for"] = "0m"
    assert errors_of(changed).splitlines() == [
        f"{PREFIX}.kpi: unknown KPI 'nope'; use an id defined in kpis.yaml",
        f"{SOURCE}: rules[7] (source_stale).silent_for: must be longer than 0, e.g. 60m",
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (None, f"{SOURCE}: expected a mapping with a 'rules' list, got nothing"),
        (
            {"rules": []},
            f"{SOURCE}: rules: expected a non-empty list of rules, one '- id: …' entry each",
        ),
    ],
)
def test_a_file_without_rules_is_refused(document: object, expected: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        RuleSet.from_document(document, kpi_ids=KPI_IDS, source=SOURCE)
    assert str(caught.value) == expected


def test_a_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"alerts\.yaml: file not found"):
        load_rules(tmp_path / "alerts.yaml", kpi_ids=KPI_IDS)
