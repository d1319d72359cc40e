"""The complaint desk: complaints (some escalated to the regulator), compliments and requests.

Ids: cases ``CS-YYYYMMDD-nnnn``.
"""

import itertools
import random
from datetime import date, timedelta

from .documents import SCHEMA_VERSION, Document, book_policy
from .profiles import BRANCH_COMPLAINT_SHARE, ESCALATION_SHARE, SOURCE_COMPLAINT
from .sampling import (
    COMPLAINT,
    COMPLIMENT,
    REQUEST,
    Choice,
    below,
    between,
    day_activity,
    poisson,
    workday,
)
from .scheduler import Scheduler
from .world import Member


def cases(schedule: Scheduler, day: date) -> None:
    """Originate a day's complaint, compliment and request cases."""
    roster = schedule.world.roster(day)
    if not roster.members:
        return
    rng = schedule.rng("case", day)
    activity = day_activity(day)
    numbers = itertools.count(1)
    for _ in range(poisson(rng, roster.total(roster.complaints) * activity)):
        _complaint(schedule, rng, day, next(numbers), roster.pick(roster.complaints, rng))
    for weights, kind, table in (
        (roster.compliments, "compliment", COMPLIMENT),
        (roster.requests, "request", REQUEST),
    ):
        for _ in range(poisson(rng, roster.total(weights) * activity)):
            member = roster.pick(weights, rng)
            _simple_case(
                schedule, rng, day=day, number=next(numbers), member=member, kind=kind, table=table
            )


def _case(case_id: str, kind: str, category: str, owner: Document) -> Document:
    return {
        "event_type": "complaint",
        "source": SOURCE_COMPLAINT,
        "schema_version": SCHEMA_VERSION,
        **owner,
        "case_id": case_id,
        "kind": kind,
        "category": category,
    }


def _complaint(
    schedule: Scheduler, rng: random.Random, day: date, number: int, member: Member
) -> None:
    case_id = f"CS-{day:%Y%m%d}-{number:04d}"
    if rng.random() < BRANCH_COMPLAINT_SHARE:
        owner: Document = {"branch_id": member.branch_id}
    else:
        owner = {"agent_id": member.agent_id}
    base = _case(case_id, "complaint", str(COMPLAINT.draw(rng)), owner)
    if rng.random() < 0.7 and member.book > 0:
        base["policy_id"] = book_policy(member.agent_id, below(rng, member.book))
    opened = schedule.at(day, rng)
    schedule.push(opened, base | {"event_id": f"{case_id}:opened", "action": "opened"})
    if rng.random() < ESCALATION_SHARE:
        escalated_day = workday(day + timedelta(days=between(rng, 5, 20)))
        escalated = schedule.at(escalated_day, rng)
        schedule.push(
            escalated,
            base
            | {
                "event_id": f"{case_id}:escalated_to_regulator",
                "action": "escalated_to_regulator",
            },
        )
        resolved_day = escalated_day + timedelta(days=between(rng, 10, 30))
    else:
        days = min(40, round(rng.gammavariate(2.0, member.profile.resolution_days / 2)))
        resolved_day = day + timedelta(days=days)
    resolved = max(schedule.at(workday(resolved_day), rng), opened + 1800)
    schedule.push(resolved, base | {"event_id": f"{case_id}:resolved", "action": "resolved"})


def _simple_case(
    schedule: Scheduler,
    rng: random.Random,
    *,
    day: date,
    number: int,
    member: Member,
    kind: str,
    table: Choice,
) -> None:
    case_id = f"CS-{day:%Y%m%d}-{number:04d}"
    base = _case(case_id, kind, str(table.draw(rng)), {"agent_id": member.agent_id})
    opened = schedule.at(day, rng)
    schedule.push(opened, base | {"event_id": f"{case_id}:opened", "action": "opened"})
    if kind == "compliment":
        resolved = opened + between(rng, 1800, 4 * 3600)  # thanked the same day
    else:
        later = workday(day + timedelta(days=between(rng, 0, 5)))
        resolved = max(schedule.at(later, rng), opened + 1800)
    schedule.push(resolved, base | {"event_id": f"{case_id}:resolved", "action": "resolved"})
