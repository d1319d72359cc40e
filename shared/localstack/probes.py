"""Protocol-level probes: a Kafka metadata request and a MongoDB ping, not just a TCP port."""

import asyncio
import random
import socket
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from shared.errors import StackError


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (we can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_block(size: int, host: str = "127.0.0.1") -> int:
    """The first of `size` consecutive free ports, below the ephemeral range (32768 up on
    Linux): services bind them a while after they are picked, and a port of that range may be
    taken meanwhile as the local end of any client's connection."""
    picker = random.Random()  # noqa: S311 - spreads ports, not a secret
    for _ in range(200):
        base = picker.randrange(20_000, 32_000 - size)
        if all(port_is_free(host, base + i) for i in range(size)):
            return base
    raise RuntimeError("no block of free ports found")


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS considers free now (for test fixtures)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


async def kafka_answers(options: dict[str, Any], timeout_s: float = 2.0) -> bool:
    """True when the broker answers a metadata request."""
    admin = AIOKafkaAdminClient(request_timeout_ms=int(timeout_s * 1000), **options)
    try:
        async with asyncio.timeout(timeout_s + 1):
            await admin.start()
            await admin.list_topics()
    except Exception:  # noqa: BLE001 - any failure means "not answering yet"
        return False
    finally:
        await admin.close()
    return True


async def mongodb_answers(uri: str, timeout_s: float = 2.0) -> bool:
    """True when the server answers a ping."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri, serverSelectionTimeoutMS=int(timeout_s * 1000), connectTimeoutMS=1000
    )
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        await client.close()
    return True


async def wait_until(what: str, probe: Any, timeout_s: float, hint: str = "") -> None:
    """Poll an async probe until it answers True, or raise `StackError` after the timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if await probe():
            return
        await asyncio.sleep(0.2)
    raise StackError(f"{what} did not answer within {timeout_s:.0f}s{hint}")
