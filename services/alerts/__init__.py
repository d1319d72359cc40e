"""Alerts: rule evaluation on scores and raw signals, alert lifecycle, Prometheus (DESIGN §8)."""
