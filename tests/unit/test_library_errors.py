"""Library errors translated at the boundary: PyMongo's and aiokafka's exceptions become a
transient `StoreUnavailable`/`OutputUnavailable` or a permanent `StoreError`/`OutputError`,
in the classifier and in each adapter (ingest claims, alerts, reporting, scoring's state, the
Kafka output), built from the library's exception instances and hand-written fakes."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    LeaderNotAvailableError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WriteError,
)

from services.alerts.store import MongoAlertStore
from services.ingest.claims import Claim, MongoClaimStore
from services.reporting.store import MongoScorecardStore
from services.scoring.mongo_store import MongoStateStore
from services.scoring.ports import StateStoreError, StateStoreUnavailable
from shared.errors import (
    OutputError,
    OutputUnavailable,
    StoreError,
    StoreUnavailable,
    TransientError,
)
from shared.kafka_output import KafkaOutput, Outbound
from shared.settings import Settings
from shared.transient import kafka_transient, mongo_transient, output_failure, store_failure

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def _labelled(label: str) -> PyMongoError:
    error = OperationFailure("aborted", 0)
    error._add_error_label(label)
    return error


TRANSIENT_MONGO = [
    pytest.param(AutoReconnect("primary gone"), id="auto-reconnect"),
    pytest.param(ConnectionFailure("refused"), id="connection-failure"),
    pytest.param(NetworkTimeout("timed out"), id="network-timeout"),
    pytest.param(ServerSelectionTimeoutError("no primary"), id="server-selection"),
    pytest.param(ExecutionTimeout("maxTimeMS", 50), id="execution-timeout"),
    pytest.param(OperationFailure("WriteConflict", 112), id="write-conflict"),
    pytest.param(OperationFailure("NoSuchTransaction", 251), id="no-such-transaction"),
    pytest.param(_labelled("TransientTransactionError"), id="transient-transaction-label"),
    pytest.param(_labelled("RetryableWriteError"), id="retryable-write-label"),
    pytest.param(
        BulkWriteError({"writeErrors": [{"index": 0, "code": 112}]}), id="bulk-write-conflict"
    ),
]
PERMANENT_MONGO = [
    pytest.param(OperationFailure("Unauthorized", 13), id="unauthorized"),
    pytest.param(OperationFailure("BSONObjectTooLarge", 10334), id="document-too-large"),
    pytest.param(
        BulkWriteError({"writeErrors": [{"index": 0, "code": 121}]}), id="bulk-validation"
    ),
]
TRANSIENT_KAFKA = [
    pytest.param(KafkaConnectionError("refused"), id="connection"),
    pytest.param(KafkaTimeoutError(), id="timeout"),
    pytest.param(RequestTimedOutError(), id="request-timed-out"),
    pytest.param(NotLeaderForPartitionError(), id="not-leader"),
    pytest.param(LeaderNotAvailableError(), id="leader-not-available"),
    pytest.param(UnknownTopicOrPartitionError(), id="retriable-flag"),
]
PERMANENT_KAFKA = [
    pytest.param(MessageSizeTooLargeError(), id="too-large"),
    pytest.param(TopicAuthorizationFailedError(), id="unauthorized"),
    pytest.param(KafkaError("unknown"), id="plain"),
]


@pytest.mark.parametrize("error", TRANSIENT_MONGO)
def test_transient_mongo_errors_are_retried(error: PyMongoError) -> None:
    assert mongo_transient(error)
    translated = store_failure(error, "cannot save 3 alerts")
    assert isinstance(translated, StoreUnavailable)
    assert str(translated).startswith("cannot save 3 alerts: ")


@pytest.mark.parametrize("error", PERMANENT_MONGO)
def test_permanent_mongo_errors_are_not(error: PyMongoError) -> None:
    assert not mongo_transient(error)
    translated = store_failure(error, "cannot save 3 alerts")
    assert isinstance(translated, StoreError)
    assert not isinstance(translated, TransientError)


@pytest.mark.parametrize("error", TRANSIENT_KAFKA)
def test_transient_kafka_errors_are_retried(error: KafkaError) -> None:
    assert kafka_transient(error)
    assert isinstance(output_failure(error, "cannot publish"), OutputUnavailable)


@pytest.mark.parametrize("error", PERMANENT_KAFKA)
def test_permanent_kafka_errors_are_not(error: KafkaError) -> None:
    assert not kafka_transient(error)
    translated = output_failure(error, "cannot publish")
    assert isinstance(translated, OutputError)
    assert not isinstance(translated, TransientError)


# -- the adapters ----------------------------------------------------------------------------


class FailingCollection:
    """Every call raises `error`, as PyMongo would with the database gone or refusing."""

    def __init__(self, error: PyMongoError) -> None:
        self.error = error
        self.name = "failing"

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: object, **kwargs: object) -> None:
            raise self.error

        return fail

    def find(self, *args: object, **kwargs: object) -> "FailingCursor":
        return FailingCursor(self.error)


class FailingCursor:
    def __init__(self, error: PyMongoError) -> None:
        self.error = error

    def sort(self, *args: object) -> "FailingCursor":
        return self

    def __aiter__(self) -> "FailingCursor":
        return self

    async def __anext__(self) -> Any:
        raise self.error


class FailingClient:
    """`client[database][collection]` is a `FailingCollection`."""

    def __init__(self, error: PyMongoError) -> None:
        self.error = error

    def __getitem__(self, name: str) -> "FailingClient | FailingCollection":
        return FailingCollection(self.error) if name != "kpi" else self

    def start_session(self) -> Any:
        raise self.error


def _client(error: PyMongoError) -> AsyncMongoClient[dict[str, Any]]:
    return cast("AsyncMongoClient[dict[str, Any]]", FailingClient(error))


LOST = AutoReconnect("connection reset")
REFUSED = OperationFailure("not authorized on kpi", 13)


@pytest.mark.parametrize(("error", "kind"), [(LOST, StoreUnavailable), (REFUSED, StoreError)])
async def test_the_claim_store_translates(error: PyMongoError, kind: type[StoreError]) -> None:
    collection = cast("AsyncCollection[dict[str, Any]]", FailingCollection(error))
    store = MongoClaimStore(collection, timedelta(days=1))

    with pytest.raises(kind, match="cannot claim 1 event keys") as raised:
        await store.claim([Claim("src:1", "t:0:1")], NOW)

    assert raised.value.__cause__ is error
    assert isinstance(raised.value, TransientError) == (kind is StoreUnavailable)


class RefusingLog(FailingCollection):
    """An empty claim log that refuses the insert of a chunk with `error`."""

    def find(self, *args: object, **kwargs: object) -> "EmptyCursor":  # type: ignore[override]
        return EmptyCursor()


class EmptyCursor:
    def sort(self, *args: object) -> "EmptyCursor":
        return self

    def __aiter__(self) -> "EmptyCursor":
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


async def test_the_claim_store_translates_a_write_error_other_than_a_duplicate() -> None:
    refused = WriteError("document failed validation", 121)
    store = MongoClaimStore(
        cast("AsyncCollection[dict[str, Any]]", RefusingLog(refused)), timedelta(days=1)
    )

    with pytest.raises(StoreError) as raised:
        await store.claim([Claim("a:1", "t:0:1"), Claim("a:2", "t:0:2")], NOW)

    assert raised.value.__cause__ is refused
    assert not isinstance(raised.value, TransientError)


@pytest.mark.parametrize(("error", "kind"), [(LOST, StoreUnavailable), (REFUSED, StoreError)])
async def test_the_alert_store_translates(error: PyMongoError, kind: type[StoreError]) -> None:
    store = MongoAlertStore(_client(error), "kpi")

    with pytest.raises(kind, match="cannot load the stored alerts"):
        await store.load(timedelta(days=1))
    with pytest.raises(kind, match="cannot list the alerts"):
        await store.list_alerts()
    with pytest.raises(kind, match="cannot create the alerts indexes"):
        await store.ensure_schema()


@pytest.mark.parametrize(("error", "kind"), [(LOST, StoreUnavailable), (REFUSED, StoreError)])
async def test_the_scorecard_store_translates(error: PyMongoError, kind: type[StoreError]) -> None:
    store = MongoScorecardStore(_client(error), "kpi")

    with pytest.raises(kind, match="cannot read the scorecards of 2024-05"):
        await store.latest_of_period("2024-05")
    with pytest.raises(kind, match="cannot mark 2024-05 final"):
        await store.mark_final("2024-05")
    with pytest.raises(kind, match="cannot read reporting's horizon"):
        await store.horizon()


@pytest.mark.parametrize(
    ("error", "kind"), [(LOST, StateStoreUnavailable), (REFUSED, StateStoreError)]
)
async def test_the_state_store_translates(error: PyMongoError, kind: type[StoreError]) -> None:
    store = MongoStateStore(_client(error), "kpi")

    with pytest.raises(kind, match="cannot read the stream time of group g") as raised:
        await store.group_clock("g")

    assert isinstance(raised.value, TransientError) == (kind is StateStoreUnavailable)


class FakeBatch:
    """A record batch with room for every message."""

    def append(self, *, key: bytes | None, value: bytes, timestamp: int | None) -> object:
        return object()

    def close(self) -> None:
        return None


class FakeProducer:
    """An `AIOKafkaProducer` stand-in whose batches fail with `error` once acknowledged."""

    def __init__(self, error: KafkaError, **options: object) -> None:
        self.error = error

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def create_batch(self) -> FakeBatch:
        return FakeBatch()

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(self.error)
        return future


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (KafkaConnectionError("refused"), OutputUnavailable),
        (MessageSizeTooLargeError(), OutputError),
    ],
)
async def test_the_kafka_output_translates(error: KafkaError, kind: type[OutputError]) -> None:
    output = KafkaOutput(
        Settings(), "test", producer_factory=lambda **options: FakeProducer(error, **options)
    )
    await output.start()
    messages: Sequence[Outbound] = [
        Outbound("kpi.events.v1", None, b"{}"),
        Outbound("kpi.events.v1", None, b"{}"),
        Outbound("kpi.deadletter.v1", None, b"{}"),
    ]

    with pytest.raises(kind, match=r"3 messages \(2 to kpi.events.v1, 1 to kpi.deadletter.v1\)"):
        await output.send_all(messages)


async def test_the_kafka_output_before_start_is_a_permanent_error() -> None:
    with pytest.raises(OutputError, match="before start"):
        await KafkaOutput(Settings(), "test").send_all([])
