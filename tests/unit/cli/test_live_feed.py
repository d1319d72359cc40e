"""`kpi run`'s live feed: each event goes out once the wall clock reaches its time, in order,
and a stop is seen within a second."""

import io
import threading
from datetime import UTC, datetime, timedelta
from typing import Final

from services.cli.demo_backfill import LiveFeed
from services.demo.generator import Document
from tests.support.fakes import FakeClock

START: Final = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def event(n: int, minutes: float, kind: str = "policy") -> Document:
    at = (START + timedelta(minutes=minutes)).astimezone(
        datetime.fromisoformat("2026-11-30T10:00+09:00").tzinfo
    )
    return {"event_id": f"E{n}", "event_type": kind, "occurred_at": at.isoformat()}


class SleepingClock:
    """`asyncio.sleep` that moves a fake clock instead of waiting."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.clock.advance(timedelta(seconds=delay))


async def test_events_go_out_in_order_when_their_time_comes() -> None:
    clock = FakeClock(START)
    sleep = SleepingClock(clock)
    out = io.StringIO()
    sent: list[tuple[str, datetime]] = []

    async def send(document: Document) -> None:
        sent.append((str(document["event_id"]), clock()))

    events = [event(1, 0), event(2, 0.5, "renewal"), event(3, 3), event(4, 3, "survey")]
    feed = LiveFeed(out, report_s=60, wall=clock, sleep=sleep)
    await feed.run(send, iter(events[1:]), events[0], threading.Event())

    assert [name for name, _ in sent] == ["E1", "E2", "E3", "E4"]
    for (name, at), document in zip(sent, events, strict=True):
        due = datetime.fromisoformat(str(document["occurred_at"]))
        assert due <= at < due + timedelta(seconds=1), name
    assert max(sleep.delays) <= 1.0
    assert feed.sent == 4
    assert out.getvalue().splitlines() == [
        "live  2026-11-30T10:00+09:00  +1 (policy), 1 so far",
        "live  2026-11-30T10:03+09:00  +2 (policy, renewal), 3 so far",
    ]


async def test_a_stop_ends_the_feed_before_the_next_event() -> None:
    clock = FakeClock(START)
    stopping = threading.Event()
    sent: list[str] = []

    async def sleep(delay: float) -> None:
        clock.advance(timedelta(seconds=delay))
        stopping.set()  # Ctrl-C while waiting for the next event

    async def send(document: Document) -> None:
        sent.append(str(document["event_id"]))

    feed = LiveFeed(io.StringIO(), wall=clock, sleep=sleep)
    await feed.run(send, iter([event(2, 10)]), event(1, 0), stopping)
    assert sent == ["E1"]


async def test_nothing_to_feed_returns_at_once() -> None:
    async def send(document: Document) -> None:
        raise AssertionError("nothing to send")

    await LiveFeed(io.StringIO()).run(send, iter(()), None, threading.Event())
