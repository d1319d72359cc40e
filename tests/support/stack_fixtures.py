"""Session fixtures: one Tansu broker and one SecantusDB for the whole test session.

Tests never touch a stack a person is running: ports are free ones picked now and the state
directory is a temporary one.
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from shared.localstack import LocalStack
from shared.localstack.probes import free_port, free_port_block
from shared.settings import Settings, load_settings


def _test_settings(state_dir: Path) -> Settings:
    return load_settings(
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
        MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}/?retryWrites=false",
        KPI_STATE_DIR=state_dir,
        KPI_HTTP_PORT_BASE=free_port_block(4),
        # Tansu notices a departed consumer only when its session times out; keep it short.
        KAFKA_SESSION_TIMEOUT_MS=6_000,
        KPI_PARTITIONS=3,
    )


@pytest.fixture(scope="session")
def stack_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kpi-state")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def local_stack(stack_state_dir: Path) -> AsyncIterator[LocalStack]:
    """The running local stack, with every topic created."""
    stack = LocalStack(_test_settings(stack_state_dir))
    try:
        await stack.up(timeout_s=90)
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
def settings(local_stack: LocalStack) -> Settings:
    """Settings pointing at the session's local stack."""
    return local_stack.settings


@pytest_asyncio.fixture(loop_scope="session")
async def mongo_client(settings: Settings) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A fresh client per test (clients bind to the loop they first run on)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(), tz_aware=True
    )
    yield client
    await client.close()


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A name unique to this test, for collections, groups and ids."""
    name: str = request.node.name
    return name.replace("[", "_").replace("]", "").replace("-", "_")[:60]


@pytest_asyncio.fixture(loop_scope="session")
async def private_stack(tmp_path: Path) -> AsyncIterator[LocalStack]:
    """A stack of the test's own, for tests that stop, kill or fill it."""
    stack = LocalStack(_test_settings(tmp_path))
    try:
        await stack.up(timeout_s=90)
        yield stack
    finally:
        stack.down()


def service_env(settings: Settings) -> dict[str, str]:
    """The environment a service process needs to reach this stack."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URI": settings.mongodb_uri.get_secret_value(),
        "KPI_STATE_DIR": str(settings.state_dir),
        "KPI_HTTP_PORT_BASE": str(settings.http_port_base),
        "KAFKA_SESSION_TIMEOUT_MS": str(settings.kafka_session_timeout_ms),
        "KPI_PARTITIONS": str(settings.topic_partitions),
    }
