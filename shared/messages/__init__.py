"""Messages the platform itself publishes, as frozen, versioned models."""

from .deadletter import DeadLetter

__all__ = ["DeadLetter"]
