"""`MemoryScorecardStore` keeps `MongoScorecardStore`'s promises (the shared cases of
`tests/support/scorecard_store_contract.py`, which
`tests/integration/test_alert_and_scorecard_stores.py` runs against the real database), so unit
tests of the reporting service can trust it."""

import pytest

from tests.support.fake_scorecard_store import MemoryScorecardStore
from tests.support.scorecard_store_contract import ScorecardStoreContract


class TestMemoryScorecardStore(ScorecardStoreContract):
    @pytest.fixture
    def store(self) -> MemoryScorecardStore:
        return MemoryScorecardStore()
