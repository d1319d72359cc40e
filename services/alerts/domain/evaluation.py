"""Evaluating alert rules (DESIGN §8): pure functions over scores, a fraud detector over survey
events and a staleness tracker over upstream sources.

Each check answers with a `Breach` (the severity reached, the value and the limit it passed) or
None when the condition is clear; `lifecycle.AlertBook` turns those answers into alerts.
Comparisons are on exact Decimals: a value exactly at a limit never fires a threshold.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import JsonValue

from shared.events.canonical import KpiEvent
from shared.events.upstream import SurveyEvent
from shared.kpi.fiscal_calendar import FiscalCalendar, PeriodKind, parse_period
from shared.messages.alert import AlertSeverity
from shared.messages.score import Score

from .rule_kinds import FraudPattern, Measure, ThresholdDirection
from .rules import (
    DropRule,
    FraudRule,
    ProjectionRule,
    ScoreRule,
    StalenessRule,
    ThresholdRule,
)

_FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Breach:
    """A rule's condition holds: how severe, the value compared and the limit it passed."""

    severity: AlertSeverity
    value: Decimal | None
    threshold: Decimal | None
    evidence: Mapping[str, JsonValue] = field(default_factory=dict)


def applies(rule: ScoreRule, score: Score) -> bool:
    """Whether a score is one the rule watches: its KPI, entity level and period kind."""
    if score.kpi != rule.kpi:
        return False
    level = score.entity.partition(":")[0]
    if level not in {lvl.value for lvl in rule.levels}:
        return False
    try:
        kind = parse_period(score.period).kind
    except ValueError:  # a rolling window (R30D): no period kind to match
        return False
    return kind in rule.periods


def threshold(rule: ThresholdRule, score: Score) -> Breach | None:
    """`below` fires when value < limit, `above` when value > limit; at the limit, or with no
    value (no denominator), it does not. The most severe limit passed decides the severity."""
    value = score.value
    if value is None or not applies(rule, score):
        return None
    for severity, limit in rule.limits():
        passed = value < limit if rule.direction is ThresholdDirection.BELOW else value > limit
        if passed:
            return Breach(severity, value, limit)
    return None


def drop(rule: DropRule, score: Score, previous_value: Decimal | None) -> Breach | None:
    """The KPI fell by the limit or more since the previous period (`previous_period` of the
    calendar): previous − value ≥ limit fires. The breach's value is the fall itself."""
    value = score.value
    if value is None or previous_value is None or not applies(rule, score):
        return None
    fall = previous_value - value
    for severity, limit in rule.limits():
        if fall >= limit:
            evidence: dict[str, JsonValue] = {
                "previous_value": str(previous_value),
                "current_value": str(value),
            }
            return Breach(severity, fall, limit, evidence)
    return None


def months_closed(calendar: FiscalCalendar, period: str, as_of: datetime) -> int:
    """How many months of a period have closed (reached their local-midnight end) by as_of."""
    return sum(1 for month in calendar.months_of(period) if calendar.is_closed(month, as_of))


def projection(rule: ProjectionRule, score: Score, calendar: FiscalCalendar) -> Breach | None:
    """Projected annual attainment = so far × 12 / closed months of the fiscal year, below the
    limit fires.

    Read on fiscal-year scores (FY2023) once `after_months` months have closed by the score's
    `as_of` (6: from the end of H1). Closed, not started, months: the days already counted in
    the current month only raise the projection, so a partial month never causes a warning.
    """
    if not applies(rule, score) or parse_period(score.period).kind is not PeriodKind.FISCAL_YEAR:
        return None
    so_far = score.value if rule.measure is Measure.VALUE else score.attainment
    closed = months_closed(calendar, score.period, score.as_of)
    if so_far is None or closed < rule.after_months:
        return None
    projected = so_far * 12 / closed
    for severity, limit in rule.limits():
        if projected < limit:
            evidence: dict[str, JsonValue] = {"so_far": str(so_far), "months_closed": closed}
            return Breach(severity, projected.quantize(_FOUR_PLACES), limit, evidence)
    return None


@dataclass(frozen=True, slots=True)
class FraudFinding:
    """A fraud rule's breach for one entity of the org path, in the local month of the survey."""

    rule: FraudRule
    entity: str
    period: str
    breach: Breach


@dataclass(frozen=True, slots=True)
class _Survey:
    key: str
    occurred_at: datetime
    customer_id: str
    response_id: str
    entities: tuple[str, ...]


def _entities(rule: FraudRule, event: KpiEvent) -> tuple[str, ...]:
    levels = {level.value for level in rule.levels}
    return tuple(e for e in event.org.entities() if e.partition(":")[0] in levels)


