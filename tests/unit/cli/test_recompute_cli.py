"""`kpi recompute --from PERIOD`: the period is checked before anything is connected to, and
`--status` shows the period a generation republishes from."""

from datetime import UTC, datetime

import pytest

from services.cli.main import _parser, main
from services.cli.recompute import _print_status
from services.scoring.generations import Generations, start_build, switch

NOW = datetime(2025, 4, 1, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize("period", ["2024-10", "FY2024-Q3", "FY2024-H2", "FY2024"])
def test_a_period_of_the_fiscal_calendar_is_taken(period: str) -> None:
    args = _parser().parse_args(["recompute", "--from", period, "--label", "FY2024 restated"])
    assert (args.from_period, args.label, args.action) == (period, "FY2024 restated", None)
    assert _parser().parse_args(["recompute"]).from_period is None


@pytest.mark.parametrize(
    ("period", "says"),
    [
        ("FY24", "'FY24' is not a period"),
        ("2024-13", "'2024-13' is not a period"),
        ("FY2024-Q5", "'FY2024-Q5' is not a period"),
        ("R30D", "'R30D' is a rolling window, which has no fixed start"),
    ],
)
def test_an_unknown_period_is_refused_before_anything_runs(
    period: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["recompute", "--from", period])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --from: {says}" in err
    assert "a month (2024-10), fiscal quarter (FY2024-Q3), half (FY2024-H2) or year (FY2024)" in (
        err
    )


@pytest.mark.parametrize("action", ["--status", "--rollback", "--drop-previous", "--abandon"])
def test_from_goes_only_with_building(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Refused before the database is asked anything (none runs here).
    assert main(["recompute", "--from", "2024-10", action]) == 2
    assert f"--from goes with building a generation, not with {action}" in capsys.readouterr().err


def test_status_shows_the_period_a_generation_republishes_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, generation, _ = start_build(
        Generations(),
        now=NOW,
        definitions_hash="0123456789abcdef",
        label="FY2024 restated",
        republish_from="2024-10",
    )
    _print_status(switch(state, now=NOW))
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [f"active    {generation}", "previous  g0", "building  -"]
    assert lines[3] == (
        f"  {generation}: definitions 0123456789abcdef (FY2024 restated), "
        "begun 2025-04-01 09:15:00+00:00, switched to 2025-04-01 09:15:00+00:00, "
        "republishing from 2024-10"
    )
