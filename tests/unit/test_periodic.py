"""A timed step beside the consumers: it keeps running after a failure and stops when told."""

import asyncio

from shared.service.periodic import Periodic


async def test_a_failed_step_is_tried_again_and_stop_ends_the_loop() -> None:
    calls: list[int] = []
    three = asyncio.Event()

    async def step() -> None:
        calls.append(len(calls))
        if len(calls) == 3:
            three.set()
        if len(calls) == 1:
            raise RuntimeError("database unavailable")

    # No interval: each turn only yields to the event loop, so the test waits on nothing real.
    periodic = Periodic("test-tick", step, 0, run_first=True)
    periodic.start()
    await asyncio.wait_for(three.wait(), timeout=5)  # bounds a broken loop, never waited out
    await periodic.stop()
    stopped_at = len(calls)
    for _ in range(5):  # five more turns: a loop still running would step again in them
        await asyncio.sleep(0)

    assert calls[:3] == [0, 1, 2]
    assert len(calls) == stopped_at
