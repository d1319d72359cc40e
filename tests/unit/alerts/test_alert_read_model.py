"""The alerts service's read model in memory keeps the contract's promises
(`tests/support/alert_queries_contract.py`; the MongoDB adapter runs them in
`tests/integration/test_alert_and_scorecard_stores.py`)."""

from collections.abc import Sequence

import pytest

from services.alerts.read_model import AlertQueries, MemoryAlertQueries
from shared.messages import Alert
from tests.support.alert_queries_contract import AlertQueriesContract, Fill


class TestMemoryAlertQueries(AlertQueriesContract):
    @pytest.fixture
    def fill(self) -> Fill:
        async def filled(alerts: Sequence[Alert]) -> AlertQueries:
            return MemoryAlertQueries(alerts)

        return filled