class FraudDetector:
    """Survey fraud patterns on `kpi.events.v1`, for the fraud rules it is given.

    Shared callback phone: per callback phone hash, the surveys within the rule's window
    (ending at the newest survey seen for that phone, so a replay gives the same answer); it
    fires once `min_customers` distinct customers used the phone. Own phone: a survey whose
    callback hash equals the agent's phone hash. Only hashes are kept, never phone numbers.
    """

    def __init__(self, rules: Iterable[FraudRule], calendar: FiscalCalendar) -> None:
        self._rules = tuple(rules)
        self._calendar = calendar
        self._surveys: dict[tuple[str, str], list[_Survey]] = {}

    def observe(self, event: KpiEvent) -> list[FraudFinding]:
        """The findings this event completes; none for events other than surveys."""
        survey = event.event
        if not isinstance(survey, SurveyEvent) or event.callback_phone_hash is None:
            return []
        period = self._calendar.month_of(survey.occurred_at)
        findings: list[FraudFinding] = []
        for rule in self._rules:
            if rule.pattern is FraudPattern.OWN_PHONE_CALLBACK:
                if event.callback_phone_hash == event.agent_phone_hash:
                    evidence: dict[str, JsonValue] = {
                        "callback_phone_hash": event.callback_phone_hash,
                        "customer_ids": [survey.customer_id],
                        "response_ids": [survey.response_id],
                    }
                    breach = Breach(rule.severity, None, None, evidence)
                    findings += [
                        FraudFinding(rule, entity, period, breach)
                        for entity in _entities(rule, event)
                    ]
            else:
                findings += self._shared(rule, event, survey, period)
        return findings

    def _shared(
        self, rule: FraudRule, event: KpiEvent, survey: SurveyEvent, period: str
    ) -> list[FraudFinding]:
        phone = event.callback_phone_hash
        assert phone is not None  # checked by observe
        held = self._surveys.setdefault((rule.id, phone), [])
        if all(s.key != event.key for s in held):  # a re-delivered event counts once
            held.append(
                _Survey(
                    event.key,
                    survey.occurred_at,
                    survey.customer_id,
                    survey.response_id,
                    _entities(rule, event),
                )
            )
        newest = max(s.occurred_at for s in held)
        held[:] = sorted(
            (s for s in held if s.occurred_at > newest - rule.window), key=lambda s: s.occurred_at
        )
        customers = sorted({s.customer_id for s in held})
        if len(customers) < rule.min_customers:
            return []
        evidence: dict[str, JsonValue] = {
            "callback_phone_hash": phone,
            "customer_ids": list(customers),
            "response_ids": [s.response_id for s in held],
            "window_days": rule.window / timedelta(days=1),
        }
        count, limit = Decimal(len(customers)), Decimal(rule.min_customers)
        breach = Breach(rule.severity, count, limit, evidence)
        entities = dict.fromkeys(entity for s in held for entity in s.entities)
        return [FraudFinding(rule, entity, period, breach) for entity in entities]


class StalenessTracker:
    """When each upstream source was last heard from; silence is measured in wall-clock time,
    because a silent source moves no stream time."""

    def __init__(self, started_at: datetime, expected: Iterable[str] = ()) -> None:
        # An expected source never heard from is silent since the tracker started.
        self._last_seen: dict[str, datetime] = dict.fromkeys(expected, started_at)

    def seen(self, source: str, at: datetime) -> None:
        """Record an event from `source` received at `at`."""
        last = self._last_seen.get(source)
        if last is None or at > last:
            self._last_seen[source] = at

    def last_seen(self) -> Mapping[str, datetime]:
        return dict(self._last_seen)

    def silent(self, now: datetime, silent_for: timedelta) -> dict[str, datetime]:
        """Sources silent for `silent_for` or longer, with when they were last heard from."""
        return {s: at for s, at in self._last_seen.items() if now - at >= silent_for}


def staleness(
    rule: StalenessRule, tracker: StalenessTracker, now: datetime
) -> dict[str, Breach | None]:
    """For each source the rule watches (all known ones when it lists none), entity
    ``source:NAME`` → a breach if silent for `silent_for` or longer, else None."""
    last_seen = tracker.last_seen()
    sources = rule.sources or tuple(sorted(last_seen))
    limit = Decimal(rule.silent_for.total_seconds()) / 60
    result: dict[str, Breach | None] = {}
    for source in sources:
        at = last_seen.get(source)
        if at is None or now - at < rule.silent_for:
            # Never heard of: build the tracker with the rule's sources to watch them from start.
            result[f"source:{source}"] = None
            continue
        minutes = (Decimal((now - at).total_seconds()) / 60).quantize(Decimal("0.1"))
        evidence: dict[str, JsonValue] = {"source": source, "last_seen": at.isoformat()}
        result[f"source:{source}"] = Breach(rule.severity, minutes, limit, evidence)
    return result
