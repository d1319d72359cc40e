"""Serve a service over HTTP with uvicorn; SIGTERM and SIGINT stop it gracefully."""

import signal
import threading

import uvicorn

from .frame import ServiceApp


def exit_quietly_after_shutdown() -> None:
    """Make a graceful SIGTERM/SIGINT stop end the process with status 0 (call in `main`)."""
    # uvicorn re-raises the captured signal once its graceful shutdown is done, under the
    # handler that was installed before it started. With a no-op there, a clean stop exits 0
    # instead of looking like a kill to supervisors.
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)


def make_server(app: ServiceApp, *, port: int | None = None) -> uvicorn.Server:
    """A uvicorn server for the service; `server.should_exit = True` stops it gracefully."""
    settings = app.settings
    config = uvicorn.Config(
        app.http,
        host=settings.http_host,
        port=port if port is not None else settings.http_port_for(app.name),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=max(1, int(settings.shutdown_timeout_s / 2)),
    )
    return uvicorn.Server(config)


async def serve(app: ServiceApp, *, port: int | None = None) -> None:
    """Run until SIGTERM/SIGINT; in-flight work drains within the shutdown timeout."""
    await make_server(app, port=port).serve()
