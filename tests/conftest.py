"""Fixtures shared by every tier. The real broker and database start once per session, on free
ports, under a temporary state directory, and only when a test asks for them."""

pytest_plugins = ["tests.support.stack_fixtures"]
