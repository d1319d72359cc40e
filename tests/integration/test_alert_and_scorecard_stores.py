"""The alerts and reporting stores on the real local database keep the promises their in-memory
fakes keep in unit tests: the shared cases of `tests/support/alert_store_contract.py` and
`tests/support/scorecard_store_contract.py`; and the alerts service's read model on MongoDB
keeps those of `tests/support/alert_queries_contract.py`."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from services.alerts.read_model import AlertQueries, mongo_alert_queries
from services.alerts.store import MongoAlertStore
from services.reporting.store import MongoScorecardStore
from shared.messages import Alert
from tests.support.alert_queries_contract import AlertQueriesContract, Fill
from tests.support.alert_store_contract import AlertStoreContract
from tests.support.scorecard_store_contract import ScorecardStoreContract

pytestmark = pytest.mark.integration


class TestMongoAlertStore(AlertStoreContract):
    @pytest_asyncio.fixture(loop_scope="session")
    async def store(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
    ) -> AsyncIterator[MongoAlertStore]:
        name = f"a_{unique}"[:63]
        alerts = MongoAlertStore(mongo_client, name)
        await alerts.ensure_schema()
        yield alerts
        await mongo_client.drop_database(name)


class TestMongoAlertQueries(AlertQueriesContract):
    @pytest_asyncio.fixture(loop_scope="session")
    async def fill(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
    ) -> AsyncIterator[Fill]:
        """Each fill a database of its own, written by the alerts service's store one message
        at a time, as the service sends them."""
        names: list[str] = []

        async def filled(alerts: Sequence[Alert]) -> AlertQueries:
            name = f"aq{len(names)}_{unique}"[:63]
            names.append(name)
            store = MongoAlertStore(mongo_client, name)
            await store.ensure_schema()
            for message in alerts:
                await store.save([message], [], [])
            return mongo_alert_queries(mongo_client, name)

        yield filled
        for name in names:
            await mongo_client.drop_database(name)


class TestMongoScorecardStore(ScorecardStoreContract):
    @pytest_asyncio.fixture(loop_scope="session")
    async def store(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], unique: str
    ) -> AsyncIterator[MongoScorecardStore]:
        name = f"c_{unique}"[:63]
        cards = MongoScorecardStore(mongo_client, name)
        await cards.ensure_schema()
        yield cards
        await mongo_client.drop_database(name)
