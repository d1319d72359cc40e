"""The day loop: each local day originates its business, and the events due by its end flow out.

Each origin draws from its own random stream, keyed by the seed and the day, so a day's business
is the same whichever window asks for it; a window first replays the origins whose events may
reach into it, without yielding them.
"""

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Final

from .assessments import assessments
from .complaints import cases
from .documents import Document
from .policies import issues
from .profiles import RENEWAL_NOTICE_DAYS
from .renewals import renewals
from .scheduler import Scheduler
from .training import training

# How far before a window its origins can still produce events inside it.
ISSUE_LOOKBACK_DAYS: Final = 455  # termination ≤ 390 days after issue, reinstatement ≤ 60 later
ISSUE_DETAIL_LOOKBACK_DAYS: Final = 16  # the issue's survey answer comes ≤ 14 days later
RENEWAL_LOOKBACK_DAYS: Final = 78  # origin = due - 60; lost ≤ due + 14, survey ≤ due + 15
CASE_LOOKBACK_DAYS: Final = 55  # a complaint is resolved ≤ 52 days after opening
MONTHLY_LOOKBACK_DAYS: Final = 40
_RENEWAL_HORIZON: Final = RENEWAL_NOTICE_DAYS[1]


def run(schedule: Scheduler) -> Iterator[Document]:
    """The window's events, oldest first."""
    day = schedule.first_day - timedelta(days=ISSUE_LOOKBACK_DAYS)
    while day <= schedule.last_day:
        _originate(schedule, day, (schedule.first_day - day).days)
        yield from schedule.release(schedule.midnight(day + timedelta(days=1)), day)
        day += timedelta(days=1)


def _originate(schedule: Scheduler, day: date, lookback: int) -> None:
    if lookback <= ISSUE_LOOKBACK_DAYS:
        issues(schedule, day, full=lookback <= ISSUE_DETAIL_LOOKBACK_DAYS)
    if lookback <= RENEWAL_LOOKBACK_DAYS:
        renewals(schedule, day + timedelta(days=_RENEWAL_HORIZON), day)
    if lookback <= CASE_LOOKBACK_DAYS:
        cases(schedule, day)
    if lookback <= MONTHLY_LOOKBACK_DAYS and day.day == 1:
        assessments(schedule, day)
        training(schedule, day)
