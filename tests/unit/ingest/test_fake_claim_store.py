"""`MemoryClaimStore` keeps `MongoClaimStore`'s promises (the shared cases of
`tests/support/claim_store_contract.py`, which `tests/integration/test_claim_log.py` runs
against the real database), so the pipeline's unit tests can trust it."""

import pytest

from tests.support.claim_store_contract import ClaimStoreContract
from tests.support.fakes import MemoryClaimStore


class TestMemoryClaimStore(ClaimStoreContract):
    @pytest.fixture
    def store(self) -> MemoryClaimStore:
        return MemoryClaimStore()
