"""Where the alerts service keeps what must survive a restart: every alert's latest state, the
score values drop rules compare against, and the surveys still inside a fraud window.

`AlertStore` is the port; `MongoAlertStore` keeps it in three MongoDB collections:
`alerts` (one document per alert id: its latest message), `alert_values` and
`alert_surveys`. Every write is an idempotent upsert, so a batch handled twice after a crash
writes the same documents. PyMongo's errors are translated at this boundary: a
`StoreUnavailable` is retried by the service, a permanent `StoreError` is not.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReplaceOne, UpdateOne

from shared.events.canonical import KpiEvent
from shared.messages.alert import Alert, AlertState
from shared.transient import store_errors

from .domain.engine import RememberedValue

ALERTS = "alerts"
VALUES = "alert_values"
SURVEYS = "alert_surveys"


@dataclass(frozen=True, slots=True)
class StoredState:
    """What a restarting service restores its engine from."""

    alerts: list[Alert]
    values: list[RememberedValue]
    surveys: list[KpiEvent]


class AlertStore(Protocol):
    async def ensure_schema(self) -> None: ...

    async def load(self, survey_window: timedelta) -> StoredState:
        """Stored alerts and values, and the surveys within `survey_window` of the newest."""
        ...

    async def save(
        self,
        alerts: Sequence[Alert],
        values: Sequence[RememberedValue],
        surveys: Sequence[KpiEvent],
    ) -> None: ...

    async def list_alerts(self, state: AlertState | None = None) -> list[Alert]:
        """Every alert's latest message, newest first."""
        ...


def value_id(value: RememberedValue) -> str:
    return f"{value.entity}|{value.kpi}|{value.period}"


class MongoAlertStore:
    """`AlertStore` on MongoDB."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        db = client[database]
        self._alerts = db[ALERTS]
        self._values = db[VALUES]
        self._surveys = db[SURVEYS]

    async def ensure_schema(self) -> None:
        with store_errors("cannot create the alerts indexes"):
            await self._alerts.create_index([("state", ASCENDING), ("started_at", DESCENDING)])
            await self._surveys.create_index([("occurred_at", DESCENDING)])

    async def load(self, survey_window: timedelta) -> StoredState:
        with store_errors("cannot load the stored alerts, values and surveys"):
            return await self._load(survey_window)

    async def _load(self, survey_window: timedelta) -> StoredState:
        alerts = [_alert(doc) async for doc in self._alerts.find({})]
        values = [
            RememberedValue(doc["entity"], doc["kpi"], doc["period"], _decimal(doc["value"]))
            async for doc in self._values.find({})
        ]
        newest = await self._surveys.find_one({}, sort=[("occurred_at", DESCENDING)])
        surveys: list[KpiEvent] = []
        if newest is not None:
            since: datetime = newest["occurred_at"] - survey_window
            cursor = self._surveys.find({"occurred_at": {"$gt": since}})
            surveys = [KpiEvent.model_validate_json(doc["event"]) async for doc in cursor]
        return StoredState(alerts, values, surveys)

    async def save(
        self,
        alerts: Sequence[Alert],
        values: Sequence[RememberedValue],
        surveys: Sequence[KpiEvent],
    ) -> None:
        what = f"cannot save {len(alerts)} alerts, {len(values)} values, {len(surveys)} surveys"
        with store_errors(what):
            await self._save(alerts, values, surveys)

    async def _save(
        self,
        alerts: Sequence[Alert],
        values: Sequence[RememberedValue],
        surveys: Sequence[KpiEvent],
    ) -> None:
        latest = {alert.alert_id: alert for alert in alerts}  # the last message of each id wins
        if latest:
            await self._alerts.bulk_write(
                [
                    ReplaceOne({"_id": alert_id}, _document(alert), upsert=True)
                    for alert_id, alert in latest.items()
                ],
                ordered=False,
            )
        if values:
            await self._values.bulk_write(
                [
                    UpdateOne(
                        {"_id": value_id(v)},
                        {
                            "$set": {
                                "entity": v.entity,
                                "kpi": v.kpi,
                                "period": v.period,
                                "value": None if v.value is None else str(v.value),
                            }
                        },
                        upsert=True,
                    )
                    for v in values
                ],
                ordered=False,
            )
        if surveys:
            await self._surveys.bulk_write(
                [
                    ReplaceOne(
                        {"_id": event.key},
                        {
                            "occurred_at": event.event.occurred_at,
                            "event": event.model_dump_json(),
                        },
                        upsert=True,
                    )
                    for event in surveys
                ],
                ordered=False,
            )

    async def list_alerts(self, state: AlertState | None = None) -> list[Alert]:
        query: dict[str, Any] = {} if state is None else {"state": state.value}
        cursor = self._alerts.find(query).sort([("started_at", DESCENDING), ("_id", ASCENDING)])
        with store_errors("cannot list the alerts"):
            return [_alert(doc) async for doc in cursor]


def _document(alert: Alert) -> dict[str, Any]:
    return {
        "state": alert.state.value,
        "started_at": alert.started_at,
        "alert": alert.model_dump_json(),
    }


def _alert(doc: dict[str, Any]) -> Alert:
    return Alert.model_validate_json(doc["alert"])


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
