"""A hand-written in-memory `AlertStore` with `MongoAlertStore`'s semantics, for unit tests.

- `save` keeps the last message of each alert id (the last of a batch wins), the latest value
  of each (entity, KPI, period) and each survey once by its key; saving a batch twice changes
  nothing.
- `load` restores every alert and value, and the surveys strictly newer than the newest one
  minus the window.
- `list_alerts` answers newest first (by `started_at`, then alert id), optionally of one state.

`tests/support/alert_store_contract.py` holds it to the same cases as `MongoAlertStore`.
"""

from collections.abc import Sequence
from datetime import timedelta

from services.alerts.domain.engine import RememberedValue
from services.alerts.store import StoredState
from shared.events.canonical import KpiEvent
from shared.messages import Alert, AlertState


class MemoryAlertStore:
    """`AlertStore` in memory: the latest message per alert id, values and surveys."""

    def __init__(self) -> None:
        self.alerts: dict[str, Alert] = {}
        self.values: dict[tuple[str, str, str], RememberedValue] = {}
        self.surveys: dict[str, KpiEvent] = {}

    async def ensure_schema(self) -> None:
        return None

    async def load(self, survey_window: timedelta) -> StoredState:
        surveys = list(self.surveys.values())
        if surveys:
            since = max(e.event.occurred_at for e in surveys) - survey_window
            surveys = [e for e in surveys if e.event.occurred_at > since]
        return StoredState(list(self.alerts.values()), list(self.values.values()), surveys)

    async def save(
        self,
        alerts: Sequence[Alert],
        values: Sequence[RememberedValue],
        surveys: Sequence[KpiEvent],
    ) -> None:
        self.alerts |= {a.alert_id: a for a in alerts}
        self.values |= {(v.entity, v.kpi, v.period): v for v in values}
        self.surveys |= {e.key: e for e in surveys}

    async def list_alerts(self, state: AlertState | None = None) -> list[Alert]:
        chosen = [a for a in self.alerts.values() if state is None or a.state is state]
        by_id = sorted(chosen, key=lambda a: a.alert_id)
        return sorted(by_id, key=lambda a: a.started_at, reverse=True)
