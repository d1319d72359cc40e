"""Threshold, drop and projection rules on scores, and staleness per source, at their
boundaries: a value exactly at a limit does not fire."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import pytest

from services.alerts.domain.evaluation import (
    Breach,
    StalenessTracker,
    drop,
    projection,
    staleness,
    threshold,
)
from services.alerts.domain.rules import DropRule, ProjectionRule, StalenessRule, ThresholdRule
from shared.config.calendar import CalendarConfig
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages import AlertSeverity, Score

MESSAGES: Final = {"en": "{entity} {value}", "zh": "{entity} {value}", "ja": "{entity} {value}"}
AS_OF: Final = datetime(2024, 3, 15, tzinfo=UTC)
CALENDAR: Final = FiscalCalendar(CalendarConfig())  # April start, Asia/Tokyo


def common(rule_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": rule_id, "runbook_url": f"{rule_id}.md", "messages": MESSAGES, **fields}


RENEWAL_LOW: Final = ThresholdRule.model_validate(
    common(
        "renewal_rate_low",
        kpi="renewal_rate",
        direction="below",
        threshold="0.8",
        severity="warning",
        escalate={"threshold": "0.7", "severity": "critical"},
        levels=["branch"],
    )
)
COMPLAINTS_HIGH: Final = ThresholdRule.model_validate(
    common(
        "complaint_rate_high",
        kpi="complaint_rate_per_10k",
        direction="above",
        threshold="5",
        severity="warning",
        levels=["branch", "region", "company"],
        periods=["month"],
    )
)
PERSISTENCY_DROP: Final = DropRule.model_validate(
    common(
        "persistency_13m_drop",
        kpi="persistency_13m",
        threshold="0.05",
        severity="warning",
        levels=["branch"],
    )
)
PROJECTION: Final = ProjectionRule.model_validate(
    common(
        "premium_projection_low",
        kpi="premium_attainment",
        threshold="0.8",
        severity="warning",
        levels=["branch", "region"],
    )
)


def score(
    kpi: str,
    value: str | None,
    *,
    entity: str = "branch:B01",
    period: str = "2024-03",
    as_of: datetime = AS_OF,
    attainment: str | None = None,
) -> Score:
    return Score(
        score_id="s",
        entity=entity,
        period=period,
        kpi=kpi,
        value=None if value is None else Decimal(value),
        numerator=None,
        denominator=None,
        target=None,
        attainment=None if attainment is None else Decimal(attainment),
        revision=1,
        as_of=as_of,
    )


# --- threshold -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.8", None),  # exactly at the limit: fine
        ("0.8001", None),
        ("0.7999", (AlertSeverity.WARNING, Decimal("0.8"))),
        ("0.7", (AlertSeverity.WARNING, Decimal("0.8"))),  # exactly at the critical limit
        ("0.6999", (AlertSeverity.CRITICAL, Decimal("0.7"))),
        ("0", (AlertSeverity.CRITICAL, Decimal("0.7"))),
    ],
)
def test_below_fires_strictly_under_the_limit_and_escalates(
    value: str, expected: tuple[AlertSeverity, Decimal] | None
) -> None:
    breach = threshold(RENEWAL_LOW, score("renewal_rate", value))
    if expected is None:
        assert breach is None
    else:
        assert breach is not None
        assert (breach.severity, breach.threshold, breach.value) == (*expected, Decimal(value))


@pytest.mark.parametrize(
    ("value", "fires"), [("5", False), ("5.0", False), ("4", False), ("5.01", True), ("12", True)]
)
def test_above_fires_strictly_over_the_limit(value: str, fires: bool) -> None:
    breach = threshold(COMPLAINTS_HIGH, score("complaint_rate_per_10k", value))
    assert (breach is not None) is fires


def test_a_kpi_with_no_value_never_fires() -> None:
    assert threshold(RENEWAL_LOW, score("renewal_rate", None)) is None


@pytest.mark.parametrize(
    ("kpi", "entity", "period"),
    [
        ("renewal_rate", "agent:A1", "2024-03"),  # a level the rule does not watch
        ("lapse_rate", "branch:B01", "2024-03"),  # another KPI
        ("renewal_rate", "branch:B01", "R30D"),  # a rolling window
    ],
)
def test_scores_the_rule_does_not_watch_do_not_fire(kpi: str, entity: str, period: str) -> None:
    assert threshold(RENEWAL_LOW, score(kpi, "0.1", entity=entity, period=period)) is None


def test_a_rule_limited_to_months_ignores_a_quarter() -> None:
    quarter = score("complaint_rate_per_10k", "50", period="FY2023-Q4")
    assert threshold(COMPLAINTS_HIGH, quarter) is None


# --- drop ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "current", "fires"),
    [
        ("0.92", "0.87", True),  # exactly 5 points: ≥ fires
        ("0.92", "0.8701", False),
        ("0.92", "0.80", True),
        ("0.85", "0.90", False),  # a rise
    ],
)
def test_a_drop_fires_at_or_beyond_the_limit(previous: str, current: str, fires: bool) -> None:
    breach = drop(PERSISTENCY_DROP, score("persistency_13m", current), Decimal(previous))
    assert (breach is not None) is fires
    if breach is not None:
        assert breach.value == Decimal(previous) - Decimal(current)
        assert breach.threshold == Decimal("0.05")
        assert breach.evidence == {"previous_value": previous, "current_value": current}


def test_a_drop_needs_both_values() -> None:
    assert drop(PERSISTENCY_DROP, score("persistency_13m", "0.5"), None) is None
    assert drop(PERSISTENCY_DROP, score("persistency_13m", None), Decimal("0.9")) is None


def test_a_drop_rule_watches_months_by_default() -> None:
    half = score("persistency_13m", "0.5", period="FY2023-H2")
    assert drop(PERSISTENCY_DROP, half, Decimal("0.9")) is None


# --- projection ----------------------------------------------------------------------------

# FY2023 runs 2023-04-01 … 2024-03-31 in Tokyo; H1 closes at 2023-10-01 00:00 +09:00.
H1_CLOSE: Final = datetime(2023, 9, 30, 15, 0, tzinfo=UTC)


def fy_score(value: str, as_of: datetime, entity: str = "branch:B01") -> Score:
    return score("premium_attainment", value, period="FY2023", as_of=as_of, entity=entity)


@pytest.mark.parametrize(
    ("so_far", "fires"),
    [
        ("0.4", False),  # 0.4 × 12 / 6 = 0.8 exactly: fine
        ("0.3999", True),  # 0.7998
        ("0.5", False),
    ],
)
def test_the_half_year_projection_fires_under_80_percent(so_far: str, fires: bool) -> None:
    breach = projection(PROJECTION, fy_score(so_far, H1_CLOSE), CALENDAR)
    assert (breach is not None) is fires
    if breach is not None:
        assert breach.value == Decimal("0.7998")
        assert breach.threshold == Decimal("0.8")
        assert breach.evidence == {"so_far": so_far, "months_closed": 6}


def test_the_projection_waits_for_the_half_year_to_close() -> None:
    before = H1_CLOSE - timedelta(seconds=1)
    assert projection(PROJECTION, fy_score("0.1", before), CALENDAR) is None


def test_later_in_the_year_the_projection_uses_the_closed_months() -> None:
    seven_closed = datetime(2023, 10, 31, 15, 0, tzinfo=UTC)  # 2023-11-01 00:00 Tokyo
    # 0.46 × 12 / 7 = 0.7886 < 0.8; 0.47 × 12 / 7 = 0.8057
    breach = projection(PROJECTION, fy_score("0.46", seven_closed), CALENDAR)
    assert breach is not None
    assert breach.value == Decimal("0.7886")
    assert projection(PROJECTION, fy_score("0.47", seven_closed), CALENDAR) is None


def test_the_projection_reads_only_fiscal_years_and_its_levels() -> None:
    month = score("premium_attainment", "0.1", period="2023-09", as_of=H1_CLOSE)
    assert projection(PROJECTION, month, CALENDAR) is None
    assert projection(PROJECTION, fy_score("0.1", H1_CLOSE, entity="agent:A1"), CALENDAR) is None
    assert projection(PROJECTION, fy_score("0.1", H1_CLOSE, entity="region:R1"), CALENDAR)


def test_the_projection_can_read_target_attainment() -> None:
    rule = PROJECTION.model_copy(update={"measure": "attainment"})
    premium = score("premium_attainment", "999", period="FY2023", as_of=H1_CLOSE, attainment="0.3")
    breach = projection(rule, premium, CALENDAR)
    assert breach is not None
    assert breach.value == Decimal("0.6")


# --- staleness -----------------------------------------------------------------------------

STALE: Final = StalenessRule.model_validate(
    common("source_stale", silent_for="60m", severity="warning")
)
START: Final = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def test_a_source_silent_for_exactly_the_limit_is_stale() -> None:
    tracker = StalenessTracker(START)
    tracker.seen("crm", START)
    tracker.seen("policy-admin", START + timedelta(minutes=30))

    result = staleness(STALE, tracker, START + timedelta(minutes=60))

    assert result == {
        "source:crm": Breach(
            AlertSeverity.WARNING,
            Decimal("60.0"),
            Decimal(60),
            {"source": "crm", "last_seen": START.isoformat()},
        ),
        "source:policy-admin": None,
    }
    assert staleness(STALE, tracker, START + timedelta(minutes=59, seconds=59)) == {
        "source:crm": None,
        "source:policy-admin": None,
    }


def test_a_new_event_clears_staleness_and_old_ones_do_not_move_it_back() -> None:
    tracker = StalenessTracker(START)
    tracker.seen("crm", START + timedelta(minutes=50))
    tracker.seen("crm", START)  # an older timestamp arriving late
    assert staleness(STALE, tracker, START + timedelta(minutes=100)) == {"source:crm": None}


def test_an_expected_source_never_heard_from_is_silent_since_the_start() -> None:
    rule = STALE.model_copy(update={"sources": ("crm", "survey-system")})
    tracker = StalenessTracker(START, expected=rule.sources)
    tracker.seen("crm", START + timedelta(minutes=30))

    result = staleness(rule, tracker, START + timedelta(minutes=61))

    assert result["source:crm"] is None
    stale = result["source:survey-system"]
    assert stale is not None
    assert stale.value == Decimal("61.0")
    assert set(tracker.silent(START + timedelta(minutes=61), timedelta(minutes=60))) == {
        "survey-system"
    }
