"""Survey fraud patterns: one callback phone shared by three customers, and a callback to the
agent's own phone. Evidence names customers and hashes, never phone numbers."""

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from services.alerts.domain.evaluation import FraudDetector, FraudFinding
from services.alerts.domain.lifecycle import AlertBook
from services.alerts.domain.rules import FraudRule
from shared.config.calendar import CalendarConfig
from shared.events import KpiEvent
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages import AlertSeverity
from tests.support.scoring_events import canonical

CALENDAR: Final = FiscalCalendar(CalendarConfig())
MESSAGES: Final = {"en": "{entity}: {customers}", "zh": "{customers}", "ja": "{customers}"}
SHARED: Final = FraudRule.model_validate(
    {
        "id": "fraud_shared_callback_phone",
        "type": "fraud",
        "pattern": "shared_callback_phone",
        "severity": "critical",
        "runbook_url": "fraud.md",
        "messages": MESSAGES,
    }
)
OWN: Final = FraudRule.model_validate(
    {
        "id": "fraud_own_phone_callback",
        "type": "fraud",
        "pattern": "own_phone_callback",
        "severity": "critical",
        "runbook_url": "fraud.md",
        "messages": MESSAGES,
    }
)
T0: Final = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)


def phone_hash(name: str) -> str:
    return "hmac-sha256:" + hashlib.sha256(name.encode()).hexdigest()


AGENT_PHONE: Final = phone_hash("agent A1")
SHARED_PHONE: Final = phone_hash("shared")


def survey(
    number: int,
    customer: str,
    *,
    callback: str = SHARED_PHONE,
    at: datetime = T0,
    agent: str = "A1",
) -> KpiEvent:
    event = canonical(
        "survey",
        number,
        agent,
        at,
        response_id=f"S{number}",
        policy_id=f"P{number}",
        customer_id=customer,
        score=Decimal(9),
        scale=10,
        channel="phone",
    )
    return event.model_copy(
        update={"callback_phone_hash": callback, "agent_phone_hash": AGENT_PHONE}
    )


def run(detector: FraudDetector, events: list[KpiEvent]) -> list[FraudFinding]:
    return [finding for event in events for finding in detector.observe(event)]


def alerts_of(findings: list[FraudFinding]) -> list[str]:
    """The alerts an AlertBook would publish for these findings, as their messages."""
    book = AlertBook()
    sent = [
        book.observe(
            f.rule, f.entity, kpi=None, period=f.period, breach=f.breach, now=T0 + timedelta(days=1)
        )
        for f in findings
    ]
    return [alert.message for alert in sent if alert is not None]


def test_one_phone_on_surveys_of_three_customers_gives_one_alert_naming_them() -> None:
    detector = FraudDetector([SHARED], CALENDAR)
    findings = run(
        detector,
        [
            survey(1, "A", at=T0),
            survey(2, "B", at=T0 + timedelta(days=10)),
            survey(3, "C", at=T0 + timedelta(days=20)),
        ],
    )

    assert len(findings) == 1
    finding = findings[0]
    assert (finding.entity, finding.period) == ("agent:A1", "2024-03")
    assert finding.breach.severity is AlertSeverity.CRITICAL
    assert finding.breach.value == 3
    assert finding.breach.evidence["customer_ids"] == ["A", "B", "C"]
    assert finding.breach.evidence["callback_phone_hash"] == SHARED_PHONE
    assert alerts_of(findings) == ["agent:A1: A, B, C"]


def test_a_fourth_customer_does_not_send_a_second_alert() -> None:
    detector = FraudDetector([SHARED], CALENDAR)
    findings = run(detector, [survey(n, c) for n, c in enumerate("ABCD", start=1)])
    assert alerts_of(findings) == ["agent:A1: A, B, C"]


def test_two_customers_alone_do_not_fire() -> None:
    detector = FraudDetector([SHARED], CALENDAR)
    assert run(detector, [survey(1, "A"), survey(2, "B")]) == []


def test_one_customers_three_surveys_alone_do_not_fire() -> None:
    detector = FraudDetector([SHARED], CALENDAR)
    assert run(detector, [survey(1, "A"), survey(2, "A"), survey(3, "A")]) == []


def test_a_redelivered_survey_counts_once() -> None:
    detector = FraudDetector([SHARED], CALENDAR)
    assert run(detector, [survey(1, "A"), survey(2, "B"), survey(2, "B")]) == []


def test_customers_beyond_the_window_do_not_count() -> None:
    detector = FraudDetector([SHARED], CALENDAR)
    events = [
        survey(1, "A", at=T0),
        survey(2, "B", at=T0 + timedelta(days=15)),
        survey(3, "C", at=T0 + timedelta(days=30)),  # A is exactly 30 days old: out
    ]
    assert run(detector, events) == []
    inside = FraudDetector([SHARED], CALENDAR)
    events[2] = survey(3, "C", at=T0 + timedelta(days=29, hours=23))
    assert len(run(inside, events)) == 1


def test_different_phones_are_counted_apart() -> None:
    detector = FraudDetector([SHARED], CALENDAR)
    events = [
        survey(1, "A"),
        survey(2, "B"),
        survey(3, "C", callback=phone_hash("another")),
    ]
    assert run(detector, events) == []


def test_the_alert_is_raised_on_every_agent_whose_survey_shares_the_phone() -> None:
    detector = FraudDetector([SHARED], CALENDAR)
    events = [survey(1, "A", agent="A1"), survey(2, "B", agent="A2"), survey(3, "C", agent="A1")]
    assert [f.entity for f in run(detector, events)] == ["agent:A1", "agent:A2"]


def test_a_callback_to_the_agents_own_phone_gives_one_alert() -> None:
    detector = FraudDetector([SHARED, OWN], CALENDAR)
    findings = run(detector, [survey(1, "A", callback=AGENT_PHONE)])

    assert len(findings) == 1
    finding = findings[0]
    assert finding.rule is OWN
    assert finding.entity == "agent:A1"
    assert finding.breach.evidence == {
        "callback_phone_hash": AGENT_PHONE,
        "customer_ids": ["A"],
        "response_ids": ["S1"],
    }
    assert alerts_of(findings) == ["agent:A1: A"]


def test_a_callback_to_another_phone_is_not_own_phone_fraud() -> None:
    detector = FraudDetector([OWN], CALENDAR)
    assert run(detector, [survey(1, "A")]) == []


def test_surveys_without_a_callback_and_other_events_are_ignored() -> None:
    detector = FraudDetector([SHARED, OWN], CALENDAR)
    no_callback = survey(1, "A").model_copy(update={"callback_phone_hash": None})
    assert detector.observe(no_callback) == []
