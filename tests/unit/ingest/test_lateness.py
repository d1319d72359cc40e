"""The lateness gate (DESIGN §4): months close at local midnight, late events are accepted for
the allowed lateness after close, judged against stream time; events from the future are
out of range beyond a tolerance."""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.lateness import LatenessGate
from shared.config import CalendarConfig

JST: Final = timezone(timedelta(hours=9))
TOKYO: Final = CalendarConfig()  # Asia/Tokyo, 7 days allowed lateness
TOLERANCE: Final = timedelta(days=1)
# Far enough ahead that no event of these tests is "from the future".
RECEIVED: Final = datetime(2100, 1, 1, tzinfo=UTC)
ONE_SECOND: Final = timedelta(seconds=1)


def gate(calendar: CalendarConfig = TOKYO) -> LatenessGate:
    return LatenessGate(calendar, TOLERANCE)


class TestMonthClose:
    def test_the_last_half_hour_of_march_closes_at_local_midnight_of_april_first(self) -> None:
        close = gate().month_close(datetime(2023, 3, 31, 23, 30, tzinfo=JST))

        assert close == datetime(2023, 4, 1, 0, 0, tzinfo=JST)
        assert close.utcoffset() == timedelta(hours=9)

    def test_the_month_is_the_local_one_not_the_utc_one(self) -> None:
        # 2023-03-31T15:00Z is already April 1st in Tokyo: its month closes on May 1st.
        april_in_tokyo = datetime(2023, 3, 31, 15, 0, tzinfo=UTC)
        still_march = april_in_tokyo - timedelta(microseconds=1)

        assert gate().month_close(april_in_tokyo) == datetime(2023, 5, 1, tzinfo=JST)
        assert gate().month_close(still_march) == datetime(2023, 4, 1, tzinfo=JST)

    def test_the_same_instant_closes_at_another_time_under_another_calendar_zone(self) -> None:
        in_utc = CalendarConfig(timezone="UTC")
        moment = datetime(2023, 3, 31, 23, 30, tzinfo=JST)  # 14:30 UTC, still March in UTC

        assert gate(in_utc).month_close(moment) == datetime(2023, 4, 1, tzinfo=UTC)

    def test_december_closes_on_january_first_of_the_next_year(self) -> None:
        close = gate().month_close(datetime(2023, 12, 15, 12, 0, tzinfo=JST))

        assert close == datetime(2024, 1, 1, tzinfo=JST)

    def test_new_years_eve_in_tokyo_written_in_utc_closes_on_january_first(self) -> None:
        close = gate().month_close(datetime(2023, 12, 31, 14, 59, 59, tzinfo=UTC))

        assert close == datetime(2024, 1, 1, tzinfo=JST)

    @pytest.mark.parametrize("month", range(1, 13))
    def test_every_month_closes_on_the_first_of_the_next(self, month: int) -> None:
        close = gate().month_close(datetime(2023, month, 10, tzinfo=JST))

        next_month = date(2023 + month // 12, month % 12 + 1, 1)
        assert close.astimezone(JST) == datetime.combine(next_month, datetime.min.time(), JST)

    def test_a_daylight_saving_zone_closes_at_its_summer_midnight(self) -> None:
        london = CalendarConfig(timezone="Europe/London")

        close = gate(london).month_close(datetime(2024, 3, 31, 12, 0, tzinfo=UTC))

        # London is on BST (+01:00) by April 1st: local midnight is 23:00 UTC the day before.
        assert close == datetime(2024, 3, 31, 23, 0, tzinfo=UTC)


class TestTooLate:
    MARCH_EVENT: Final = datetime(2023, 3, 15, 10, 0, tzinfo=JST)
    # March closes 2023-04-01T00:00+09:00; 7 days of allowed lateness after that.
    DEADLINE: Final = datetime(2023, 4, 8, 0, 0, tzinfo=JST)

    def test_without_a_watermark_nothing_is_too_late(self) -> None:
        fresh = gate()

        assert fresh.watermark is None
        assert fresh.problem(datetime(2001, 1, 1, tzinfo=JST), RECEIVED) is None

    def test_stream_time_exactly_at_the_deadline_still_accepts_the_month(self) -> None:
        subject = gate()
        subject.advance(self.DEADLINE)

        assert subject.problem(self.MARCH_EVENT, RECEIVED) is None

    def test_stream_time_one_second_past_the_deadline_refuses_the_month(self) -> None:
        subject = gate()
        subject.advance(self.DEADLINE + ONE_SECOND)

        problem = subject.problem(self.MARCH_EVENT, RECEIVED)

        assert problem == (
            "too_late",
            "occurred_at: 2023-03-15T10:00:00+09:00 belongs to a month that closed at "
            "2023-04-01T00:00:00+09:00; late events are accepted for 7 days after close, and "
            "stream time has reached 2023-04-08T00:00:01+09:00",
        )

    def test_the_last_instant_of_a_closed_month_is_late_but_the_first_of_the_next_is_not(
        self,
    ) -> None:
        subject = gate()
        subject.advance(self.DEADLINE + ONE_SECOND)
        april_starts = datetime(2023, 4, 1, tzinfo=JST)

        late = subject.problem(april_starts - timedelta(microseconds=1), RECEIVED)

        assert late is not None
        assert late[0] == "too_late"
        assert subject.problem(april_starts, RECEIVED) is None

    def test_zero_allowed_lateness_refuses_right_after_close(self) -> None:
        strict = gate(CalendarConfig(allowed_lateness_days=0))
        strict.advance(datetime(2023, 4, 1, tzinfo=JST) + ONE_SECOND)

        problem = strict.problem(self.MARCH_EVENT, RECEIVED)

        assert problem is not None
        assert problem[0] == "too_late"
        assert "accepted for 0 days after close" in problem[1]

    def test_the_wall_clock_does_not_make_an_event_late(self) -> None:
        # Stream time, not the wall clock: a backfill received in 2100 is judged as lived.
        subject = gate()
        subject.advance(datetime(2023, 3, 7, 23, 59, tzinfo=JST))

        assert subject.problem(datetime(2023, 2, 1, tzinfo=JST), RECEIVED) is None


class TestFutureTolerance:
    RECEIVED_AT: Final = datetime(2024, 5, 1, 12, 0, tzinfo=JST)

    def test_exactly_the_tolerance_ahead_is_accepted(self) -> None:
        assert gate().problem(self.RECEIVED_AT + TOLERANCE, self.RECEIVED_AT) is None

    def test_beyond_the_tolerance_is_out_of_range(self) -> None:
        occurred = self.RECEIVED_AT + TOLERANCE + timedelta(microseconds=1)

        problem = gate().problem(occurred, self.RECEIVED_AT)

        assert problem == (
            "out_of_range",
            "occurred_at: 2024-05-02T12:00:00.000001+09:00 is later than the time it was "
            "received (2024-05-01T12:00:00+09:00) by more than 1 day, 0:00:00",
        )

    def test_the_comparison_is_between_instants_not_wall_times(self) -> None:
        # 13:00 on the 2nd at +14:00 reads 25 hours ahead but is 08:00 JST: 20 hours ahead.
        within = datetime(2024, 5, 2, 13, 0, tzinfo=timezone(timedelta(hours=14)))
        # 03:01 on the 2nd at -12:00 reads 15 hours ahead but is 00:01 JST on the 3rd.
        beyond = datetime(2024, 5, 2, 3, 1, tzinfo=timezone(timedelta(hours=-12)))

        assert gate().problem(within, self.RECEIVED_AT) is None
        problem = gate().problem(beyond, self.RECEIVED_AT)
        assert problem is not None
        assert problem[0] == "out_of_range"


class TestWatermark:
    def test_advance_sets_the_first_watermark(self) -> None:
        subject = gate()
        moment = datetime(2024, 5, 1, tzinfo=JST)

        subject.advance(moment)

        assert subject.watermark == moment

    def test_the_watermark_only_moves_forward(self) -> None:
        subject = gate()
        later = datetime(2024, 5, 1, tzinfo=JST)
        subject.advance(later)

        subject.advance(later - timedelta(days=40))

        assert subject.watermark == later
        # An earlier event after a later one does not reopen a month the later one closed.
        subject.advance(datetime(2024, 7, 1, tzinfo=JST))
        subject.advance(datetime(2024, 3, 1, tzinfo=JST))
        problem = subject.problem(datetime(2024, 4, 30, tzinfo=JST), RECEIVED)
        assert problem is not None
        assert problem[0] == "too_late"


# -- properties ------------------------------------------------------------------------------

OFFSETS: Final = st.sampled_from(
    [timezone(timedelta(hours=h)) for h in (-12, -5, 0, 5, 9, 14)]
    + [timezone(timedelta(hours=5, minutes=30))]
)
INSTANTS: Final = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2026, 12, 31), timezones=OFFSETS
)
CALENDARS: Final = st.builds(
    CalendarConfig,
    timezone=st.sampled_from(["Asia/Tokyo", "UTC", "Europe/London", "America/New_York"]),
    allowed_lateness_days=st.integers(min_value=0, max_value=40),
)


