"""Triage of one upstream record (DESIGN §2, §3, §9): a canonical event, or a dead letter with
one precise reason and the original bytes."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.normalise import CodeBook, load_codebook
from services.ingest.org_directory import OrgDirectory
from services.ingest.triage import Accepted, Outcome, Record, Rejected, Triage
from shared import topics
from shared.config import CalendarConfig, load_calendar
from shared.events import (
    MAX_MESSAGE_BYTES,
    EventOrg,
    KpiEvent,
    RejectReason,
    RenewalEvent,
    SurveyEvent,
)
from shared.messages import DeadLetter
from tests.support.unit_triage import CONFIG, HASHER, make_triage
from tests.support.upstream_samples import BRANCH_COMPLAINT, POLICY, SURVEY

RECEIVED: Final = datetime(2024, 10, 2, 9, 0, tzinfo=UTC)
JST: Final = timezone(timedelta(hours=9))


@pytest.fixture(scope="module")
def codebook() -> CodeBook:
    return load_codebook(CONFIG / "codes.yaml")


@pytest.fixture(scope="module")
def calendar() -> CalendarConfig:
    return load_calendar(CONFIG / "calendar.yaml")


@pytest.fixture(scope="module")
def org() -> OrgDirectory:
    # Shared: triage only reads the directory.
    return OrgDirectory.from_file(CONFIG / "org.yaml")


@pytest.fixture
def triage(codebook: CodeBook, org: OrgDirectory, calendar: CalendarConfig) -> Triage:
    return make_triage(codebook=codebook, org=org, calendar=calendar)


def raw(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def run(
    triage: Triage,
    value: bytes,
    topic: str = topics.POLICY,
    received_at: datetime = RECEIVED,
) -> Outcome:
    return triage(Record(topic, 3, 1042, value, timestamp_ms=1_727_859_600_000), received_at)


def accepted(triage: Triage, value: bytes, topic: str = topics.POLICY) -> KpiEvent:
    outcome = run(triage, value, topic)
    assert isinstance(outcome, Accepted), outcome
    return outcome.event


def rejected(triage: Triage, value: bytes, topic: str = topics.POLICY) -> DeadLetter:
    """The dead letter of a rejected record, after checking it points back at the record and
    keeps its bytes exactly (every input passed here is free of phone numbers)."""
    outcome = run(triage, value, topic)
    assert isinstance(outcome, Rejected), outcome
    dead = outcome.dead_letter
    assert base64.b64decode(dead.payload_base64, validate=True) == value
    assert (dead.source_topic, dead.partition, dead.offset) == (topic, 3, 1042)
    assert dead.received_at == RECEIVED
    return dead


# -- one precise case per reason -------------------------------------------------------------


class TestMalformedJson:
    def test_broken_json(self, triage: Triage) -> None:
        dead = rejected(triage, b'{"event_id": "pol-1",')

        assert dead.reason is RejectReason.MALFORMED_JSON
        assert dead.detail == (
            "not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 22 (char 21)"
        )

    def test_bytes_that_are_not_utf8(self, triage: Triage) -> None:
        dead = rejected(triage, b'{"event_type": "\xff"}')

        assert dead.reason is RejectReason.MALFORMED_JSON
        assert dead.detail == "not UTF-8: invalid byte at position 16"

    def test_json_that_is_not_an_object(self, triage: Triage) -> None:
        dead = rejected(triage, b"[1, 2]")

        assert dead.reason is RejectReason.MALFORMED_JSON
        assert dead.detail == "an event is a JSON object; got a JSON array"


def test_unknown_event_type(triage: Triage) -> None:
    dead = rejected(triage, raw({**POLICY, "event_type": "claim"}))

    assert dead.reason is RejectReason.UNKNOWN_EVENT_TYPE
    assert dead.detail == (
        "event_type 'claim' is not one of policy, renewal, complaint, survey, assessment, training"
    )


class TestSchemaViolation:
    def test_a_missing_field(self, triage: Triage) -> None:
        document = {k: v for k, v in POLICY.items() if k != "policy_id"}

        dead = rejected(triage, raw(document))

        assert dead.reason is RejectReason.SCHEMA_VIOLATION
        assert dead.detail == "policy_id: field required"

    def test_a_code_no_alias_stands_for(self, triage: Triage) -> None:
        dead = rejected(triage, raw({**POLICY, "channel": "fax"}))

        assert dead.reason is RejectReason.SCHEMA_VIOLATION
        assert dead.detail == (
            "channel: 'fax' is not one of 'face_to_face', 'online', 'phone', 'mail', 'bank' "
            "or 'other'"
        )

    def test_an_event_on_the_wrong_topic(self, triage: Triage) -> None:
        dead = rejected(triage, raw(POLICY), topic=topics.SURVEY)

        assert dead.reason is RejectReason.SCHEMA_VIOLATION
        assert dead.detail == (
            "event_type: 'policy' events belong on insurance.policy.v1, not on insurance.survey.v1"
        )

    def test_an_invalid_phone_is_named_but_not_repeated(self, triage: Triage) -> None:
        value = raw({**SURVEY, "callback_phone": "call 090-1234-5678"})

        outcome = run(triage, value, topics.SURVEY)

        assert isinstance(outcome, Rejected)
        dead = outcome.dead_letter
        assert dead.reason is RejectReason.SCHEMA_VIOLATION
        assert dead.detail.startswith("callback_phone: <phone number withheld> does not match")
        # Phone numbers are never stored raw (DESIGN §3): not in the detail, not in the payload.
        for text in (dead.detail.encode(), dead.payload):
            assert b"1234-5678" not in text
        assert json.loads(dead.payload)["response_id"] == SURVEY["response_id"]


def test_naive_timestamp(triage: Triage) -> None:
    dead = rejected(triage, raw({**POLICY, "occurred_at": "2024-09-30T10:00:00"}))

    assert dead.reason is RejectReason.NAIVE_TIMESTAMP
    assert dead.detail == (
        "occurred_at: timestamp '2024-09-30T10:00:00' has no UTC offset; "
        "send ISO 8601 with an offset, e.g. 2024-04-01T09:30:00+09:00"
    )


class TestOutOfRange:
    def test_a_negative_premium(self, triage: Triage) -> None:
        dead = rejected(triage, raw({**POLICY, "premium": "-1"}))

        assert dead.reason is RejectReason.OUT_OF_RANGE
        assert dead.detail == "premium: must be ≥ 0 (got '-1')"

    def test_a_score_outside_its_scale(self, triage: Triage) -> None:
        dead = rejected(triage, raw({**SURVEY, "scale": 5, "score": "7"}), topics.SURVEY)

        assert dead.reason is RejectReason.OUT_OF_RANGE
        assert dead.detail == "score: 7 is outside the 1–5 range of scale 5"

    def test_an_event_from_more_than_a_day_in_the_future(self, triage: Triage) -> None:
        dead = rejected(triage, raw({**POLICY, "occurred_at": "2024-10-03T18:00:01+09:00"}))

        assert dead.reason is RejectReason.OUT_OF_RANGE
        assert dead.detail == (
            "occurred_at: 2024-10-03T18:00:01+09:00 is later than the time it was received "
            "(2024-10-02T09:00:00+00:00) by more than 1 day, 0:00:00"
        )


class TestUnknownEntity:
    def test_an_agent_not_in_the_organisation(self, triage: Triage) -> None:
        dead = rejected(triage, raw({**POLICY, "agent_id": "A9999"}))

        assert dead.reason is RejectReason.UNKNOWN_ENTITY
        assert dead.detail == (
            "agent_id: 'A9999' is not an agent of the organisation (org.yaml and kpi.org.v1)"
        )

    def test_an_agent_before_their_first_assignment(self, triage: Triage) -> None:
        # A0600 joins T22 on 2023-04-01.
        dead = rejected(
            triage, raw({**POLICY, "agent_id": "A0600", "occurred_at": "2023-03-31T23:59:59+09:00"})
        )

        assert dead.reason is RejectReason.UNKNOWN_ENTITY
        assert dead.detail == (
            "agent_id: 'A0600' has no team assignment on 2023-03-31 (org.yaml and kpi.org.v1)"
        )

    def test_the_first_day_of_the_assignment_is_known(self, triage: Triage) -> None:
        event = accepted(
            triage, raw({**POLICY, "agent_id": "A0600", "occurred_at": "2023-04-01T00:00:00+09:00"})
        )

        assert event.org.branch == "B07"

    def test_a_branch_not_in_the_organisation(self, triage: Triage) -> None:
        dead = rejected(triage, raw({**BRANCH_COMPLAINT, "branch_id": "B99"}), topics.COMPLAINT)

        assert dead.reason is RejectReason.UNKNOWN_ENTITY
        assert dead.detail == (
            "branch_id: 'B99' is not a branch of the organisation (org.yaml and kpi.org.v1)"
        )


class TestTooLarge:
    def test_one_byte_over_the_limit(self, triage: Triage) -> None:
        value = raw(POLICY)
        value += b" " * (MAX_MESSAGE_BYTES + 1 - len(value))

        dead = rejected(triage, value)

        assert dead.reason is RejectReason.TOO_LARGE
        assert dead.detail == "message is 65,537 bytes; the limit is 65,536"

    def test_exactly_the_limit_is_accepted(self, triage: Triage) -> None:
        value = raw(POLICY)
        value += b" " * (MAX_MESSAGE_BYTES - len(value))

        assert accepted(triage, value).key == "policy-admin:pol-000001"


class TestNoLatenessAtIngest:
    """Lateness is scoring's to judge, against the event's own channel (shared/watermarks.py):
    ingest accepts an old event after a newer one, whatever their order."""

    def test_an_event_of_a_month_closed_long_ago_is_accepted(self, triage: Triage) -> None:
        accepted(triage, raw({**POLICY, "event_id": "pol-now"}))  # Sep 30th

        event = accepted(
            triage,
            raw({**POLICY, "event_id": "pol-old", "occurred_at": "2023-08-20T10:00:00+09:00"}),
        )

        assert event.event.event_id == "pol-old"


# -- what an accepted event carries ----------------------------------------------------------


class TestAcceptedEvent:
    def test_time_in_utc_with_the_original_offset_kept(self, triage: Triage) -> None:
        event = accepted(triage, raw({**POLICY, "occurred_at": "2024-09-30T23:59:00+09:00"}))

        assert event.event.occurred_at == datetime(2024, 9, 30, 14, 59, tzinfo=UTC)
        assert event.event.occurred_at.utcoffset() == timedelta(0)
        assert event.occurred_at_offset == "+09:00"
        assert event.occurred_at_local.isoformat() == "2024-09-30T23:59:00+09:00"

    def test_a_negative_offset_is_kept_as_written(self, triage: Triage) -> None:
        event = accepted(triage, raw({**POLICY, "occurred_at": "2024-09-29T21:30:00-05:00"}))

        assert event.event.occurred_at == datetime(2024, 9, 30, 2, 30, tzinfo=UTC)
        assert event.occurred_at_offset == "-05:00"

    def test_where_and_when_it_was_read(self, triage: Triage) -> None:
        event = accepted(triage, raw(POLICY))

        assert event.key == "policy-admin:pol-000001"
        assert (event.source_topic, event.source_partition, event.source_offset) == (
            topics.POLICY,
            3,
            1042,
        )
        assert event.received_at == RECEIVED

    def test_money_stays_exact(self, triage: Triage) -> None:
        value = b'{"premium": 12345678901234.5678, ' + raw(POLICY)[1:].replace(
            b'"premium": "120000", ', b""
        )

        event = accepted(triage, value)

        assert event.event.premium == Decimal("12345678901234.5678")  # type: ignore[union-attr]

    def test_phones_are_hashed_and_no_raw_number_is_left(self, triage: Triage) -> None:
        document = {**SURVEY, "callback_phone": "090-1234-5678", "agent_phone": "+81 90 0000 0123"}

        event = accepted(triage, raw(document), topics.SURVEY)

        assert event.callback_phone_hash == HASHER.hash("+81-90-1234-5678")
        assert event.agent_phone_hash == HASHER.hash("090-0000-0123")
        assert isinstance(event.event, SurveyEvent)
        assert event.event.callback_phone is None
        assert event.event.agent_phone is None
        published = event.model_dump_json()
        for digits in ("1234-5678", "12345678", "1234 5678", "0000 0123", "900000123"):
            assert digits not in published

    def test_a_survey_without_phones_has_no_callback_hash_and_the_rosters_agent_hash(
        self, triage: Triage
    ) -> None:
        event = accepted(triage, raw(SURVEY), topics.SURVEY)
        roster = triage._org.chart.assignments(event.event.agent_id or "")[-1].phone

        assert event.callback_phone_hash is None
        # No agent_phone on the survey: the agent's own number comes from the roster.
        assert event.agent_phone_hash == triage._hasher.hash(roster)

    def test_a_branch_event_carries_the_branch_path(self, triage: Triage) -> None:
        event = accepted(triage, raw(BRANCH_COMPLAINT), topics.COMPLAINT)

        assert event.org == EventOrg(company="ACME", region="R1", branch="B05")


class TestOrgPathAtTheLocalDate:
    @pytest.mark.parametrize(
        ("occurred_at", "branch", "team"),
        [
            ("2024-09-30T23:59:00+09:00", "B02", "T05"),
            ("2024-10-01T00:00:00+09:00", "B05", "T14"),
            # The calendar's local date (Tokyo), not the UTC date nor the sender's offset:
            ("2024-09-30T14:59:59Z", "B02", "T05"),
            ("2024-09-30T15:00:00Z", "B05", "T14"),
            ("2024-09-30T10:00:00-05:00", "B05", "T14"),
        ],
    )
    def test_a0123_before_and_after_the_move(
        self, triage: Triage, occurred_at: str, branch: str, team: str
    ) -> None:
        event = accepted(triage, raw({**POLICY, "occurred_at": occurred_at}))

        assert event.org == EventOrg(
            company="ACME", region="R1", branch=branch, team=team, agent="A0123"
        )


class TestCodesInThreeLanguages:
    @pytest.mark.parametrize(
        ("field", "written", "canonical"),
        [
            ("action", "新契約", "issued"),
            ("action", "承保", "issued"),
            ("action", "New Business", "issued"),
            ("channel", "対面", "face_to_face"),
            ("channel", "面对面", "face_to_face"),
            ("channel", "ＦＡＣＥ－ＴＯ－ＦＡＣＥ", "face_to_face"),
            ("product_line", "自動車保険", "auto"),
            ("product_line", "车险", "auto"),
            ("product_line", " motor ", "auto"),
        ],
    )
    def test_an_alias_becomes_the_canonical_code(
        self, triage: Triage, field: str, written: str, canonical: str
    ) -> None:
        event = accepted(triage, raw({**POLICY, field: written}))

        assert getattr(event.event, field) == canonical

    def test_complaint_codes(self, triage: Triage) -> None:
        document = {**BRANCH_COMPLAINT, "kind": "投诉", "action": "受付", "category": "接客態度"}

        event = accepted(triage, raw(document), topics.COMPLAINT)

        assert event.event.model_dump(include={"kind", "action", "category"}) == {
            "kind": "complaint",
            "action": "opened",
            "category": "staff_attitude",
        }


# -- never an exception for bad data ---------------------------------------------------------

# Keys never end in "phone": payloads without a phone number are kept byte for byte.
JSON_VALUES: Final = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "id", "値"]), inner, max_size=3)
    ),
    max_leaves=8,
)
NO_DIGITS: Final = bytes(range(ord("0"), ord("9") + 1))


def fresh_triage(codebook: CodeBook, org: OrgDirectory, calendar: CalendarConfig) -> Triage:
    return make_triage(codebook=codebook, org=org, calendar=calendar)


@given(value=st.binary(max_size=256))
def test_any_bytes_give_a_dead_letter_and_never_an_exception(
    codebook: CodeBook, org: OrgDirectory, calendar: CalendarConfig, value: bytes
) -> None:
    outcome = fresh_triage(codebook, org, calendar)(Record(topics.POLICY, 0, 0, value), RECEIVED)

    assert isinstance(outcome, Rejected)
    assert outcome.dead_letter.reason in {
        RejectReason.MALFORMED_JSON,
        RejectReason.UNKNOWN_EVENT_TYPE,
        RejectReason.SCHEMA_VIOLATION,
        RejectReason.EMPTY_VALUE,
    }


@given(value=st.binary(max_size=256).map(lambda b: b.translate(None, NO_DIGITS)))
def test_a_dead_letter_keeps_bytes_without_a_phone_number_exactly(
    codebook: CodeBook, org: OrgDirectory, calendar: CalendarConfig, value: bytes
) -> None:
    outcome = fresh_triage(codebook, org, calendar)(Record(topics.POLICY, 0, 0, value), RECEIVED)

    assert isinstance(outcome, Rejected)
    assert outcome.dead_letter.payload == value


@given(field=st.sampled_from(sorted(SURVEY)), value=JSON_VALUES)
def test_a_survey_with_any_field_replaced_gives_one_outcome(
    codebook: CodeBook, org: OrgDirectory, calendar: CalendarConfig, field: str, value: object
) -> None:
    document = {**SURVEY, field: value}
    message = raw(document)

    outcome = fresh_triage(codebook, org, calendar)(Record(topics.SURVEY, 0, 0, message), RECEIVED)

    if isinstance(outcome, Rejected):
        assert outcome.dead_letter.payload == message
        assert outcome.dead_letter.detail
    else:
        assert outcome.event.key == f"survey-tool:{document['event_id']}"


@given(field=st.sampled_from(sorted(SURVEY)), value=JSON_VALUES)
def test_a_callback_phone_never_leaves_triage_raw(
    codebook: CodeBook, org: OrgDirectory, calendar: CalendarConfig, field: str, value: object
) -> None:
    message = raw({**SURVEY, "callback_phone": "090-1234-5678", field: value})

    outcome = fresh_triage(codebook, org, calendar)(Record(topics.SURVEY, 0, 0, message), RECEIVED)

    published = (
        outcome.dead_letter.model_dump_json()
        if isinstance(outcome, Rejected)
        else outcome.event.model_dump_json()
    )
    assert "1234-5678" not in published
    if isinstance(outcome, Rejected):
        assert b"1234-5678" not in outcome.dead_letter.payload


def nested(depth: int, opening: bytes, innermost: bytes, closing: bytes) -> bytes:
    return opening * depth + innermost + closing * depth


@pytest.mark.parametrize("depth", [500, 5_000])
def test_deeply_nested_json_is_a_dead_letter_not_an_exception(triage: Triage, depth: int) -> None:
    value = nested(depth, b"[", b"", b"]")

    dead = rejected(triage, value)

    assert dead.reason is RejectReason.MALFORMED_JSON


@pytest.mark.parametrize("depth", [500, 5_000])
def test_a_deeply_nested_field_is_a_dead_letter_not_an_exception(
    triage: Triage, depth: int
) -> None:
    value = raw(POLICY)[:-1] + b', "notes": ' + nested(depth, b'{"a": ', b"1", b"}") + b"}"

    outcome = run(triage, value)

    assert isinstance(outcome, Rejected)
    assert outcome.dead_letter.reason in {
        RejectReason.SCHEMA_VIOLATION,
        RejectReason.MALFORMED_JSON,
    }


@pytest.mark.parametrize("depth", [500, 5_000])
def test_a_deeply_nested_phone_is_not_kept_raw(triage: Triage, depth: int) -> None:
    value = nested(depth, b'{"agent_phone": ', b'"090-1234-5678"', b"}")

    outcome = run(triage, value)

    assert isinstance(outcome, Rejected)
    assert b"1234-5678" not in outcome.dead_letter.payload


def test_a_renewal_without_currency_takes_the_company_currency(triage: Triage) -> None:
    document = {
        "event_id": "r-cur-1",
        "event_type": "renewal",
        "schema_version": 1,
        "occurred_at": "2024-09-10T10:00:00+09:00",
        "source": "renewal-desk",
        "agent_id": "A0001",
        "renewal_id": "R-1",
        "policy_id": "P-1",
        "action": "due",
        "due_date": "2024-10-01",
        "premium": "1000",
        "channel": "phone",
    }
    event = accepted(triage, raw(document), topics.RENEWAL).event
    assert isinstance(event, RenewalEvent)
    assert event.currency == "JPY"
