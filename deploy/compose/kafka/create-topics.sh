#!/bin/sh
# Creates the platform's topics (shared/topics.py, DESIGN §11) on the compose Kafka. Idempotent:
# run it again after adding a topic. Services never auto-create topics (allow_auto_create_topics
# is off), so they start only after this job has succeeded.
# kpi.org.v1 is the organisation's state (latest value per key): compacted, one partition so
# every reader sees the changes in order. tests/integration/test_deploy_manifests.py checks this
# list against shared/topics.py.
set -eu

BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
PARTITIONS="${KPI_PARTITIONS:-6}"
REPLICATION="${REPLICATION_FACTOR:-1}"
KAFKA_TOPICS=/opt/kafka/bin/kafka-topics.sh

create() {
  topic="$1"
  partitions="$2"
  shift 2
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$REPLICATION" "$@"
}

# Upstream (published by the core systems)
create insurance.policy.v1 "$PARTITIONS"
create insurance.renewal.v1 "$PARTITIONS"
create insurance.complaint.v1 "$PARTITIONS"
create insurance.survey.v1 "$PARTITIONS"
create insurance.assessment.v1 "$PARTITIONS"
create insurance.training.v1 "$PARTITIONS"
# The platform's own
create kpi.events.v1 "$PARTITIONS" --config retention.ms=-1
create kpi.deadletter.v1 "$PARTITIONS" --config retention.ms=2592000000
create kpi.scores.v1 "$PARTITIONS"
create kpi.alerts.v1 "$PARTITIONS"
create kpi.scorecards.v1 "$PARTITIONS"
create kpi.org.v1 1 --config cleanup.policy=compact

"$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --list
