"""`retry.until_done`: only a `TransientError` is retried, with backoff; anything else fails
at once, counted and logged with where the batch was read."""

import logging

import pytest

from shared import retry
from shared.batch_span import BatchSpan
from shared.errors import ConfigError, StoreUnavailable
from tests.support.fakes import RecordingSleep

SPAN = BatchSpan.of(
    "test batch", [("insurance.policy.v1", 2, 7), ("insurance.policy.v1", 2, 9)], ["ev-1"]
)


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


class Step:
    """Raises the given errors in turn, then returns the number of calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.calls


async def test_a_transient_error_is_retried_with_doubling_backoff() -> None:
    sleep, retries, failures = RecordingSleep(), Counter(), Counter()
    step = Step(*(StoreUnavailable("lost the database") for _ in range(4)))

    result = await retry.until_done(
        step, where=SPAN, max_backoff_s=3.0, sleep=sleep, on_retry=retries, on_failure=failures
    )

    assert result == 5
    assert sleep.delays == [0.5, 1.0, 2.0, 3.0]
    assert (retries.count, failures.count) == (4, 0)


@pytest.mark.parametrize(
    "error", [ValueError("a bug"), ConfigError("permanent"), ConnectionError("untranslated")]
)
async def test_any_other_error_is_raised_at_once_and_counted(error: Exception) -> None:
    sleep, retries, failures = RecordingSleep(), Counter(), Counter()
    step = Step(error)

    with pytest.raises(type(error)):
        await retry.until_done(
            step, where=SPAN, max_backoff_s=1.0, sleep=sleep, on_retry=retries, on_failure=failures
        )

    assert step.calls == 1
    assert sleep.delays == []
    assert (retries.count, failures.count) == (0, 1)


async def test_give_up_on_errors_propagate_uncounted() -> None:
    failures = Counter()

    with pytest.raises(ConfigError):
        await retry.until_done(
            Step(ConfigError("fenced")),
            where=SPAN,
            max_backoff_s=1.0,
            sleep=RecordingSleep(),
            on_failure=failures,
            give_up_on=(ConfigError,),
        )

    assert failures.count == 0


async def test_log_lines_name_topic_partition_offsets_and_event_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="shared.retry")

    with pytest.raises(ValueError, match="a bug"):
        await retry.until_done(
            Step(StoreUnavailable("lost"), ValueError("a bug")),
            where=SPAN,
            max_backoff_s=1.0,
            sleep=RecordingSleep(),
        )

    retried, failed = caplog.records
    for line in (retried, failed):
        assert line.topic == "insurance.policy.v1"  # type: ignore[attr-defined]
        assert line.partition == 2  # type: ignore[attr-defined]
        assert line.offset == 7  # type: ignore[attr-defined]
        assert line.last_offset == 9  # type: ignore[attr-defined]
        assert line.event_ids == ["ev-1"]  # type: ignore[attr-defined]
        assert "insurance.policy.v1[2]@7..9" in line.getMessage()
    assert (retried.levelname, failed.levelname) == ("WARNING", "ERROR")
    assert failed.exc_info is not None


def test_a_span_over_several_partitions_lists_every_range() -> None:
    span = BatchSpan.of("b", [("t", 1, 5), ("t", 0, 3), ("t", 1, 4), ("u", 0, 8)])

    assert str(span) == "b t[0]@3, t[1]@4..5, u[0]@8"
    assert span.log_fields() == {"offsets": "t[0]@3, t[1]@4..5, u[0]@8"}
