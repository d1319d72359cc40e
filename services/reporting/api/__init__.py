"""Reporting's read-only HTTP API under `/api/v1` (routes) and its shapes (models)."""
