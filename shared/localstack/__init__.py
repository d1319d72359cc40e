"""The embedded local stack: Tansu (Kafka protocol) and SecantusDB (MongoDB protocol),
started on loopback by the project itself, with data and PIDs under `KPI_STATE_DIR`."""

from .stack import Component, LocalStack

__all__ = ["Component", "LocalStack"]
