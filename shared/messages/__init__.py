"""Messages the platform itself publishes, as frozen, versioned models."""

from .alert import Alert, AlertMessages, AlertSeverity, AlertState
from .deadletter import DeadLetter
from .definitions import Definitions
from .score import Score
from .scorecard import (
    Category,
    Grade,
    KpiLine,
    Labels,
    Scorecard,
    ScorecardStatus,
    Trend,
    Veto,
)

__all__ = [
    "Alert",
    "AlertMessages",
    "AlertSeverity",
    "AlertState",
    "Category",
    "DeadLetter",
    "Definitions",
    "Grade",
    "KpiLine",
    "Labels",
    "Score",
    "Scorecard",
    "ScorecardStatus",
    "Trend",
    "Veto",
]
