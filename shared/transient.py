"""Which library errors are worth retrying, and their translation into the `KpiError` tree.

An adapter catches its library's errors at the boundary and raises `store_failure(...)` or
`output_failure(...)` from them: a `StoreUnavailable`/`OutputUnavailable` (transient, retried)
when the library says the same call may succeed later, else a permanent `StoreError`/
`OutputError`. The lists follow the drivers' own retry rules: PyMongo's error labels and the
server's retryable codes, and aiokafka's `retriable` flag.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    LeaderNotAvailableError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
)
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)

from .errors import OutputError, OutputUnavailable, StoreError, StoreUnavailable

WRITE_CONFLICT: Final = 112
NO_SUCH_TRANSACTION: Final = 251
# Server codes a retry can outlive: a conflicting or aborted transaction, an election or a
# shutdown in progress, a timed-out operation or write concern, an unreachable host.
TRANSIENT_CODES: Final = frozenset(
    {
        6,  # HostUnreachable
        7,  # HostNotFound
        50,  # MaxTimeMSExpired
        64,  # WriteConcernFailed
        89,  # NetworkTimeout
        91,  # ShutdownInProgress
        WRITE_CONFLICT,
        189,  # PrimarySteppedDown
        NO_SUCH_TRANSACTION,
        262,  # ExceededTimeLimit
        9001,  # SocketException
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
        13436,  # NotPrimaryOrSecondary
    }
)
_LABELS: Final = ("TransientTransactionError", "RetryableWriteError")
_KAFKA_TRANSIENT: Final = (
    KafkaConnectionError,
    KafkaTimeoutError,
    RequestTimedOutError,
    NotLeaderForPartitionError,
    LeaderNotAvailableError,
)


def _bulk_transient(exc: BulkWriteError) -> bool:
    write_errors = exc.details.get("writeErrors", [])
    if write_errors:
        return all(error.get("code") in TRANSIENT_CODES for error in write_errors)
    return bool(exc.details.get("writeConcernErrors"))


def mongo_transient(exc: PyMongoError) -> bool:
    """True when PyMongo says the same operation may succeed if tried again."""
    if isinstance(exc, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        return True  # AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError included
    if any(exc.has_error_label(label) for label in _LABELS):
        return True
    if isinstance(exc, BulkWriteError):
        return _bulk_transient(exc)
    if isinstance(exc, OperationFailure):
        return exc.code in TRANSIENT_CODES
    return exc.timeout


def kafka_transient(exc: KafkaError) -> bool:
    """True when aiokafka says a request may succeed if sent again."""
    return isinstance(exc, _KAFKA_TRANSIENT) or bool(getattr(exc, "retriable", False))


def store_failure(exc: PyMongoError, what: str) -> StoreError:
    """`what` ("cannot claim 12 event keys") failed with `exc`: transient or permanent."""
    kind = StoreUnavailable if mongo_transient(exc) else StoreError
    return kind(f"{what}: {type(exc).__name__}: {exc}")


def output_failure(exc: KafkaError, what: str) -> OutputError:
    """`what` ("cannot publish 3 messages to kpi.events.v1") failed with `exc`."""
    kind = OutputUnavailable if kafka_transient(exc) else OutputError
    return kind(f"{what}: {type(exc).__name__}: {exc}")


@contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Translate PyMongo's errors raised inside the block: `with store_errors("cannot save
    3 alerts"): await ...`."""
    try:
        yield
    except PyMongoError as exc:
        raise store_failure(exc, what) from exc
