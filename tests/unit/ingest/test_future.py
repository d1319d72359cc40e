"""Events from the future are out of range beyond a tolerance (DESIGN §9); ingest judges no
lateness: an event of last year is scoring's to decide (shared/watermarks.py)."""

from datetime import datetime, timedelta, timezone
from typing import Final

from services.ingest.future import FutureGate

JST: Final = timezone(timedelta(hours=9))
TOLERANCE: Final = timedelta(days=1)
RECEIVED_AT: Final = datetime(2024, 5, 1, 12, 0, tzinfo=JST)


def gate() -> FutureGate:
    return FutureGate(TOLERANCE)


def test_exactly_the_tolerance_ahead_is_accepted() -> None:
    assert gate().problem(RECEIVED_AT + TOLERANCE, RECEIVED_AT) is None


def test_beyond_the_tolerance_is_out_of_range() -> None:
    occurred = RECEIVED_AT + TOLERANCE + timedelta(microseconds=1)

    problem = gate().problem(occurred, RECEIVED_AT)

    assert problem == (
        "out_of_range",
        "occurred_at: 2024-05-02T12:00:00.000001+09:00 is later than the time it was "
        "received (2024-05-01T12:00:00+09:00) by more than 1 day, 0:00:00",
    )


def test_the_comparison_is_between_instants_not_wall_times() -> None:
    # 13:00 on the 2nd at +14:00 reads 25 hours ahead but is 08:00 JST: 20 hours ahead.
    within = datetime(2024, 5, 2, 13, 0, tzinfo=timezone(timedelta(hours=14)))
    # 03:01 on the 2nd at -12:00 reads 15 hours ahead but is 00:01 JST on the 3rd.
    beyond = datetime(2024, 5, 2, 3, 1, tzinfo=timezone(timedelta(hours=-12)))

    assert gate().problem(within, RECEIVED_AT) is None
    problem = gate().problem(beyond, RECEIVED_AT)
    assert problem is not None
    assert problem[0] == "out_of_range"


def test_an_event_of_years_ago_is_not_ingests_to_refuse() -> None:
    assert gate().problem(datetime(2019, 1, 1, tzinfo=JST), RECEIVED_AT) is None
