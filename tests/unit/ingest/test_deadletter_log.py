"""Dead letters in ingest's log are sampled: the first of each reason per window one by one,
the rest counted in one summary line when the window closes."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from services.ingest.deadletter_log import DeadLetterLog
from services.ingest.triage import Record, Rejected
from shared.events import ContractViolation, RejectReason
from shared.messages import DeadLetter

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)


def _rejected(offset: int, reason: RejectReason) -> Rejected:
    record = Record("insurance.policy.v1", 0, offset, b"{}", None)
    letter = DeadLetter.from_violation(
        b"{}",
        topic=record.topic,
        partition=record.partition,
        offset=offset,
        violation=ContractViolation(reason, "what was wrong"),
        received_at=T0,
    )
    return Rejected(record, letter, "policy")


def test_the_first_of_each_reason_are_logged_then_summed_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = DeadLetterLog(logging.getLogger("test.deadletters"), per_reason=2)
    with caplog.at_level(logging.WARNING, logger="test.deadletters"):
        for offset in range(5):
            log.log(_rejected(offset, RejectReason.SCHEMA_VIOLATION), T0)
        later = T0 + timedelta(seconds=10)
        log.log(_rejected(5, RejectReason.TOO_LARGE), later)
        one_by_one = [r for r in caplog.records if r.getMessage().startswith("dead-lettered:")]
        assert [r.offset for r in one_by_one] == [0, 1, 5]  # type: ignore[attr-defined]
        caplog.clear()

        log.roll(T0 + timedelta(minutes=1))  # the window closes: one summary line

    [summary] = caplog.records
    assert summary.dead_letters == {"schema_violation": 5, "too_large": 1}  # type: ignore[attr-defined]
    assert summary.unlogged == {"schema_violation": 3}  # type: ignore[attr-defined]


def test_a_window_where_every_letter_was_logged_needs_no_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = DeadLetterLog(logging.getLogger("test.deadletters"), per_reason=10)
    with caplog.at_level(logging.WARNING, logger="test.deadletters"):
        log.log(_rejected(0, RejectReason.MALFORMED_JSON), T0)
        log.roll(T0 + timedelta(minutes=2))
    assert len(caplog.records) == 1
