"""A from-scratch recomputation of the scoring counters, written separately from the service:
all events at once, grouped by record, in plain Python. The crash tests compare the state the
service built, batch by batch and through kill -9, against this."""

import calendar as calendar_module
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128

from services.scoring.mongo_documents import unpacked_counter
from shared.events import KpiEvent
from shared.kpi.fiscal_calendar import FiscalCalendar

Counters = dict[tuple[str, str, str], int]
DAILY = ("company:", "region:", "branch:")


def _thirteen_months_after(day: date) -> date:
    year, month = divmod(day.month - 1 + 13, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar_module.monthrange(year, month)[1]))


def _ev(event: KpiEvent) -> Any:
    """The inner event, untyped: the reference reads fields by name, as a reviewer would."""
    return event.event


# The survey boxes of DESIGN §5 (the top box), as `kpis.yaml`'s `survey_boxes` may restate them:
# box id -> the least answer counted on each scale.
TOP_BOX = {"survey_top_box": {10: 9, 5: 5, 100: 90}}


def reference_counters(
    events: Iterable[KpiEvent], cal: FiscalCalendar, boxes: dict[str, dict[int, int]] = TOP_BOX
) -> Counters:
    """Every counter of DESIGN §5 for a set of canonical events (de-duplicated by `key`), with
    the survey boxes given (default: the top box of DESIGN §5)."""
    unique = {e.key: e for e in events}
    out: Counters = defaultdict(int)

    def add(e: KpiEvent, bucket: str, component: str, n: int = 1, daily: bool = True) -> None:
        day = cal.day_of(e.event.occurred_at)
        for entity in e.org.entities():
            out[(entity, bucket, component)] += n
            if daily and entity.startswith(DAILY):
                out[(entity, day, component)] += n

    policies: dict[tuple[str, str], list[KpiEvent]] = defaultdict(list)
    renewals: dict[tuple[str, str], list[KpiEvent]] = defaultdict(list)
    cases: dict[tuple[str, str], list[KpiEvent]] = defaultdict(list)
    customers: dict[tuple[str, str], list[KpiEvent]] = defaultdict(list)
    for e in unique.values():
        month = cal.month_of(e.event.occurred_at)
        owner = e.org.entities()[-1]
        kind = e.event.event_type
        if kind == "policy":
            p = _ev(e)
            action = p.action.value
            premium = int(p.premium * 10_000)
            if action in ("issued", "renewed"):
                add(e, month, "sales_events")
                add(e, month, "premium_written_e4", premium)
                if p.channel.value in ("face_to_face", "online"):
                    add(e, month, "direct_sales")
            if action == "issued":
                add(e, month, "policy_issued")
                add(e, month, "inforce_delta", daily=False)
                if p.new_business:
                    add(e, month, "nb_issued")
                    add(e, month, "nb_premium_e4", premium)
                    if p.referral:
                        add(e, month, "nb_referral")
                customers[(owner, p.customer_id)].append(e)
            if action == "reinstated":
                add(e, month, "policy_reinstated")
                add(e, month, "inforce_delta", daily=False)
            if action in ("lapsed", "surrendered", "cancelled"):
                add(e, month, f"policy_{action}")
                add(e, month, "inforce_delta", -1, daily=False)
            if action != "renewed":
                policies[(owner, p.policy_id)].append(e)
        elif kind == "renewal":
            r = _ev(e)
            due = cal.month_of_date(r.due_date)
            action = r.action.value
            if action == "due":
                add(e, due, "renewal_due", daily=False)
            elif action == "contacted":
                add(e, month, "renewal_contacts")
            elif action == "renewed":
                add(e, due, "renewal_renewed", daily=False)
                add(e, due, "renewal_premium_e4", int(r.premium * 10_000), daily=False)
            else:
                add(e, due, "renewal_lost", daily=False)
            if action in ("contacted", "renewed"):
                renewals[(owner, r.renewal_id)].append(e)
        elif kind == "complaint":
            c = _ev(e)
            ckind, action = c.kind.value, c.action.value
            if action == "opened":
                name = {"complaint": "complaints_opened", "compliment": "compliments"}
                add(e, month, name.get(ckind, "requests_opened"))
            if action == "escalated_to_regulator":
                add(e, month, "complaints_escalated")
            if ckind == "complaint" and action in ("opened", "resolved"):
                cases[(owner, c.case_id)].append(e)
        elif kind == "survey":
            s = _ev(e)
            score, scale = s.score, s.scale
            norm = {10: score * 10, 5: (score - 1) * 25, 100: score}[scale]
            add(e, month, "survey_responses")
            add(e, month, "survey_score_e2", int(norm * 100))
            for box, least in boxes.items():
                if score >= least[scale]:
                    add(e, month, box)
            if scale == 10:
                add(e, month, "nps_responses")
                if score >= 9:
                    add(e, month, "nps_promoters")
                if score <= 6:
                    add(e, month, "nps_detractors")
        elif kind == "assessment":
            a = _ev(e)
            add(e, a.period, "assessment_score_e2", int(a.score * 100), daily=False)
            add(e, a.period, "assessment_count", daily=False)
        elif kind == "training":
            add(e, month, "training_sessions")
            add(e, month, "training_hours_e2", int(_ev(e).hours * 100))

    def plain(e: KpiEvent, bucket: str, component: str, n: int = 1) -> None:
        for entity in e.org.entities():
            out[(entity, bucket, component)] += n

    for group in policies.values():
        issues = [g for g in group if _ev(g).action.value == "issued"]
        if not issues:
            continue
        first = min(issues, key=lambda g: (cal.day_of(g.event.occurred_at), g.key))
        issued = min(date.fromisoformat(cal.day_of(g.event.occurred_at)) for g in issues)
        for g in group:
            if _ev(g).issued_at is not None:
                issued = min(issued, _ev(g).issued_at)
        anniversary = _thirteen_months_after(issued)
        status = sorted(
            (
                date.fromisoformat(cal.day_of(g.event.occurred_at)),
                _ev(g).action.value == "reinstated",
            )
            for g in group
            if _ev(g).action.value != "issued"
            and date.fromisoformat(cal.day_of(g.event.occurred_at)) < anniversary
        )
        month = cal.month_of_date(anniversary)
        plain(first, month, "cohort_size")
        if not status or status[-1][1]:
            plain(first, month, "cohort_persisting")

    def timed(
        groups: Iterable[list[KpiEvent]], start: str, end: str, secs: str, count: str, by_due: bool
    ) -> None:
        for group in groups:
            starts = [g for g in group if _ev(g).action.value == start]
            ends = [g for g in group if _ev(g).action.value == end]
            if not starts or not ends:
                continue
            finish = min(ends, key=lambda g: (int(g.event.occurred_at.timestamp()), g.key))
            begin = min(int(g.event.occurred_at.timestamp()) for g in starts)
            bucket = (
                cal.month_of_date(_ev(finish).due_date)
                if by_due
                else cal.month_of(finish.event.occurred_at)
            )
            plain(finish, bucket, secs, max(0, int(finish.event.occurred_at.timestamp()) - begin))
            plain(finish, bucket, count)

    timed(
        renewals.values(),
        "contacted",
        "renewed",
        "renewal_cycle_seconds",
        "renewal_cycle_count",
        True,
    )
    timed(cases.values(), "opened", "resolved", "resolution_seconds", "resolution_count", False)

    for group in customers.values():
        by_month: dict[str, KpiEvent] = {}
        for g in sorted(group, key=lambda g: (cal.month_of(g.event.occurred_at), g.key)):
            by_month.setdefault(cal.month_of(g.event.occurred_at), g)
        months = sorted(by_month)
        plain(by_month[months[0]], months[0], "customers_new")
        for month in months[1:]:
            plain(by_month[month], month, "customers_repeat")

    return {k: v for k, v in out.items() if v}


def stored_counters(documents: Iterable[dict[str, object]]) -> Counters:
    """The counters in `scoring_counters` documents (an entity's own, or an agent shard's
    members), without the revision bookkeeping."""
    out: Counters = {}
    for stored in documents:
        document = unpacked_counter(stored)  # its content packed, or nested from before
        members = document.get("members")
        entries = members.values() if isinstance(members, dict) else [document]
        for entry in entries:
            entity = str(entry["entity"])
            buckets = entry["buckets"]
            assert isinstance(buckets, dict)
            for bucket, components in buckets.items():
                for component, value in components.items():
                    # A component beyond 64 bits is a decimal string (a Decimal128 before
                    # packing).
                    number = int(value.to_decimal() if isinstance(value, Decimal128) else value)
                    if component != "revisions" and number:
                        out[(entity, bucket, component)] = number
    return out


__all__ = ["UTC", "Decimal", "datetime", "reference_counters", "stored_counters"]
