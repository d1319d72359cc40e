"""Scoring: rolling KPI state in MongoDB with an exactly-once effect (DESIGN §7)."""
