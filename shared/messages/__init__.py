"""Messages the platform itself publishes, as frozen, versioned models."""

from .deadletter import DeadLetter
from .score import Score

__all__ = ["DeadLetter", "Score"]
