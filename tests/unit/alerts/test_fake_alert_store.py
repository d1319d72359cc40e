"""`MemoryAlertStore` keeps `MongoAlertStore`'s promises (the shared cases of
`tests/support/alert_store_contract.py`, which
`tests/integration/test_alert_and_scorecard_stores.py` runs against the real database), so unit
tests of the alerts service can trust it."""

import pytest

from tests.support.alert_store_contract import AlertStoreContract
from tests.support.fake_alert_store import MemoryAlertStore


class TestMemoryAlertStore(AlertStoreContract):
    @pytest.fixture
    def store(self) -> MemoryAlertStore:
        return MemoryAlertStore()
