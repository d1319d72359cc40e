"""The alerts service's published read model: the one alerts module other services may import.

Reporting's console and API, and `kpi alerts`, read alerts through `AlertQueries`, never
through the alerts store or its document layout, so the alerts service can change how it keeps
its alerts by changing the adapter here alone. Three pieces:

- `AlertQueries`, the protocol: every alert's latest message, firing or resolved, newest first;
- `mongo_alert_queries`, the adapter on the alerts service's MongoDB collection (read-only);
- `MemoryAlertQueries`, an in-memory fake filled with alert messages, for other services' unit
  tests. Both keep the promises of `tests/support/alert_queries_contract.py`.

An alert carries what its rule found, customer ids and phone hashes of fraud evidence
included: a reader that shows alerts to people removes those itself.
"""

from collections.abc import Iterable
from typing import Protocol

from pymongo import AsyncMongoClient

from shared import mongo
from shared.messages.alert import Alert, AlertState

from .store import MongoAlertStore

__all__ = ["AlertQueries", "MemoryAlertQueries", "mongo_alert_queries", "newest_first"]


class AlertQueries(Protocol):
    """Alerts as the alerts service has stored them, read-only."""

    async def alerts(self, state: AlertState | None = None) -> list[Alert]:
        """Every alert's latest message (or those in `state`), the latest started first, alerts
        that started at the same time in the order of their ids."""
        ...


def newest_first(alerts: Iterable[Alert]) -> list[Alert]:
    """The order `AlertQueries.alerts` answers in."""
    by_id = sorted(alerts, key=lambda a: a.alert_id)
    return sorted(by_id, key=lambda a: a.started_at, reverse=True)


class _StoreAlertQueries:
    def __init__(self, store: MongoAlertStore) -> None:
        self._store = store

    async def alerts(self, state: AlertState | None = None) -> list[Alert]:
        return await self._store.list_alerts(state)


def mongo_alert_queries(client: AsyncMongoClient[mongo.Document], database: str) -> AlertQueries:
    """The read model on the alerts service's MongoDB collection (`MONGODB_DATABASE`)."""
    return _StoreAlertQueries(MongoAlertStore(client, database))


class MemoryAlertQueries:
    """An in-memory `AlertQueries` for tests: put alert messages; the last one put of each
    alert id is its latest."""

    def __init__(self, alerts: Iterable[Alert] = ()) -> None:
        self._latest: dict[str, Alert] = {}
        self.put(alerts)

    def put(self, alerts: Iterable[Alert]) -> None:
        """Add messages, each replacing any earlier one of the same alert id."""
        for alert in alerts:
            self._latest[alert.alert_id] = alert

    async def alerts(self, state: AlertState | None = None) -> list[Alert]:
        wanted = (a for a in self._latest.values() if state is None or a.state is state)
        return newest_first(wanted)
