"""Fixtures shared by every tier. The real broker and database start once per session, on free
ports, under a temporary state directory, and only when a test asks for them."""

import pytest

# Shared test cases live in support modules; let pytest explain their failing asserts too.
pytest.register_assert_rewrite(
    "tests.support.state_store_contract",
    "tests.support.alert_store_contract",
    "tests.support.scorecard_store_contract",
    "tests.support.claim_store_contract",
)

pytest_plugins = ["tests.support.stack_fixtures"]
