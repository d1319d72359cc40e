"""Scoring's hot-path encoding of a score update gives exactly the bytes of the contract model:
a consumer cannot tell which one wrote a message."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.messages.definitions import DefinitionsFields
from shared.messages.score import Score, ScoreFields, encode_score

decimals = st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=None)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC) | offsets
)
names = st.text(min_size=1, max_size=30)
versions = st.none() | st.builds(
    DefinitionsFields,
    hash=st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
    label=st.none() | st.text(min_size=1, max_size=80),
)


@given(
    entity=names,
    period=names,
    kpi=names,
    value=decimals,
    numerator=decimals,
    denominator=decimals,
    target=decimals,
    attained=decimals,
    revision=st.integers(min_value=1, max_value=10_000),
    as_of=moments,
    definitions=versions,
    previous=versions,
)
def test_the_fast_encoding_is_the_models_json_byte_for_byte(
    entity: str,
    period: str,
    kpi: str,
    value: Decimal | None,
    numerator: Decimal | None,
    denominator: Decimal | None,
    target: Decimal | None,
    attained: Decimal | None,
    revision: int,
    as_of: datetime,
    definitions: DefinitionsFields | None,
    previous: DefinitionsFields | None,
) -> None:
    fields = ScoreFields(
        schema_version=1,
        score_id=Score.make_id(
            entity, period, kpi, numerator=numerator, denominator=denominator, revision=revision
        ),
        entity=entity,
        period=period,
        kpi=kpi,
        value=value,
        numerator=numerator,
        denominator=denominator,
        target=target,
        attainment=attained,
        revision=revision,
        as_of=as_of,
        definitions=definitions,
        # A republication for a change of definitions names both (`revision_reason`).
        revision_reason=None if previous is None else "definition_change",
        previous_definitions=previous,
    )

    encoded = encode_score(fields)

    model = Score.model_validate(fields)
    assert encoded == model.model_dump_json().encode()
    assert Score.model_validate_json(encoded) == model
