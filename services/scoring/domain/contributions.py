"""What an event adds to the counters (DESIGN §5).

Two kinds of contribution, both order-independent, so that cutting a stream into any batches or
reordering it within the allowed lateness gives the same state:

- *stateless*: the event alone says what to count (a renewal due in June, a survey answered in
  May); these are `$inc` deltas;
- *record-based*: a policy's 13-month persistency, a renewal's first-contact-to-renewal time, a
  complaint's resolution time and a customer's repeat purchase depend on several events of one
  record. Each record keeps the *set* of its facts; its contribution is a pure function of that
  set, and a batch applies `contribution(new facts) - contribution(old facts)`.
"""

import calendar as _calendar
import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from shared.events import (
    AssessmentEvent,
    ComplaintAction,
    ComplaintEvent,
    ComplaintKind,
    KpiEvent,
    PolicyAction,
    PolicyEvent,
    RenewalAction,
    RenewalEvent,
    SurveyEvent,
    TrainingEvent,
)
from shared.kpi.components import C
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.survey_boxes import DEFAULT_BOXES, TOP_BOX, SurveyBox, boxes_in_force

from .model import Deltas, Fact, RecordRef

DIRECT_CHANNELS = frozenset({"face_to_face", "online"})
TERMINATIONS = frozenset({PolicyAction.LAPSED, PolicyAction.SURRENDERED, PolicyAction.CANCELLED})
DAILY_LEVELS = ("company:", "region:", "branch:")  # rolling windows are kept from branch up
RECORD_BUCKETS = 4  # long-lived records of one owner are spread over this many documents


def _e4(amount: Decimal) -> int:
    return int(amount * 10_000)


def _e2(amount: Decimal) -> int:
    return int(amount * 100)


def normalised_score(score: Decimal, scale: int) -> Decimal:
    """A survey score on 0–100: 0–10 × 10, 1–5 → (s − 1) × 25, 0–100 as given."""
    if scale == 10:
        return score * 10
    if scale == 5:
        return (score - 1) * 25
    return score


def is_top_box(score: Decimal, scale: int) -> bool:
    """The shipped top box: 9–10 on 0–10, 5 on 1–5, ≥ 90 on 0–100 (`kpis.yaml` may move it)."""
    return TOP_BOX.counts(score, scale)


class _Counter:
    """Adds a component to every entity on an event's path, in a month and (branch up) a day."""

    def __init__(self, deltas: Deltas, entities: Sequence[str], day: str | None) -> None:
        self._deltas = deltas
        self._entities = entities
        self._day = day or ""  # no day: no entity is counted by day
        # The entities counted by day too (branch up), found once per event, not per add.
        self._daily = [e for e in entities if e.startswith(DAILY_LEVELS)] if day is not None else []

    def add(self, bucket: str, component: str, amount: int = 1, *, daily: bool = True) -> None:
        deltas = self._deltas
        for entity in self._entities:
            deltas[(entity, bucket, component)] += amount
        if daily:
            day = self._day
            for entity in self._daily:
                deltas[(entity, day, component)] += amount


def stateless(
    event: KpiEvent,
    calendar: FiscalCalendar,
    survey_boxes: Sequence[SurveyBox] = DEFAULT_BOXES,
    *,
    into: Deltas | None = None,
) -> Deltas:
    """The counters an event changes on its own (`survey_boxes`: the catalogue's), added to
    `into` (a batch's changes; None: changes of their own) and returned."""
    deltas = Deltas() if into is None else into
    inner = event.event
    month = calendar.month_of(inner.occurred_at)
    count = _Counter(deltas, event.org.entities(), calendar.day_of(inner.occurred_at))
    if isinstance(inner, PolicyEvent):
        _policy(inner, month, count)
    elif isinstance(inner, RenewalEvent):
        due_month = calendar.month_of_date(inner.due_date)
        if inner.action is RenewalAction.DUE:
            count.add(due_month, C.RENEWAL_DUE, daily=False)
        elif inner.action is RenewalAction.CONTACTED:
            count.add(month, C.RENEWAL_CONTACTS)
        elif inner.action is RenewalAction.RENEWED:
            count.add(due_month, C.RENEWAL_RENEWED, daily=False)
            count.add(due_month, C.RENEWAL_PREMIUM_E4, _e4(inner.premium), daily=False)
        else:
            count.add(due_month, C.RENEWAL_LOST, daily=False)
    elif isinstance(inner, ComplaintEvent):
        if inner.action is ComplaintAction.OPENED:
            component = {
                ComplaintKind.COMPLAINT: C.COMPLAINTS_OPENED,
                ComplaintKind.COMPLIMENT: C.COMPLIMENTS,
                ComplaintKind.REQUEST: C.REQUESTS_OPENED,
            }[inner.kind]
            count.add(month, component)
        elif inner.action is ComplaintAction.ESCALATED_TO_REGULATOR:
            count.add(month, C.COMPLAINTS_ESCALATED)
    elif isinstance(inner, SurveyEvent):
        _survey(inner, month, count, boxes_in_force(survey_boxes, month, calendar))
    elif isinstance(inner, AssessmentEvent):
        # An assessment is given for a period; it lands in that period's own bucket.
        count.add(inner.period, C.ASSESSMENT_SCORE_E2, _e2(inner.score), daily=False)
        count.add(inner.period, C.ASSESSMENT_COUNT, daily=False)
    elif isinstance(inner, TrainingEvent):
        count.add(month, C.TRAINING_SESSIONS)
        count.add(month, C.TRAINING_HOURS_E2, _e2(inner.hours))
    return deltas


