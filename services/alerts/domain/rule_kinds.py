"""What an alert rule can be and choose: its type, a threshold's direction, a projection's
measure, a fraud pattern. Shared by the rule model and the messages about its configuration."""

from enum import StrEnum


class RuleType(StrEnum):
    THRESHOLD = "threshold"
    DROP = "drop"
    PROJECTION = "projection"
    FRAUD = "fraud"
    STALENESS = "staleness"


class ThresholdDirection(StrEnum):
    BELOW = "below"
    ABOVE = "above"


class Measure(StrEnum):
    """Which number of a score a projection reads: the KPI value or its target attainment."""

    VALUE = "value"
    ATTAINMENT = "attainment"


class FraudPattern(StrEnum):
    SHARED_CALLBACK_PHONE = "shared_callback_phone"
    OWN_PHONE_CALLBACK = "own_phone_callback"
