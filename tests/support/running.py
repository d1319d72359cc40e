"""Run a service in-process on a port, for integration tests."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

from shared.service import ServiceApp, make_server


@contextlib.asynccontextmanager
async def running(app: ServiceApp, port: int) -> AsyncIterator[str]:
    """Serve `app` until the block ends; yields its base URL once /readyz answers 200."""
    server = make_server(app, port=port)
    task = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(300):
            if task.done():
                task.result()  # surfaces a start-up failure
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
        else:
            raise TimeoutError(f"{app.name} did not become ready")
    try:
        yield base
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
