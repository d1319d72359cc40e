"""Topic names of DESIGN §11. Keep them stable: operators and consumers script against them."""

from typing import Final

POLICY: Final = "insurance.policy.v1"
RENEWAL: Final = "insurance.renewal.v1"
COMPLAINT: Final = "insurance.complaint.v1"
SURVEY: Final = "insurance.survey.v1"
ASSESSMENT: Final = "insurance.assessment.v1"
TRAINING: Final = "insurance.training.v1"

EVENTS: Final = "kpi.events.v1"
DEADLETTER: Final = "kpi.deadletter.v1"
SCORES: Final = "kpi.scores.v1"
ALERTS: Final = "kpi.alerts.v1"
SCORECARDS: Final = "kpi.scorecards.v1"
ORG: Final = "kpi.org.v1"

UPSTREAM_BY_EVENT_TYPE: Final[dict[str, str]] = {
    "policy": POLICY,
    "renewal": RENEWAL,
    "complaint": COMPLAINT,
    "survey": SURVEY,
    "assessment": ASSESSMENT,
    "training": TRAINING,
}
EVENT_TYPE_BY_UPSTREAM: Final[dict[str, str]] = {
    topic: event_type for event_type, topic in UPSTREAM_BY_EVENT_TYPE.items()
}
UPSTREAM: Final[tuple[str, ...]] = tuple(UPSTREAM_BY_EVENT_TYPE.values())
INTERNAL: Final[tuple[str, ...]] = (EVENTS, DEADLETTER, SCORES, ALERTS, SCORECARDS, ORG)
ALL: Final[tuple[str, ...]] = UPSTREAM + INTERNAL
# Topics whose latest value per key is the state; compacted on a real Kafka cluster.
COMPACTED: Final[frozenset[str]] = frozenset({ORG})

# Consumer groups: operators look them up, and `kpi wait-idle` measures them.
INGEST_GROUP: Final = "kpi-ingest"
SCORING_GROUP: Final = "kpi-scoring"
ALERTS_GROUP: Final = "kpi-alerts"
REPORTING_GROUP: Final = "kpi-reporting"
