"""calendar.yaml: defaults, validation messages and local dates."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared.config import CalendarConfig, InvalidConfig, load_calendar

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


def test_the_committed_calendar_is_the_japanese_fiscal_year() -> None:
    calendar = load_calendar(CONFIG_DIR / "calendar.yaml")
    assert calendar == CalendarConfig(
        fiscal_year_start_month=4, timezone="Asia/Tokyo", allowed_lateness_days=7
    )


@pytest.mark.parametrize("text", ["", "# nothing set\n", "{}\n"])
def test_an_empty_file_means_the_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    calendar = load_calendar(path)
    assert calendar.fiscal_year_start_month == 4
    assert calendar.timezone == "Asia/Tokyo"
    assert calendar.allowed_lateness == timedelta(days=7)


def test_other_values_load(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(
        "fiscal_year_start_month: 1\ntimezone: Asia/Shanghai\nallowed_lateness_days: 0\n",
        encoding="utf-8",
    )
    calendar = load_calendar(path)
    assert calendar.fiscal_year_start_month == 1
    assert calendar.zone.key == "Asia/Shanghai"
    assert calendar.allowed_lateness_days == 0


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"fiscal_year_start_month": 13},
            "calendar.yaml: fiscal_year_start_month: must be at most 12 (got 13); the month the "
            "fiscal year starts in, 1–12 (4 = April–March)",
        ),
        (
            {"fiscal_year_start_month": 0},
            "calendar.yaml: fiscal_year_start_month: must be at least 1 (got 0); the month the "
            "fiscal year starts in, 1–12 (4 = April–March)",
        ),
        (
            {"fiscal_year_start_month": "April"},
            "calendar.yaml: fiscal_year_start_month: expected a whole number, got 'April' "
            "(e.g. fiscal_year_start_month: 4)",
        ),
        (
            {"fiscal_year_start_month": True},
            "calendar.yaml: fiscal_year_start_month: expected a whole number, got true "
            "(a boolean) (e.g. fiscal_year_start_month: 4)",
        ),
        (
            {"timezone": "Asia/Tokio"},
            "calendar.yaml: timezone: unknown time zone 'Asia/Tokio'; use an IANA name such as "
            "'Asia/Tokyo' or 'UTC'",
        ),
        (
            {"timezone": "Asia"},
            "calendar.yaml: timezone: unknown time zone 'Asia'; use an IANA name such as "
            "'Asia/Tokyo' or 'UTC'",
        ),
        (
            {"timezone": "../../etc/passwd"},
            "calendar.yaml: timezone: unknown time zone '../../etc/passwd'; use an IANA name "
            "such as 'Asia/Tokyo' or 'UTC'",
        ),
        (
            {"timezone": 9},
            "calendar.yaml: timezone: expected text, got 9 (a number); quote it in YAML, e.g. '9'",
        ),
        (
            {"allowed_lateness_days": -1},
            "calendar.yaml: allowed_lateness_days: must be at least 0 (got -1); days a closed "
            "period still accepts late events; 0 accepts none",
        ),
        (
            {"lateness": 7},
            "calendar.yaml: lateness: unknown field; remove it or correct the spelling "
            "(did you mean 'allowed_lateness_days'?)",
        ),
        (
            ["fiscal_year_start_month"],
            "calendar.yaml: expected a mapping of fiscal_year_start_month, timezone and "
            "allowed_lateness_days, got a list",
        ),
    ],
)
def test_each_problem_has_its_exact_message(document: object, expected: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        CalendarConfig.from_document(document)
    assert str(caught.value) == expected


def test_local_dates_follow_the_time_zone_not_utc() -> None:
    calendar = CalendarConfig()
    # 2024-03-31T15:00Z is already April 1st in Tokyo: a new fiscal year.
    assert calendar.local_date(datetime(2024, 3, 31, 15, 0, tzinfo=UTC)) == date(2024, 4, 1)
    assert calendar.local_date(datetime(2024, 3, 31, 14, 59, tzinfo=UTC)) == date(2024, 3, 31)
    midnight = calendar.local_midnight(date(2024, 4, 1))
    assert midnight.isoformat() == "2024-04-01T00:00:00+09:00"
    with pytest.raises(ValueError, match="no UTC offset"):
        calendar.local_date(datetime(2024, 4, 1, 9, 0))


def test_the_calendar_is_immutable() -> None:
    calendar = CalendarConfig()
    with pytest.raises(ValueError, match="frozen"):
        calendar.allowed_lateness_days = 3  # type: ignore[misc]
