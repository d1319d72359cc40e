"""Which scores are republished after a change of definitions (definition_change.py)."""

from datetime import UTC, datetime
from decimal import Decimal

from services.scoring.definition_change import revisions
from shared.messages.definitions import DefinitionsFields
from shared.messages.score import Score, ScoreFields, encode_score

OLD = DefinitionsFields(hash="0123456789abcdef", label="FY2024")
NEW = DefinitionsFields(hash="fedcba9876543210", label="FY2024 restated")
AS_OF = datetime(2025, 3, 31, tzinfo=UTC)


def _score(
    kpi: str, numerator: int, target: str = "0.7", definitions: DefinitionsFields = NEW
) -> ScoreFields:
    value = Decimal(numerator) / 10
    return ScoreFields(
        schema_version=1,
        score_id=Score.make_id(
            "branch:B01", "2024-05", kpi, numerator=Decimal(numerator), denominator=Decimal(10),
            revision=1,
        ),
        entity="branch:B01",
        period="2024-05",
        kpi=kpi,
        value=value,
        numerator=Decimal(numerator),
        denominator=Decimal(10),
        target=Decimal(target),
        attainment=None,
        revision=1,
        as_of=AS_OF,
        definitions=definitions,
        revision_reason=None,
        previous_definitions=None,
    )  # fmt: skip


def test_changed_and_new_scores_are_revisions_naming_both_versions() -> None:
    before = [
        _score("survey_top_box", 6, definitions=OLD),
        _score("nps", 3, definitions=OLD),
        _score("renewal_rate", 9, definitions=OLD),
    ]
    after = [
        _score("survey_top_box", 8),  # the top box moved from 9 to 8: more answers in it
        _score("nps", 3),  # unchanged figures: a new version alone is no revision
        _score("renewal_rate", 9, target="0.95"),  # a restated target
        _score("survey_top2_share", 9),  # a new KPI
    ]
    found = revisions(before, after, OLD)
    assert [f["kpi"] for f in found] == ["survey_top_box", "renewal_rate", "survey_top2_share"]
    for fields in found:
        assert fields["revision_reason"] == "definition_change"
        assert (fields["definitions"], fields["previous_definitions"]) == (NEW, OLD)
        score = Score.model_validate_json(encode_score(fields))
        assert score.previous_definitions is not None
        assert score.previous_definitions.hash == OLD["hash"]
    # Same figures but the target: a consumer dropping copies by id must not drop it.
    restated = found[1]
    assert restated["score_id"] != after[2]["score_id"]
    assert restated["score_id"] == revisions(before, after, OLD)[1]["score_id"]  # deterministic


def test_nothing_changed_nothing_republished() -> None:
    same = [_score("survey_top_box", 6)]
    assert revisions(same, same, OLD) == []
