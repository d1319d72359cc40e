"""Which periods a change of definitions announces again (`kpi recompute --from PERIOD`).

A recomputation always rebuilds the whole state: persistency, renewal cycles and repeat
customers need every earlier event. What `--from` limits is the republication after the switch:
the scores and scorecards of a period are republished as `definition_change` revisions when the
period ends on or after the first local midnight of PERIOD, that is when its last month is
PERIOD's first month or later. With April fiscal years and `--from 2024-10` (or `FY2024-Q3`,
or `FY2024-H2`): October 2024 and every later month, FY2024-Q3, FY2024-H2 and FY2024 (it ends
in March 2025); not September 2024, FY2024-Q2, FY2024-H1 nor FY2023. Their figures still
change in the read model (it is the new generation that answers); they are not announced.

One exception: a period that is not settled yet (scorecards not final, scores still within
the allowed lateness) is republished whatever its end. Its next close publishes its current
figures anyway, so holding it back would only send the new figures later, without the reason.
"""

from datetime import datetime

from .fiscal_calendar import FiscalCalendar, is_window, parse_period

FROM_FORMS = "a month (2024-10), fiscal quarter (FY2024-Q3), half (FY2024-H2) or year (FY2024)"


def from_period(text: str) -> str:
    """The canonical name of a `--from` period; `ValueError` saying what is expected."""
    if is_window(text):
        raise ValueError(
            f"{text!r} is a rolling window, which has no fixed start; --from takes {FROM_FORMS}"
        )
    try:
        return parse_period(text).name
    except ValueError:
        raise ValueError(f"{text!r} is not a period; --from takes {FROM_FORMS}") from None


def republishes(
    calendar: FiscalCalendar, period: str, since: str | None, *, settled: bool = True
) -> bool:
    """Whether a definitions change republishes `period` when it was recomputed `--from
    since` (None: every period). A rolling window ends now: always. An unsettled period
    (see the module): always."""
    if since is None or not settled or is_window(period):
        return True
    return calendar.months_of(period)[-1] >= calendar.months_of(since)[0]


def settled(calendar: FiscalCalendar, period: str, stream_time: datetime | None) -> bool:
    """Whether stream time has passed the period's lateness deadline: no event can revise
    it any more (scoring's view; reporting's is whether the period went final)."""
    if stream_time is None or is_window(period):
        return False
    return stream_time >= calendar.lateness_deadline(period)
