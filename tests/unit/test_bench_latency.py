"""`make bench`'s steady-rate run: whether the services kept up is read from what waited and
how soon they were idle, and the stream is paced from its first event, not from the
generator's start-up."""

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from benchmarks import pipeline
from benchmarks.pipeline import BACKLOG_DRAIN_S, Latency
from benchmarks.run import _backlog_text
from shared.settings import Settings


def latency(backlogs: tuple[int, ...], drain_s: float) -> Latency:
    return Latency(2_000, 60_000, 0.8, 2.0, {}, backlogs, drain_s)


def test_idle_soon_after_the_last_event_is_keeping_up() -> None:
    kept = latency((0, 1_900, 1_500, 700, 3_400), drain_s=BACKLOG_DRAIN_S - 0.3)
    assert not kept.backlog_grew()
    text = _backlog_text(kept)
    assert text.startswith("the services kept up")
    assert "between 0 and 3,400 (the last 3,400)" in text


def test_idle_late_or_never_is_falling_behind() -> None:
    assert latency((0, 5_000), drain_s=8.2).backlog_grew()
    assert latency((0, 5_000), drain_s=float("nan")).backlog_grew()  # not measured: not kept up
    assert _backlog_text(latency((0, 5_000), 8.2)).startswith("the services fell behind")


def test_a_run_without_samples_says_so() -> None:
    assert _backlog_text(latency((), float("nan"))) == "what waited was not sampled"


async def test_the_steady_stream_is_sent_in_chunks_at_its_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []
    taken: list[int] = []

    async def publish(settings: Settings, documents: Sequence[dict[str, Any]]) -> None:
        sent.append(len(documents))

    def documents() -> Iterator[dict[str, Any]]:
        for number in range(1_000):
            taken.append(number)
            yield {"n": number}

    monkeypatch.setattr(pipeline, "publish", publish)
    total = await pipeline._steady(Settings(), documents(), rate=400, seconds=1)
    assert total == 400
    assert sent == [20] * 20  # a twentieth of a second's events per send
    assert len(taken) <= 400 + 20  # the next chunk at most, taken lazily


def test_the_opening_instant_is_split_from_the_rest_of_the_stream() -> None:
    stream = [{"occurred_at": "00:00", "n": n} for n in range(3)] + [
        {"occurred_at": f"00:0{n}", "n": n} for n in range(1, 4)
    ]

    burst, rest = pipeline.opening(stream)

    assert [d["n"] for d in burst] == [0, 1, 2]
    assert [d["n"] for d in rest] == [1, 2, 3]
    nothing, left = pipeline.opening([])
    assert nothing == []
    assert list(left) == []
    only, after = pipeline.opening([{"occurred_at": "00:00"}])
    assert only == [{"occurred_at": "00:00"}]
    assert list(after) == []