def counted_month(event: KpiEvent, calendar: FiscalCalendar) -> str:
    """The earliest month whose counters the event changes: the month it occurred in, except
    for a renewal's steps, which count in the month the renewal fell due (a renewal lost two
    weeks after a due date of 31 August revises August), and an assessment, which counts in
    the period it assesses (August's, given on 10 September). Lateness is judged for this
    month (DESIGN §4: an event is accepted into a closed period until its allowed lateness)."""
    inner = event.event
    month = calendar.month_of(inner.occurred_at)
    if isinstance(inner, RenewalEvent):
        return min(month, calendar.month_of_date(inner.due_date))
    if isinstance(inner, AssessmentEvent):
        return min(month, calendar.months_of(inner.period)[0])
    return month


def _policy(event: PolicyEvent, month: str, count: _Counter) -> None:
    action = event.action
    if action in {PolicyAction.ISSUED, PolicyAction.RENEWED}:
        count.add(month, C.SALES_EVENTS)
        count.add(month, C.PREMIUM_WRITTEN_E4, _e4(event.premium))
        if event.channel.value in DIRECT_CHANNELS:
            count.add(month, C.DIRECT_SALES)
    if action is PolicyAction.ISSUED:
        count.add(month, C.POLICY_ISSUED)
        count.add(month, C.INFORCE_DELTA, daily=False)
        if event.new_business:
            count.add(month, C.NB_ISSUED)
            count.add(month, C.NB_PREMIUM_E4, _e4(event.premium))
            if event.referral:
                count.add(month, C.NB_REFERRAL)
    elif action is PolicyAction.REINSTATED:
        count.add(month, C.POLICY_REINSTATED)
        count.add(month, C.INFORCE_DELTA, daily=False)
    elif action in TERMINATIONS:
        component = {
            PolicyAction.LAPSED: C.POLICY_LAPSED,
            PolicyAction.SURRENDERED: C.POLICY_SURRENDERED,
            PolicyAction.CANCELLED: C.POLICY_CANCELLED,
        }[action]
        count.add(month, component)
        count.add(month, C.INFORCE_DELTA, -1, daily=False)


def _survey(event: SurveyEvent, month: str, count: _Counter, boxes: Sequence[SurveyBox]) -> None:
    score, scale = event.score, event.scale
    count.add(month, C.SURVEY_RESPONSES)
    count.add(month, C.SURVEY_SCORE_E2, _e2(normalised_score(score, scale)))
    for box in boxes:
        if box.counts(score, scale):
            count.add(month, box.id)
    if scale == 10:
        count.add(month, C.NPS_RESPONSES)
        if score >= 9:
            count.add(month, C.NPS_PROMOTERS)
        elif score <= 6:
            count.add(month, C.NPS_DETRACTORS)


# -- records ---------------------------------------------------------------------------------


def _spread(text: str) -> int:
    return int(hashlib.blake2b(text.encode(), digest_size=2).hexdigest(), 16) % RECORD_BUCKETS


def _owner(event: KpiEvent) -> str:
    return event.org.entities()[-1]


