"""The survey's own channel list (DESIGN §3): how the survey reached the customer, not how the
policy was sold; the sales values surveys took before still read."""

from datetime import UTC, datetime
from typing import Any, Final

import pytest

from shared.events import (
    Channel,
    ContractViolation,
    KpiEvent,
    PolicyEvent,
    RejectReason,
    RenewalEvent,
    SurveyChannel,
    SurveyEvent,
    validate_document,
)
from tests.support.upstream_samples import POLICY, SURVEY, SURVEY_CHANNEL_OF_SALES_VALUE

RENEWAL: Final[dict[str, Any]] = {
    "event_id": "ren-0001",
    "event_type": "renewal",
    "source": "renewal-desk",
    "schema_version": 1,
    "occurred_at": "2024-04-01T09:30:00+09:00",
    "agent_id": "A001",
    "renewal_id": "R0001",
    "policy_id": "P0001",
    "action": "due",
    "due_date": "2024-05-31",
    "premium": "82000",
    "channel": "phone",
}
SALES_VALUES: Final = "'face_to_face', 'online', 'phone', 'mail', 'bank' or 'other'"
SURVEY_VALUES: Final = (
    "'sms', 'email', 'web', 'app', 'phone', 'face_to_face', 'mail', 'paper' or 'other'"
)


def survey(channel: object) -> SurveyEvent:
    event = validate_document({**SURVEY, "channel": channel})
    assert isinstance(event, SurveyEvent)
    return event


def violation(document: dict[str, Any]) -> ContractViolation:
    with pytest.raises(ContractViolation) as caught:
        validate_document(document)
    return caught.value


def test_the_survey_channel_values_are_those_of_the_design() -> None:
    assert [member.value for member in SurveyChannel] == [
        "sms",
        "email",
        "web",
        "app",
        "phone",
        "face_to_face",
        "mail",
        "paper",
        "other",
    ]
    # The sales list is unchanged: policies and renewals keep it.
    assert [member.value for member in Channel] == [
        "face_to_face",
        "online",
        "phone",
        "mail",
        "bank",
        "other",
    ]


@pytest.mark.parametrize("channel", [member.value for member in SurveyChannel])
def test_a_survey_takes_every_survey_channel(channel: str) -> None:
    assert survey(channel).channel is SurveyChannel(channel)


@pytest.mark.parametrize(
    ("sales_value", "read_as"),
    SURVEY_CHANNEL_OF_SALES_VALUE.items(),
)
def test_every_sales_value_a_survey_took_before_still_reads(
    sales_value: str, read_as: SurveyChannel
) -> None:
    assert survey(sales_value).channel is read_as


@pytest.mark.parametrize("channel", ["fax", "SMS", "Online", "e-mail", "", 3])
def test_anything_else_is_a_schema_violation_naming_the_survey_values(channel: object) -> None:
    caught = violation({**SURVEY, "channel": channel})

    assert caught.reason is RejectReason.SCHEMA_VIOLATION
    assert caught.detail == f"channel: {channel!r} is not one of {SURVEY_VALUES}"


@pytest.mark.parametrize(
    ("document", "channel"),
    [
        (POLICY, "sms"),
        (POLICY, "email"),
        (POLICY, "web"),
        (RENEWAL, "sms"),
        (RENEWAL, "paper"),
    ],
)
def test_policies_and_renewals_keep_the_sales_channel(
    document: dict[str, Any], channel: str
) -> None:
    caught = violation({**document, "channel": channel})

    assert caught.reason is RejectReason.SCHEMA_VIOLATION
    assert caught.detail == f"channel: {channel!r} is not one of {SALES_VALUES}"


def test_online_and_bank_stay_sales_values_for_policies_and_renewals() -> None:
    policy = validate_document({**POLICY, "channel": "online"})
    renewal = validate_document({**RENEWAL, "channel": "bank"})

    assert isinstance(policy, PolicyEvent)
    assert isinstance(renewal, RenewalEvent)
    assert (policy.channel, renewal.channel) == (Channel.ONLINE, Channel.BANK)


def _canonical_json(channel: str) -> str:
    event = {**SURVEY, "occurred_at": "2024-04-01T00:30:00+00:00", "channel": channel}
    return KpiEvent.model_validate(
        {
            "key": f"survey-tool:{SURVEY['event_id']}",
            "event": event,
            "occurred_at_offset": "+09:00",
            "org": {
                "company": "ACME",
                "region": "R1",
                "branch": "B01",
                "team": "T01",
                "agent": SURVEY["agent_id"],
            },
            "received_at": datetime(2024, 4, 1, 0, 31, tzinfo=UTC),
            "source_topic": "insurance.survey.v1",
            "source_partition": 0,
            "source_offset": 7,
        }
    ).model_dump_json()


def test_a_canonical_survey_writes_its_survey_channel() -> None:
    text = _canonical_json("sms")

    event = KpiEvent.model_validate_json(text).event

    assert '"channel":"sms"' in text
    assert isinstance(event, SurveyEvent)
    assert event.channel is SurveyChannel.SMS


def test_a_canonical_survey_written_before_the_survey_list_still_reads() -> None:
    # kpi.events.v1 and the alerts store hold surveys published with channel 'online'.
    old = _canonical_json("web").replace('"channel":"web"', '"channel":"online"')

    event = KpiEvent.model_validate_json(old).event

    assert isinstance(event, SurveyEvent)
    assert event.channel is SurveyChannel.WEB


def test_the_schema_accepts_what_it_accepted_before_and_marks_it_deprecated() -> None:
    channel = SurveyEvent.model_json_schema(mode="validation")["properties"]["channel"]
    current, deprecated = channel["anyOf"]

    assert current["enum"] == [member.value for member in SurveyChannel]
    assert deprecated["enum"] == ["online", "bank"]
    assert deprecated["deprecated"] is True
    assert "'online' is read as 'web'" in deprecated["description"]
    # Every value a survey's channel took before is in one of the two.
    assert {member.value for member in Channel} <= {*current["enum"], *deprecated["enum"]}


def test_the_policy_schema_keeps_the_sales_channel() -> None:
    schema = PolicyEvent.model_json_schema(mode="validation")

    assert schema["properties"]["channel"] == {"$ref": "#/$defs/Channel"}
    assert schema["$defs"]["Channel"]["enum"] == [member.value for member in Channel]
