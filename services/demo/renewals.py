"""Renewals falling due: an agent's book renews on a 365-day calendar, each renewal followed
from its notice through contacts to renewed or lost, the policy record, and sometimes a survey.
"""

import random
from datetime import date, datetime, timedelta

from .documents import book_customer, book_policy, book_product, renewal_id
from .profiles import (
    LOST_AFTER_DUE_DAYS,
    RENEWAL_NOTICE_DAYS,
    RENEWAL_SURVEY_SHARE,
    RENEWED_GRACE_DAYS,
)
from .renewal_flow import RenewalFlow
from .sampling import annual_premium, between, sales_channel, workday_ordinal
from .scheduler import Scheduler
from .surveys import survey
from .world import Member


def _month_end(day: date) -> date:
    """The last day of `day`'s month."""
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def renewals(schedule: Scheduler, due: date, origin: date) -> None:
    """Originate the renewals of the book falling due on `due`, as staffed on `origin`."""
    if due.month == 2 and due.day == 29:
        return  # the book renews on a 365-day calendar
    year_day = date(2001, due.month, due.day).timetuple().tm_yday - 1
    roster = schedule.world.roster(origin)
    rng = schedule.rng("renewal", due)
    for member in roster.members:
        first = (year_day * member.book + 364) // 365
        last = ((year_day + 1) * member.book + 364) // 365
        for book_index in range(first, last):
            _renewal(schedule, rng, member, due, book_index)


def _renewal(
    schedule: Scheduler, rng: random.Random, member: Member, due: date, book_index: int
) -> None:
    p = member.profile
    r = rng.random
    due_day = due.toordinal()
    low, high = RENEWAL_NOTICE_DAYS
    notice = due_day - low - int(r() * (high - low + 1))
    line = book_product(member.agent_id, book_index)
    premium = annual_premium(rng, line)
    channel = sales_channel(rng, p.direct_share)
    renewed = r() < p.renewal_rate
    first_contact = notice + 1 + int(r() * 12)
    if renewed:
        cycle = round(rng.gammavariate(2.0, p.cycle_days / 2))
        outcome = min(first_contact + cycle, due_day + RENEWED_GRACE_DAYS)
    else:
        lost_low, lost_high = LOST_AFTER_DUE_DAYS
        outcome = due_day + lost_low + int(r() * (lost_high - lost_low + 1))
        # A lost renewal counts in its due month, which takes late events for 7 days after it
        # ends: the demo insurer confirms it by the 6th (a Sunday's work lands on Monday, the
        # 7th), so the history has no `too_late` event.
        outcome = min(outcome, _month_end(due).toordinal() + 6)
    notice_ts = schedule.at_ordinal(workday_ordinal(notice), rng)
    contact_ts = max(schedule.at_ordinal(workday_ordinal(first_contact), rng), notice_ts + 600)
    outcome_ts = max(schedule.at_ordinal(workday_ordinal(outcome), rng), contact_ts + 600)
    extra = min(3, int(rng.expovariate(1.3)))
    span = outcome_ts - contact_ts - 1
    more = sorted(contact_ts + 1 + int(r() * span) for _ in range(extra))
    times = (notice_ts, contact_ts, *more, outcome_ts)
    steps = "DC" + "C" * extra + ("R" if renewed else "L")
    if renewed:
        times = (*times, outcome_ts + 60 + int(r() * 3540))
        steps += "P"
        if r() < RENEWAL_SURVEY_SHARE:
            answered = datetime.fromtimestamp(outcome_ts, schedule.zone).date()
            survey(
                schedule,
                rng,
                day=answered + timedelta(days=between(rng, 2, 10)),
                response_id=f"SV-{renewal_id(member.agent_id, due, book_index)}",
                policy_id=book_policy(member.agent_id, book_index),
                customer_id=book_customer(member.agent_id, book_index),
                member=member,
            )
    if times[-1] < schedule.start_ts:
        return  # over before the window: nothing to schedule
    schedule.push_flow(
        RenewalFlow(
            member=member,
            book_index=book_index,
            due=due,
            product=line.code,
            premium=premium,
            channel=channel,
            times=times,
            steps=steps,
        )
    )
