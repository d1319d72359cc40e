"""MongoDB client factory on PyMongo's native async API (`AsyncMongoClient`)."""

import asyncio
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from .settings import Settings

Document = dict[str, Any]


def create_client(settings: Settings, *, app_name: str) -> AsyncMongoClient[Document]:
    """A lazily connecting client; `retryWrites` and credentials come from `MONGODB_URI`.

    Timeouts are short so readiness notices a lost database within seconds; the driver
    reconnects by itself when the server comes back.
    """
    return AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(),
        appname=app_name,
        tz_aware=True,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=3_000,
        heartbeatFrequencyMS=2_000,
    )


def database(client: AsyncMongoClient[Document], settings: Settings) -> AsyncDatabase[Document]:
    """The platform's database on this client."""
    return client[settings.mongodb_database]


async def ping(client: AsyncMongoClient[Document], timeout_s: float) -> bool:
    """True when the server answers a ping within the timeout."""
    try:
        async with asyncio.timeout(timeout_s):
            await client.admin.command("ping")
    except (PyMongoError, TimeoutError):
        return False
    return True
