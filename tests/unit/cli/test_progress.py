"""The progress line of `kpi replay` and `kpi run`: a bar on a terminal, count lines in logs."""

import io

from services.cli.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_when_the_count_moves_at_most_every_interval() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(1_000, out, label="applying", rate=True, interval_s=5, clock=clock)
    for seconds, done in ((1, 100), (2, 200), (6, 200), (7, 500), (13, 500), (14, 900)):
        clock.now = 100 + seconds
        progress.update(done)
    clock.now = 120
    progress.finish(1_000)
    assert out.getvalue().splitlines() == [
        "applying 100/1,000 100/s",
        "applying 200/1,000 33/s",
        "applying 500/1,000 38/s",
        "applying 1,000/1,000 50/s",
    ]


def test_without_a_total_only_the_count_shows() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(None, out, label="publishing", clock=clock)
    progress.update(5_000)
    progress.finish(7_500)
    assert out.getvalue().splitlines() == ["publishing 5,000", "publishing 7,500"]


def test_a_terminal_gets_one_bar_redrawn() -> None:
    out, clock = Terminal(), Clock()
    progress = Progress(10, out, width=10, clock=clock)
    progress.update(3)
    progress.finish(10)
    assert out.getvalue() == "\r[###-------] 3/10\r[##########] 10/10\n"
