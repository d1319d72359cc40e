"""The resilience tier's check that no alert episode fired twice (tests/resilience/end_state.py):
a severity change while firing is one episode, a copy re-sent byte for byte is counted apart,
and a second start or a repeat at the same severity fails."""

import json

from tests.resilience.end_state import AlertRecord, repeated_firings

S1, S2 = "2026-08-17T06:24:44Z", "2026-09-01T00:00:00Z"


def _records(*messages: tuple[str, str, str, str]) -> list[AlertRecord]:
    """(alert id, state, started_at, severity) in partition 1, offsets from 0."""
    return [
        AlertRecord(
            1,
            offset,
            json.dumps(
                dict(zip(("alert_id", "state", "started_at", "severity"), m, strict=True))
            ).encode(),
        )
        for offset, m in enumerate(messages)
    ]


def test_severity_changing_back_and_forth_is_one_episode() -> None:
    records = _records(
        ("a", "firing", S1, "critical"),
        ("b", "firing", S1, "warning"),
        ("a", "firing", S1, "warning"),
        ("a", "firing", S1, "critical"),
        ("a", "resolved", S1, "critical"),
        ("a", "firing", S2, "critical"),  # a new episode after the resolve
    )
    assert repeated_firings(records) == ({}, 0)


def test_a_copy_right_after_itself_is_counted_not_failed() -> None:
    records = _records(("a", "firing", S1, "critical"), ("a", "firing", S1, "critical"))
    assert repeated_firings(records) == ({}, 1)


def test_an_episode_that_starts_twice_fails() -> None:
    records = _records(
        ("a", "firing", S1, "critical"),
        ("a", "resolved", S1, "critical"),
        ("a", "firing", S1, "critical"),
    )
    assert repeated_firings(records) == ({("a", S1): [(1, 0), (1, 2)]}, 0)


def test_a_firing_again_at_the_same_severity_with_other_content_fails() -> None:
    first, second = _records(("a", "firing", S1, "critical"), ("a", "firing", S1, "critical"))
    changed = AlertRecord(1, 1, second.value.replace(b"}", b', "value": "0.5"}'))
    assert repeated_firings([first, changed]) == ({("a", S1): [(1, 0), (1, 1)]}, 0)
