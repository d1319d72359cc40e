"""The six v1 upstream events of DESIGN §3, as frozen, versioned models."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from .base import UpstreamEvent
from .fields import (
    Channel,
    Code,
    Currency,
    DateOrTimestamp,
    Identifier,
    Money,
    PeriodName,
    Phone,
    SurveyChannelField,
)


class PolicyAction(StrEnum):
    ISSUED = "issued"
    RENEWED = "renewed"
    LAPSED = "lapsed"
    SURRENDERED = "surrendered"
    REINSTATED = "reinstated"
    CANCELLED = "cancelled"


# Actions that end or restore a policy need the original issue date for cohort KPIs.
ACTIONS_NEEDING_ISSUE_DATE = frozenset(
    {PolicyAction.LAPSED, PolicyAction.SURRENDERED, PolicyAction.CANCELLED, PolicyAction.REINSTATED}
)


class RenewalAction(StrEnum):
    DUE = "due"
    CONTACTED = "contacted"
    RENEWED = "renewed"
    LOST = "lost"


class ComplaintKind(StrEnum):
    COMPLAINT = "complaint"
    COMPLIMENT = "compliment"
    REQUEST = "request"


class ComplaintAction(StrEnum):
    OPENED = "opened"
    RESOLVED = "resolved"
    ESCALATED_TO_REGULATOR = "escalated_to_regulator"


SurveyScale = Literal[5, 10, 100]
SCALE_RANGES: dict[int, tuple[Decimal, Decimal]] = {
    10: (Decimal(0), Decimal(10)),
    5: (Decimal(1), Decimal(5)),
    100: (Decimal(0), Decimal(100)),
}


class PolicyEvent(UpstreamEvent):
    """A policy was issued, renewed, lapsed, surrendered, reinstated or cancelled."""

    event_type: Literal["policy"]
    policy_id: Identifier
    customer_id: Identifier
    action: PolicyAction
    product_line: Code
    premium: Money
    currency: Currency
    channel: Channel
    new_business: StrictBool = False
    referral: StrictBool = False
    issued_at: DateOrTimestamp | None = None

    @model_validator(mode="after")
    def _issue_date_for_terminations(self) -> Self:
        if self.action in ACTIONS_NEEDING_ISSUE_DATE and self.issued_at is None:
            raise PydanticCustomError(
                "missing_issue_date",
                "issued_at: required for action '{action}' (the policy's original issue date)",
                {"action": self.action.value},
            )
        return self


class RenewalEvent(UpstreamEvent):
    """A renewal fell due, was contacted, renewed or lost; counted by its due date."""

    event_type: Literal["renewal"]
    renewal_id: Identifier
    policy_id: Identifier
    action: RenewalAction
    due_date: DateOrTimestamp
    premium: Money
    currency: Currency | None = None
    channel: Channel


class ComplaintEvent(UpstreamEvent):
    """A complaint, compliment or request case was opened, resolved or escalated."""

    event_type: Literal["complaint"]
    case_id: Identifier
    kind: ComplaintKind
    action: ComplaintAction
    category: Code
    policy_id: Identifier | None = None


class SurveyEvent(UpstreamEvent):
    """A customer answered a satisfaction survey on a 0–10, 1–5 or 0–100 scale."""

    event_type: Literal["survey"]
    response_id: Identifier
    policy_id: Identifier
    customer_id: Identifier
    scale: SurveyScale
    score: Annotated[Decimal, Field(allow_inf_nan=False, max_digits=6, decimal_places=2)]
    channel: SurveyChannelField
    callback_phone: Phone | None = None
    agent_phone: Phone | None = None

    @model_validator(mode="after")
    def _score_within_scale(self) -> Self:
        low, high = SCALE_RANGES[self.scale]
        if not low <= self.score <= high:
            raise PydanticCustomError(
                "out_of_range",
                "score: {score} is outside the {low}–{high} range of scale {scale}",
                {"score": str(self.score), "low": str(low), "high": str(high), "scale": self.scale},
            )
        return self


class AssessmentEvent(UpstreamEvent):
    """A manager's qualitative score (0–100) for an agent or branch and a period."""

    event_type: Literal["assessment"]
    assessment_id: Identifier
    period: PeriodName
    score: Annotated[
        Decimal, Field(ge=0, le=100, allow_inf_nan=False, max_digits=5, decimal_places=2)
    ]
    assessor_id: Identifier | None = None


class TrainingEvent(UpstreamEvent):
    """An agent attended a training session."""

    event_type: Literal["training"]
    session_id: Identifier
    course: Code
    hours: Annotated[
        Decimal, Field(gt=0, le=24, allow_inf_nan=False, max_digits=4, decimal_places=2)
    ]


AnyUpstreamEvent = Annotated[
    PolicyEvent | RenewalEvent | ComplaintEvent | SurveyEvent | AssessmentEvent | TrainingEvent,
    Field(discriminator="event_type"),
]

MODELS_BY_EVENT_TYPE: dict[str, type[UpstreamEvent]] = {
    "policy": PolicyEvent,
    "renewal": RenewalEvent,
    "complaint": ComplaintEvent,
    "survey": SurveyEvent,
    "assessment": AssessmentEvent,
    "training": TrainingEvent,
}
