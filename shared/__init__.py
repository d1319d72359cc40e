"""Shared package of the KPI platform: event contract, topics, settings, logging, metrics,
client factories and the embedded local stack. Nothing here performs I/O at import time."""
