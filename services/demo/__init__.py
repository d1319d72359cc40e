"""The demo company's event stream: a deterministic, realistic generator for `kpi demo`."""

from .generator import generate_events, write_jsonl
from .profiles import DEMO_QUIET_BRANCHES

__all__ = ["DEMO_QUIET_BRANCHES", "generate_events", "write_jsonl"]
