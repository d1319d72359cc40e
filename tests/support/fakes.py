"""Hand-written fakes for unit tests (no servers, no mocks): the ingest service's ports, and the
clock and sleep every service takes.

- `MemoryClaimStore`: the `ClaimStore` protocol on a dict, with MongoClaimStore's semantics
  (first claimant wins; the same claimant again is a re-delivery, not a duplicate); it can be
  told to fail its next calls, as a lost database would.
- `RecordingOutput`: an `OutputPort` that keeps every acknowledged message and can be told to
  fail its next calls, as a lost broker would.
- `FakeClock`: a fixed, steppable clock of aware datetimes; the one fake clock of the tests.
- `RecordingSleep`: an `asyncio.sleep` stand-in that returns at once and remembers the delays.
"""

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from services.ingest.claims import Claim
from shared import errors
from shared.kafka_output import Outbound


class StoreUnavailable(errors.StoreUnavailable, ConnectionError):
    """What a `MemoryClaimStore` raises while told to fail (a database that went away): the
    transient error `MongoClaimStore` translates a lost connection into."""


class MemoryClaimStore:
    """In-memory `ClaimStore`: key → the position (`topic:partition:offset`) that claimed it."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}
        self.calls = 0
        self._fail_remaining = 0

    def fail_next(self, calls: int) -> None:
        """Raise `StoreUnavailable` from the next `calls` calls, claiming nothing."""
        self._fail_remaining = calls

    async def claim(self, claims: Sequence[Claim], now: datetime) -> set[str]:
        self.calls += 1
        if self._fail_remaining > 0:
            self._fail_remaining -= 1
            raise StoreUnavailable("database unavailable")
        duplicates = set()
        for claim in claims:
            owner = self.owners.setdefault(claim.key, claim.claimant)
            if owner != claim.claimant:
                duplicates.add(claim.claimant)
        return duplicates


class OutputUnavailable(errors.OutputUnavailable, ConnectionError):
    """What a `RecordingOutput` raises while told to fail (a broker that went away): the
    transient error `KafkaOutput` translates a lost connection into."""


class RecordingOutput:
    """`OutputPort` that records what it acknowledged; `fail_next` makes it refuse calls, and
    `hold` keeps every call waiting for its acknowledgement until `release`."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []
        self.calls = 0
        self.failures = 0
        self._fail_remaining = 0
        self._error: BaseException = OutputUnavailable("broker unavailable")
        self._open = asyncio.Event()
        self._open.set()

    def hold(self) -> None:
        """Acknowledge nothing until `release`."""
        self._open.clear()

    def release(self) -> None:
        """Acknowledge what waits, and what comes."""
        self._open.set()

    def fail_next(self, calls: int, error: BaseException | None = None) -> None:
        """Raise `error` (default `OutputUnavailable`) from the next `calls` calls."""
        self._fail_remaining = calls
        if error is not None:
            self._error = error

    async def send_all(self, messages: Sequence[Outbound]) -> None:
        self.calls += 1
        if self._fail_remaining > 0:
            self._fail_remaining -= 1
            self.failures += 1
            raise self._error
        if messages:  # nothing to acknowledge in an empty call, as on Kafka
            await self._open.wait()
        self.sent.extend(messages)

    def on(self, topic: str) -> list[Outbound]:
        """The acknowledged messages of one topic, in the order they were sent."""
        return [message for message in self.sent if message.topic == topic]


class FakeClock:
    """A clock that stands still until told to move; call it for "now"."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("a FakeClock needs an aware datetime")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move time forward (or back, with a negative delta)."""
        self.now += delta

    def set(self, now: datetime) -> None:
        """Jump to an instant."""
        if now.tzinfo is None:
            raise ValueError("a FakeClock needs an aware datetime")
        self.now = now


class RecordingSleep:
    """Stands in for `asyncio.sleep`: returns at once, keeps each requested delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
