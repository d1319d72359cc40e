"""Ingest: validates, normalises, de-duplicates and enriches upstream events (DESIGN §2)."""
