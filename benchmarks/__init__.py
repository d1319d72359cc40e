"""Benchmarks (`make bench`): measured, recorded in docs/benchmarks.md, never asserted in tests."""
