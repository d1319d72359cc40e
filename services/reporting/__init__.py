"""Reporting: period close, weighted scorecards, HTML/CSV output (DESIGN §6)."""
