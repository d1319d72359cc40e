"""Ingest's error handling: a record whose processing fails for good is dead-lettered as
processing_error and its partition moves on; a transient failure is retried with backoff."""

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import pytest
from prometheus_client import CollectorRegistry

from services.ingest.metrics import IngestMetrics
from services.ingest.org_directory import OrgDirectory
from services.ingest.pipeline import BatchSummary, IngestPipeline
from services.ingest.triage import Outcome, Record, Triage
from shared import topics
from shared.errors import OutputError
from shared.kafka_output import Outbound
from shared.messages import DeadLetter
from tests.support.fakes import FakeClock, MemoryClaimStore, RecordingOutput, RecordingSleep
from tests.support.unit_triage import CONFIG, make_triage
from tests.support.upstream_samples import POLICY

NOW: Final = datetime(2024, 10, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def org() -> OrgDirectory:
    return OrgDirectory.from_file(CONFIG / "org.yaml")


class RefusingOutput(RecordingOutput):
    """Refuses for good any call that carries a canonical event of the poisoned policy, as a
    broker refuses a message it will never take (too large, say)."""

    def __init__(self, poisoned: str) -> None:
        super().__init__()
        self.poisoned = poisoned.encode()

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        if any(m.topic == topics.EVENTS and self.poisoned in m.value for m in messages):
            self.calls += 1
            raise OutputError("cannot publish 1 messages: MessageSizeTooLargeError")
        await super().send_all(messages)


class BuggyTriage:
    """Triage that raises on one offset, as a bug would."""

    def __init__(self, triage: Triage, offset: int) -> None:
        self._triage = triage
        self._offset = offset

    def __call__(self, record: Record, received_at: datetime) -> Outcome:
        if record.offset == self._offset:
            raise KeyError("line_of_business")
        return self._triage(record, received_at)

    def reject(self, *args: object, **kwargs: object) -> object:
        return self._triage.reject(*args, **kwargs)  # type: ignore[arg-type]


def policy(policy_id: str, offset: int, partition: int = 0) -> Record:
    document = {**POLICY, "event_id": f"ev-{policy_id}", "policy_id": policy_id}
    return Record(topics.POLICY, partition, offset, json.dumps(document).encode())


def pipeline(
    org: OrgDirectory, output: RecordingOutput, triage: object = None
) -> tuple[IngestPipeline, CollectorRegistry, RecordingSleep]:
    registry, sleep = CollectorRegistry(), RecordingSleep()
    return (
        IngestPipeline(
            triage=triage or make_triage(org=org),  # type: ignore[arg-type]
            claims=MemoryClaimStore(),
            output=output,
            metrics=IngestMetrics(registry),
            clock=FakeClock(NOW),
            max_backoff_s=0.05,
            sleep=sleep,
        ),
        registry,
        sleep,
    )


def letters(output: RecordingOutput) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(m.value) for m in output.on(topics.DEADLETTER)]


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_a_record_the_broker_refuses_for_good_is_dead_lettered_and_the_rest_published(
    org: OrgDirectory,
) -> None:
    output = RefusingOutput("pol-bad")
    ingest, registry, sleep = pipeline(org, output)
    batch = [policy("pol-1", 10), policy("pol-bad", 11), policy("pol-2", 12)]

    summary = await ingest.handle(batch)

    assert summary == BatchSummary(accepted=2, rejected=1, duplicates=0)
    assert [json.loads(m.value)["event"]["policy_id"] for m in output.on(topics.EVENTS)] == [
        "pol-1",
        "pol-2",
    ]
    [letter] = letters(output)
    assert letter.reason == "processing_error"
    assert (letter.source_topic, letter.partition, letter.offset) == (topics.POLICY, 0, 11)
    assert "OutputError: cannot publish 1 messages: MessageSizeTooLargeError" in letter.detail
    assert base64.b64decode(letter.payload_base64) == batch[1].value  # no phone: bytes as read
    assert sleep.delays == []  # nothing was retried
    assert metric(registry, "kpi_ingest_retries_total") == 0
    # The batch, then the record on its own, failed for good.
    assert metric(registry, "kpi_ingest_processing_errors_total") == 2
    assert (
        metric(
            registry, "kpi_ingest_rejected_total", event_type="policy", reason="processing_error"
        )
        == 1
    )
    assert metric(registry, "kpi_ingest_accepted_total", event_type="policy") == 2


async def test_the_partition_moves_on_after_a_poisoned_record(org: OrgDirectory) -> None:
    output = RefusingOutput("pol-bad")
    ingest, _, _ = pipeline(org, output)
    await ingest.handle([policy("pol-bad", 1)])

    summary = await ingest.handle([policy("pol-3", 2)])

    assert summary.accepted == 1
    assert [json.loads(m.value)["event"]["policy_id"] for m in output.on(topics.EVENTS)] == [
        "pol-3"
    ]


async def test_a_triage_bug_on_one_record_dead_letters_only_that_record(
    org: OrgDirectory,
) -> None:
    output = RecordingOutput()
    ingest, registry, _ = pipeline(org, output, BuggyTriage(make_triage(org=org), offset=5))

    summary = await ingest.handle([policy("pol-1", 4), policy("pol-2", 5), policy("pol-3", 6)])

    assert summary == BatchSummary(accepted=2, rejected=1, duplicates=0)
    [letter] = letters(output)
    assert (letter.reason, letter.offset) == ("processing_error", 5)
    assert "KeyError" in letter.detail
    assert metric(registry, "kpi_ingest_processing_errors_total") == 1


async def test_a_transient_failure_is_retried_with_backoff_not_dead_lettered(
    org: OrgDirectory,
) -> None:
    output = RecordingOutput()
    ingest, registry, sleep = pipeline(org, output)
    output.fail_next(2)

    summary = await ingest.handle([policy("pol-1", 1)])

    assert summary == BatchSummary(accepted=1, rejected=0, duplicates=0)
    assert sleep.delays == [0.05, 0.05]
    assert letters(output) == []
    assert metric(registry, "kpi_ingest_retries_total") == 2
    assert metric(registry, "kpi_ingest_processing_errors_total") == 0
