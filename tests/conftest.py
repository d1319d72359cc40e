"""Fixtures shared by every tier. The real broker and database start once per session, on free
ports, under a temporary state directory, and only when a test asks for them."""

import pytest

# Shared test cases live in a support module; let pytest explain their failing asserts too.
pytest.register_assert_rewrite("tests.support.state_store_contract")

pytest_plugins = ["tests.support.stack_fixtures"]
