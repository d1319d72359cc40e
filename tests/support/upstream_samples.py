"""One valid upstream document of each kind the tests send, as the source systems write them
(before ingest's triage). A test varies a copy, `{**POLICY, "agent_id": "A0600"}`, never the
shared document itself.

Agent A0123 and branch B05 are in config/org.yaml; each document occurred on 2024-09-30, 10:00
in Tokyo, the day before A0123 moves from branch B02 to B05.
"""

from typing import Any, Final

from shared.events import SurveyChannel

POLICY: Final[dict[str, Any]] = {
    "event_id": "pol-000001",
    "event_type": "policy",
    "source": "policy-admin",
    "schema_version": 1,
    "occurred_at": "2024-09-30T10:00:00+09:00",
    "agent_id": "A0123",
    "policy_id": "P0000001",
    "customer_id": "C000001",
    "action": "issued",
    "product_line": "auto",
    "premium": "120000",
    "currency": "JPY",
    "channel": "face_to_face",
    "new_business": True,
}
SURVEY: Final[dict[str, Any]] = {
    "event_id": "sur-000001",
    "event_type": "survey",
    "source": "survey-tool",
    "schema_version": 1,
    "occurred_at": "2024-09-30T10:00:00+09:00",
    "agent_id": "A0123",
    "response_id": "S0000001",
    "policy_id": "P0000001",
    "customer_id": "C000001",
    "scale": 10,
    "score": "9",
    "channel": "sms",
}
BRANCH_COMPLAINT: Final[dict[str, Any]] = {
    "event_id": "com-000001",
    "event_type": "complaint",
    "source": "complaint-desk",
    "schema_version": 1,
    "occurred_at": "2024-09-30T10:00:00+09:00",
    "branch_id": "B05",
    "case_id": "K000001",
    "kind": "complaint",
    "action": "opened",
    "category": "billing",
}

# What a survey's channel written as a sales value (the list surveys used before they had their
# own) reads as now: every one still reads, online as web and bank as other.
SURVEY_CHANNEL_OF_SALES_VALUE: Final[dict[str, SurveyChannel]] = {
    "face_to_face": SurveyChannel.FACE_TO_FACE,
    "online": SurveyChannel.WEB,
    "phone": SurveyChannel.PHONE,
    "mail": SurveyChannel.MAIL,
    "bank": SurveyChannel.OTHER,
    "other": SurveyChannel.OTHER,
}
