"""Messages the platform itself publishes, as frozen, versioned models."""

from .alert import Alert, AlertMessages, AlertSeverity, AlertState
from .deadletter import DeadLetter
from .score import Score

__all__ = ["Alert", "AlertMessages", "AlertSeverity", "AlertState", "DeadLetter", "Score"]
