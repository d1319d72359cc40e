"""A small ASGI front: lifespan goes to the FastStream app, HTTP to the service's routes.

FastStream's own ASGI routing matches exact paths only; services such as reporting need
path parameters, so routes here are exact paths or prefixes.
"""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Response:
    """A complete HTTP response."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def json(cls, data: object, status: int = 200) -> "Response":
        """A JSON response (UTF-8, non-ASCII kept readable)."""
        body = json.dumps(data, ensure_ascii=False, default=str).encode()
        return cls(status, body, "application/json")

    async def send(self, send: Send) -> None:
        """Write the response to an ASGI channel."""
        headers = [
            (b"content-type", self.content_type.encode()),
            (b"content-length", str(len(self.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


Handler = Callable[[Scope], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    """A GET route: an exact path, or a prefix when `prefix` is true."""

    path: str
    handler: Handler | None = None
    app: AsgiApp | None = None
    prefix: bool = False

    def matches(self, path: str) -> bool:
        """True when this route serves the path."""
        return path.startswith(self.path) if self.prefix else path == self.path


class ServiceAsgi:
    """ASGI application of one service."""

    def __init__(self, lifespan_app: AsgiApp, routes: list[Route]) -> None:
        self._lifespan_app = lifespan_app
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan_app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        for route in self._routes:
            if route.matches(path):
                if route.app is not None:
                    await route.app(scope, receive, send)
                    return
                if scope["method"] not in {"GET", "HEAD"}:
                    await Response(405, b"method not allowed\n").send(send)
                    return
                assert route.handler is not None
                await (await route.handler(scope)).send(send)
                return
        await Response(404, b"not found\n").send(send)
