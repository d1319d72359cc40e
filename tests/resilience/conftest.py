"""Fixtures of the resilience tier (docs/resilience.md): the four services running on the
test's own stack, ready, with their peak RSS sampled twice a second."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from shared.localstack import LocalStack
from tests.resilience.harness import Pipeline, sample_forever


@pytest_asyncio.fixture(loop_scope="session")
async def pipeline(private_stack: LocalStack, tmp_path: Path) -> AsyncIterator[Pipeline]:
    """The four services on the test's own stack, ready; stopped (and their peak RSS taken)
    at the end."""
    running = Pipeline(private_stack.settings, tmp_path)
    running.start()
    sampler = asyncio.create_task(sample_forever(running))
    try:
        await running.until_ready()
        yield running
    finally:
        sampler.cancel()
        running.stop()
