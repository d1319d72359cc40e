"""The frame every service stands in: HTTP endpoints, readiness, lifecycle and serving."""

from .frame import ServiceApp, build_service
from .runner import exit_quietly_after_shutdown, make_server, serve

__all__ = ["ServiceApp", "build_service", "exit_quietly_after_shutdown", "make_server", "serve"]
