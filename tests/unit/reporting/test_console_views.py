"""The console's view-model functions: traffic lights, ranks among peers, KPI tiles and rows,
period choices, links that keep the language, the dead-letter chart's hours, the re-drive
commands, and the sparkline."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest

from services.reporting.console import views as v
from services.reporting.console.charts import grade_bars_svg, hourly_bars_svg, sparkline_svg
from services.reporting.console.labels import TEXTS, t
from shared.config.loading import load_calendar
from shared.kpi.catalogue import load_catalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.kpi.kpi_definition import Direction
from tests.support.console_data import score

D = Decimal
CONFIG: Final = Path(__file__).resolve().parents[3] / "config"
CATALOGUE: Final = load_catalogue(CONFIG / "kpis.yaml")
CALENDAR: Final = FiscalCalendar(load_calendar(CONFIG / "calendar.yaml"))


@pytest.mark.parametrize(
    ("attainment", "light"),
    [
        (D("1.2"), v.Light.GOOD),
        (D("1"), v.Light.GOOD),
        (D("0.9999"), v.Light.WATCH),
        (D("0.9"), v.Light.WATCH),
        (D("0.8999"), v.Light.POOR),
        (None, v.Light.NONE),
    ],
)
def test_the_light_follows_attainment(attainment: Decimal | None, light: v.Light) -> None:
    assert v.light_of(attainment) is light


def test_ranks_put_the_best_first_share_ties_and_skip_missing_values() -> None:
    values = {"a": D("0.9"), "b": D("0.95"), "c": D("0.9"), "d": None, "e": D("0.5")}

    assert v.ranks(values, Direction.HIGHER_IS_BETTER) == {"b": 1, "a": 2, "c": 2, "e": 4}
    assert v.ranks(values, Direction.LOWER_IS_BETTER) == {"e": 1, "a": 2, "c": 2, "b": 4}
    assert v.ranks({}, Direction.HIGHER_IS_BETTER) == {}


def test_a_kpi_row_shows_value_target_attainment_light_and_rank_among_peers() -> None:
    scores = {
        "branch:B01": [score("branch:B01", "2025-03", "renewal_rate", D("0.85"))],
        "branch:B02": [score("branch:B02", "2025-03", "renewal_rate", D("0.95"))],
        "branch:B03": [score("branch:B03", "2025-03", "renewal_rate", None)],
    }
    peers = ["branch:B01", "branch:B02", "branch:B03"]

    rows = {r.kpi: r for r in v.kpi_rows(CATALOGUE, "branch:B01", scores, peers, "en")}

    rate = rows["renewal_rate"]
    assert (rate.value, rate.target, rate.attainment) == ("85.00%", "90.00%", "94.44%")
    assert rate.light is v.Light.WATCH
    assert rate.light_text == "Near target"
    assert rate.rank == "2 / 2"  # B03 has no value: not ranked
    assert rows["survey_top_box"].rank == "—"
    assert len(rows) == len(CATALOGUE)
    alone = v.kpi_rows(CATALOGUE, "branch:B01", scores, ["branch:B01"], "ja")
    assert next(r for r in alone if r.kpi == "renewal_rate").rank == "—"
    assert next(r for r in alone if r.kpi == "renewal_rate").name == "続保率"


def test_a_tile_has_the_last_period_and_a_sparkline_of_every_period() -> None:
    history = [
        (month, [score("company:ACME", month, "renewal_rate", value)])
        for month, value in (("2025-01", D("0.80")), ("2025-02", None), ("2025-03", D("0.93")))
    ]

    tile = next(x for x in v.tiles(CATALOGUE, history, "zh") if x.kpi == "renewal_rate")

    assert (tile.value, tile.target, tile.attainment) == ("93.00%", "90.00%", "103.33%")
    assert tile.light is v.Light.GOOD
    assert tile.light_text == "达标"
    assert "2025-01 80.00%, 2025-02 —, 2025-03 93.00%" in tile.sparkline
    assert tile.sparkline.count("<circle") == 1  # the last value
    assert "<polyline" not in tile.sparkline  # no two consecutive values: no line


def test_a_sparkline_breaks_where_a_value_is_missing() -> None:
    svg = sparkline_svg([D(1), D(2), None, D(3), D(4), D(2)], title="<t>")

    assert svg.count("<polyline") == 2
    assert "&lt;t&gt;" in svg
    assert "href" not in svg
    assert "<line" in sparkline_svg([None, None], title="empty")


def test_period_choices_are_the_month_its_quarter_half_year_and_the_window() -> None:
    choices = v.period_choices(CALENDAR, "2025-03", "FY2024-Q4", "en")

    assert [(c.kind, c.period) for c in choices] == [
        ("month", "2025-03"),
        ("quarter", "FY2024-Q4"),
        ("half", "FY2024-H2"),
        ("year", "FY2024"),
        ("window", "R30D"),
    ]
    assert [c.current for c in choices] == [False, True, False, False, False]
    assert v.recent_periods(CALENDAR, "2025-03")[0] == "2024-04"
    assert len(v.recent_periods(CALENDAR, "2025-03")) == 12


def test_links_keep_the_language_and_quote_the_entity() -> None:
    assert v.href("/alerts", "en") == "/alerts"
    assert v.href("/alerts", "ja", period=None) == "/alerts?lang=ja"
    assert v.entity_href("branch:B01", "zh", "2025-03") == "/org/branch:B01?period=2025-03&lang=zh"
    assert v.entity_href("branch:B 1/x", "en") == "/org/branch:B%201%2Fx"
    links = v.language_links("/org/team:T01", {"period": "R30D", "lang": "ja"}, "ja")
    assert [(x.code, x.href, x.current) for x in links] == [
        ("en", "/org/team:T01?period=R30D", False),
        ("zh", "/org/team:T01?period=R30D&lang=zh", False),
        ("ja", "/org/team:T01?period=R30D&lang=ja", True),
    ]


def test_runbook_links_point_at_the_consoles_copy_of_docs_runbooks() -> None:
    assert v.runbook_href("docs/runbooks/renewal_rate_low.md") == "/runbooks/renewal_rate_low.md"
    assert v.runbook_href("https://wiki.example/run") == "https://wiki.example/run"


def test_the_hours_of_the_chart_have_no_gaps_and_at_most_48() -> None:
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    hours = {t0: {"a": 1}, t0 + timedelta(hours=3): {"b": 2}}

    series = v.hour_series(hours)

    assert [h for h, _ in series] == [t0 + timedelta(hours=i) for i in range(4)]
    assert [dict(c) for _, c in series] == [{"a": 1}, {}, {}, {"b": 2}]
    assert len(v.hour_series({t0: {"a": 1}, t0 + timedelta(days=5): {"a": 1}})) == 48
    assert v.hour_series({}) == []
    svg = hourly_bars_svg(series, ["a", "b"], title="per hour")
    assert svg.count("<rect") == 2


def test_redrive_commands_list_preview_and_send_each_reason() -> None:
    lines = v.redrive_commands(
        ["too_late", "unknown_entity"], "kpi deadletters redrive --reason {reason} --dry-run"
    )

    assert lines[:4] == [
        "# too_late",
        "kpi deadletters --reason too_late",
        "kpi deadletters redrive --reason too_late --dry-run",
        "kpi deadletters redrive --reason too_late",
    ]
    assert lines[-1] == "kpi deadletters redrive --reason unknown_entity"


def test_grade_bars_draw_one_bar_per_grade() -> None:
    svg = grade_bars_svg([("excellent", "Excellent", 3), ("qualified", "Q<", 0)], title="g")

    assert svg.count('class="bar"') == 2
    assert "Q&lt;" in svg


def test_every_console_text_exists_in_three_languages_with_the_same_placeholders() -> None:
    for key, labels in TEXTS.items():
        texts = [labels.en, labels.zh, labels.ja]
        assert all(texts), key
        holes = [sorted(p.split("}")[0] for p in text.split("{")[1:]) for text in texts]
        assert holes[0] == holes[1] == holes[2], key
    assert t("kpi", "ja") == "指標"  # a scorecard text, from render.labels


def test_times_are_written_in_utc() -> None:
    moment = datetime(2025, 3, 28, 12, 5, tzinfo=UTC).astimezone()
    assert v.when(moment) == "2025-03-28 12:05 UTC"
    assert v.when(None) == "—"