@given(calendar=CALENDARS, moment=INSTANTS)
def test_month_close_is_the_next_local_first_of_the_month(
    calendar: CalendarConfig, moment: datetime
) -> None:
    close = gate(calendar).month_close(moment)

    local_close = close.astimezone(calendar.zone)
    assert close > moment
    assert (local_close.day, local_close.hour, local_close.minute) == (1, 0, 0)
    last_instant = (close - timedelta(microseconds=1)).astimezone(calendar.zone)
    local = moment.astimezone(calendar.zone)
    assert (last_instant.year, last_instant.month) == (local.year, local.month)


@given(calendar=CALENDARS, events=st.lists(INSTANTS, min_size=1, max_size=30), data=st.data())
def test_accepted_events_in_any_order_never_make_an_open_month_too_late(
    calendar: CalendarConfig, events: list[datetime], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(events))
    subject = gate(calendar)
    accepted: list[datetime] = []

    for occurred in order:
        problem = subject.problem(occurred, RECEIVED)
        deadline = subject.month_close(occurred) + calendar.allowed_lateness
        if not accepted or deadline >= max(accepted):
            assert problem is None, (occurred, max(accepted, default=None))
        if problem is None:
            subject.advance(occurred)
            accepted.append(occurred)

    assert subject.watermark == max(accepted)
    # Judged after the whole stream, an event whose deadline has not passed is still welcome.
    for occurred in events:
        deadline = subject.month_close(occurred) + calendar.allowed_lateness
        if deadline >= max(accepted):
            assert subject.problem(occurred, RECEIVED) is None
