"""New policies: the issue, its survey answer, and the lapse, surrender or cancellation
(and sometimes reinstatement) of about one in ten.

Ids: new policies ``PN-YYYYMMDD-nnnnn`` and their customers ``CN-…``.
"""

import random
from datetime import date, timedelta

from .documents import SCHEMA_VERSION, Document, book_customer
from .profiles import (
    EXISTING_CUSTOMER_SHARE,
    ISSUE_SURVEY_SHARE,
    NOT_NEW_BUSINESS_SHARE,
    REINSTATEMENT_SHARE,
    SOURCE_POLICY,
    ProductLine,
)
from .sampling import (
    OFFICE,
    ONLINE,
    PRODUCTS,
    TERMINATION,
    annual_premium,
    below,
    between,
    day_activity,
    poisson,
    sales_channel,
    workday,
)
from .scheduler import Scheduler
from .surveys import survey
from .world import Member


def issues(schedule: Scheduler, day: date, *, full: bool) -> None:
    """Originate a day's new policies; `full` also their survey answers and lasting issues."""
    roster = schedule.world.roster(day)
    if not roster.members:
        return
    rng = schedule.rng("issue", day)
    count = poisson(rng, roster.total(roster.issues) * day_activity(day))
    drafts = []
    for _ in range(count):
        member = roster.pick(roster.issues, rng)
        drafts.append((member, rng.random() < member.profile.termination_rate))
    ending = schedule.rng("issue-ending", day)
    lasting = schedule.rng("issue-lasting", day) if full else None
    for number, (member, terminates) in enumerate(drafts, start=1):
        if terminates:
            _policy(schedule, day, number, member, ending, terminates=True)
        elif lasting is not None:
            _policy(schedule, day, number, member, lasting, terminates=False)


def _policy(
    schedule: Scheduler,
    day: date,
    number: int,
    member: Member,
    rng: random.Random,
    *,
    terminates: bool,
) -> None:
    p = member.profile
    policy_id = f"PN-{day:%Y%m%d}-{number:05d}"
    line = PRODUCTS.draw(rng)
    assert isinstance(line, ProductLine)
    premium = annual_premium(rng, line)
    channel = sales_channel(rng, p.direct_share)
    if rng.random() < EXISTING_CUSTOMER_SHARE and member.book > 0:
        customer_id = book_customer(member.agent_id, below(rng, member.book))
    else:
        customer_id = f"CN-{day:%Y%m%d}-{number:05d}"
    new_business = rng.random() >= NOT_NEW_BUSINESS_SHARE
    referral = new_business and rng.random() < p.referral_rate
    issued_ts = schedule.at(day, rng, ONLINE if channel == "online" else OFFICE)
    base: Document = {
        "event_type": "policy",
        "source": SOURCE_POLICY,
        "schema_version": SCHEMA_VERSION,
        "agent_id": member.agent_id,
        "policy_id": policy_id,
        "customer_id": customer_id,
        "product_line": line.code,
        "premium": str(premium),
        "currency": schedule.currency,
        "channel": channel,
        "issued_at": day.isoformat(),
    }
    issued = base | {
        "event_id": f"{policy_id}:issued",
        "action": "issued",
        "new_business": new_business,
        "referral": referral,
    }
    schedule.push(issued_ts, issued)
    if rng.random() < ISSUE_SURVEY_SHARE:
        answered = day + timedelta(days=between(rng, 3, 14))
        survey(
            schedule,
            rng,
            day=answered,
            response_id=f"SV-{policy_id}",
            policy_id=policy_id,
            customer_id=customer_id,
            member=member,
        )
    if terminates:
        _termination(schedule, rng, day, policy_id, base)


def _termination(
    schedule: Scheduler, rng: random.Random, day: date, policy_id: str, base: Document
) -> None:
    kind = str(TERMINATION.draw(rng))
    lag = {"cancelled": (2, 28), "surrendered": (60, 390)}.get(kind, (30, 390))
    ended = workday(day + timedelta(days=between(rng, *lag)))
    ending: Document = base | {"new_business": False, "referral": False}
    schedule.push(
        schedule.at(ended, rng), ending | {"event_id": f"{policy_id}:{kind}", "action": kind}
    )
    if kind == "lapsed" and rng.random() < REINSTATEMENT_SHARE:
        back = workday(ended + timedelta(days=between(rng, 7, 60)))
        schedule.push(
            schedule.at(back, rng),
            ending | {"event_id": f"{policy_id}:reinstated", "action": "reinstated"},
        )
