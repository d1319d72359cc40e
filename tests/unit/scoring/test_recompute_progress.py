"""Progress and ETA of a recomputation (recompute_progress.py)."""

import pytest

from services.scoring.recompute_progress import Progress, Reading, duration, eta_seconds, rate


def test_rate_is_events_per_second_between_two_readings() -> None:
    assert rate(Reading(10.0, 1_000, 9_000), Reading(14.0, 3_000, 9_000)) == 500.0
    assert rate(Reading(10.0, 1_000, 9_000), Reading(10.0, 3_000, 9_000)) is None
    assert rate(Reading(10.0, 1_000, 9_000), Reading(12.0, 1_000, 9_000)) is None


def test_the_eta_is_what_is_left_at_the_rate() -> None:
    assert eta_seconds(Reading(0.0, 3_000, 9_000), 500.0) == 12.0
    assert eta_seconds(Reading(0.0, 9_000, 9_000), None) == 0.0
    assert eta_seconds(Reading(0.0, 3_000, 9_000), None) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "unknown"), (0.4, "0 s"), (59.4, "59 s"), (200, "3 min 20 s"), (7_500, "2 h 05 min")],
)
def test_durations_read_as_people_say_them(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_the_line_says_how_far_how_fast_and_how_long() -> None:
    progress = Progress("g20250401T091500")
    assert progress.line() == "recompute g20250401T091500: starting"
    progress.add(Reading(0.0, 0, 100_000))
    assert progress.line() == (
        "recompute g20250401T091500: 0 of 100,000 events (0.0%), measuring, unknown left"
    )
    progress.add(Reading(10.0, 20_000, 100_000))
    assert progress.line() == (
        "recompute g20250401T091500: 20,000 of 100,000 events (20.0%), 2,000 events/s, 40 s left"
    )


def test_the_rate_follows_the_last_window_and_the_total_may_grow() -> None:
    progress = Progress("g1", window_s=30.0)
    progress.add(Reading(0.0, 0, 100_000))
    progress.add(Reading(30.0, 60_000, 100_000))  # 2,000/s at first
    progress.add(Reading(60.0, 90_000, 110_000))  # then 1,000/s; live events keep arriving
    progress.add(Reading(90.0, 120_000, 130_000))
    assert progress.rate == 1_000.0
    assert progress.overall_rate == pytest.approx(120_000 / 90)
    assert progress.line().endswith("(92.3%), 1,000 events/s, 10 s left")


def test_a_resumed_run_measures_only_what_it_applies() -> None:
    progress = Progress("g1")
    progress.add(Reading(100.0, 50_000, 60_000))  # an earlier run applied 50,000
    progress.add(Reading(105.0, 55_000, 60_000))
    assert progress.overall_rate == 1_000.0
    assert "5 s left" in progress.line()