def _seconds(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


def record_facts(event: KpiEvent, calendar: FiscalCalendar) -> list[tuple[RecordRef, Fact]]:
    """The records an event adds a fact to, with the fact."""
    inner = event.event
    owner = _owner(event)
    entities = list(event.org.entities())
    day = calendar.local_day(inner.occurred_at)
    base: dict[str, object] = {"k": event.key, "e": entities}
    out: list[tuple[RecordRef, Fact]] = []
    if isinstance(inner, PolicyEvent):
        issue = inner.issued_at or (day if inner.action is PolicyAction.ISSUED else None)
        if issue is not None and inner.action is not PolicyAction.RENEWED:
            kind = {
                PolicyAction.ISSUED: "issue",
                PolicyAction.REINSTATED: "back",
            }.get(inner.action, "end")
            ref = RecordRef(
                "policy",
                inner.policy_id,
                f"policy|{owner}|{calendar.month_of_date(issue)}",
            )
            # Only an issue's entities are read (the cohort's owner): an end or a reinstatement
            # is stored without them.
            head = base if kind == "issue" else {"k": event.key}
            out.append((ref, {**head, "t": kind, "d": day.isoformat(), "i": issue.isoformat()}))
        if inner.action is PolicyAction.ISSUED:
            ref = RecordRef(
                "customer",
                inner.customer_id,
                f"customer|{owner}|{_spread(inner.customer_id)}",
            )
            out.append((ref, {**base, "m": calendar.month_of_date(day)}))
    elif isinstance(inner, RenewalEvent):
        if inner.action in {RenewalAction.CONTACTED, RenewalAction.RENEWED}:
            due_month = calendar.month_of_date(inner.due_date)
            ref = RecordRef("renewal", inner.renewal_id, f"renewal|{owner}|{due_month}")
            contacted = inner.action is RenewalAction.CONTACTED
            tag = "c" if contacted else "r"
            out.append((ref, _timed_fact(base, tag, inner.occurred_at, due_month, start=contacted)))
    elif (
        isinstance(inner, ComplaintEvent)
        and inner.kind is ComplaintKind.COMPLAINT
        and inner.action in {ComplaintAction.OPENED, ComplaintAction.RESOLVED}
    ):
        ref = RecordRef("case", inner.case_id, f"case|{owner}|{_spread(inner.case_id)}")
        opened = inner.action is ComplaintAction.OPENED
        month = calendar.month_of(inner.occurred_at)
        fact = _timed_fact(base, "o" if opened else "s", inner.occurred_at, month, start=opened)
        out.append((ref, fact))
    return out


def _timed_fact(base: Fact, tag: str, at: datetime, month: str, *, start: bool) -> Fact:
    """A renewal's contact or outcome, a case's opening or resolution (`_timed_pair`). A start
    is stored with its time alone: only an end's entities and month are read, and a renewal
    record is about a fifth smaller without them (docs/scoring.md, "Records keep what
    counts")."""
    if start:
        return {"k": base["k"], "t": tag, "ts": _seconds(at)}
    return {**base, "t": tag, "ts": _seconds(at), "m": month}


def _add_months(day: date, months: int) -> date:
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def anniversary_13m(issued: date) -> date:
    """Issue date + 13 months (the last day of a shorter month when the day does not exist)."""
    return _add_months(issued, 13)


def _entities(fact: Fact) -> list[str]:
    value = fact["e"]
    assert isinstance(value, list)
    return [str(v) for v in value]


def _policy_contribution(facts: Sequence[Fact], calendar: FiscalCalendar) -> Deltas:
    deltas = Deltas()
    issues = [f for f in facts if f["t"] == "issue"]
    if not issues:
        # Only a policy seen issued belongs to a cohort we can measure: one known only by its
        # termination was issued before the state began, with its cohort unknown.
        return deltas
    issued = min(date.fromisoformat(str(f["i"])) for f in issues)
    anniversary = anniversary_13m(issued)
    # Status on the anniversary: the latest termination or reinstatement before it decides;
    # on one day a reinstatement counts after the termination it undoes.
    changes = sorted(
        (date.fromisoformat(str(f["d"])), 1 if f["t"] == "back" else 0)
        for f in facts
        if f["t"] in {"end", "back"} and date.fromisoformat(str(f["d"])) < anniversary
    )
    persisting = not changes or changes[-1][1] == 1
    owner_fact = min(issues, key=lambda f: (str(f["d"]), str(f["k"])))
    month = calendar.month_of_date(anniversary)
    for entity in _entities(owner_fact):
        deltas[(entity, month, C.COHORT_SIZE)] += 1
        if persisting:
            deltas[(entity, month, C.COHORT_PERSISTING)] += 1
    return deltas


def _timed_pair(facts: Sequence[Fact], start: str, end: str, seconds: C, count: C) -> Deltas:
    deltas = Deltas()
    starts = [int(str(f["ts"])) for f in facts if f["t"] == start]
    ends = [f for f in facts if f["t"] == end]
    if not starts or not ends:
        return deltas
    finish = min(ends, key=lambda f: (int(str(f["ts"])), str(f["k"])))
    elapsed = max(0, int(str(finish["ts"])) - min(starts))
    month = str(finish["m"])
    for entity in _entities(finish):
        deltas[(entity, month, seconds)] += elapsed
        deltas[(entity, month, count)] += 1
    return deltas


def _customer_contribution(facts: Sequence[Fact]) -> Deltas:
    deltas = Deltas()
    by_month: dict[str, Fact] = {}
    for fact in sorted(facts, key=lambda f: (str(f["m"]), str(f["k"]))):
        by_month.setdefault(str(fact["m"]), fact)
    months = sorted(by_month)
    if not months:
        return deltas
    for entity in _entities(by_month[months[0]]):
        deltas[(entity, months[0], C.CUSTOMERS_NEW)] += 1
    for month in months[1:]:
        for entity in _entities(by_month[month]):
            deltas[(entity, month, C.CUSTOMERS_REPEAT)] += 1
    return deltas


def record_contribution(kind: str, facts: Sequence[Fact], calendar: FiscalCalendar) -> Deltas:
    """What a record's facts add to the counters; a pure function of the set of facts."""
    if kind == "policy":
        return _policy_contribution(facts, calendar)
    if kind == "renewal":
        return _timed_pair(facts, "c", "r", C.RENEWAL_CYCLE_SECONDS, C.RENEWAL_CYCLE_COUNT)
    if kind == "case":
        return _timed_pair(facts, "o", "s", C.RESOLUTION_SECONDS, C.RESOLUTION_COUNT)
    if kind == "customer":
        return _customer_contribution(facts)
    raise ValueError(f"unknown record kind {kind!r}")


def merge_facts(kind: str, existing: Iterable[Fact], new: Iterable[Fact]) -> list[Fact]:
    """The union of two fact sets, one fact per event key, in a stable order, keeping only the
    facts the record's contribution can still depend on (`kept_facts`)."""
    merged: dict[str, Fact] = {str(f["k"]): f for f in existing}
    for fact in new:
        merged.setdefault(str(fact["k"]), fact)
    return kept_facts(kind, [merged[key] for key in sorted(merged)])


def kept_facts(kind: str, facts: Sequence[Fact]) -> list[Fact]:
    """The facts of a record that `record_contribution` reads, in their order: a renewal or a
    case keeps its earliest start and its earliest end (by time, then event key), a customer
    the first purchase of each month; a policy keeps every fact.

    Each choice is a minimum, so dropping the others commutes with adding facts in any order
    and in any batches: the record, and its contribution, are those of the whole set. A
    renewal is contacted many times; stored whole, renewal records were three quarters of the
    bytes a batch wrote on a backlog, rewritten with their due month's document at every batch
    (docs/scoring.md, "Records keep what counts")."""
    if kind == "renewal":
        return _earliest_of_each(facts, {"c", "r"}, lambda f: (int(str(f["ts"])), str(f["k"])))
    if kind == "case":
        return _earliest_of_each(facts, {"o", "s"}, lambda f: (int(str(f["ts"])), str(f["k"])))
    if kind == "customer":
        firsts: dict[str, Fact] = {}
        for fact in facts:
            month = str(fact["m"])
            if month not in firsts or str(fact["k"]) < str(firsts[month]["k"]):
                firsts[month] = fact
        chosen = {id(f) for f in firsts.values()}
        return [f for f in facts if id(f) in chosen]
    return list(facts)


def _earliest_of_each(
    facts: Sequence[Fact], types: set[str], order: Callable[[Fact], tuple[int, str]]
) -> list[Fact]:
    """The earliest fact of each of `types` (by `order`), and every fact of another type."""
    earliest: dict[str, Fact] = {}
    for fact in facts:
        kind = str(fact["t"])
        if kind in types and (kind not in earliest or order(fact) < order(earliest[kind])):
            earliest[kind] = fact
    chosen = {id(f) for f in earliest.values()}
    return [f for f in facts if id(f) in chosen or str(f["t"]) not in types]


def record_kind(bucket: str) -> str:
    """The kind of the records in a bucket (`policy|agent:A1|2024-05` → `policy`)."""
    return bucket.split("|", 1)[0]
