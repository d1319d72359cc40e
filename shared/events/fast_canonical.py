"""A canonical event as ingest writes it on its hot path, beside `KpiEvent` (the contract).

`CanonicalDocument` holds the values of `KpiEvent`'s fields in its order; msgspec writes them
byte for byte as `model_dump_json` writes the model (tests/unit/events/test_fast_paths.py holds
them to it), for a fraction of the cost of building the model and dumping it.
"""

from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

import msgspec
from pydantic import TypeAdapter

from .canonical import KpiEvent

_ZERO: Final = timedelta(0)
_AWARE: Final = TypeAdapter(datetime)


def json_datetime(moment: datetime) -> str:
    """An aware timestamp as pydantic writes it ('Z' for UTC)."""
    if moment.utcoffset() == _ZERO:
        return moment.replace(tzinfo=None).isoformat() + "Z"
    return str(_AWARE.dump_python(moment, mode="json"))


class CanonicalDocument(NamedTuple):
    """A canonical event as `KpiEvent`'s field values, with what the pipeline reads of it (a
    named tuple: one is made per record)."""

    values: dict[str, Any]
    """`KpiEvent`'s fields in its order; `watermark` is set when it is written."""
    key: str
    event_type: str
    event_id: str
    owner: str
    """The event's `agent_id`, or its `branch_id` for a branch's own event."""
    occurred_at: datetime
    """In UTC."""

    @classmethod
    def of(cls, event: KpiEvent) -> "CanonicalDocument":
        """The document of a model (the slow path)."""
        upstream = event.event
        return cls(
            event.model_dump(mode="json"),
            event.key,
            upstream.event_type,
            upstream.event_id,
            upstream.agent_id or upstream.branch_id or "",
            upstream.occurred_at,
        )

    def encode(self, watermark: datetime | None = None) -> bytes:
        """The JSON of `kpi.events.v1`, stamped with `watermark`."""
        if watermark is None:
            return msgspec.json.encode(self.values)
        return msgspec.json.encode({**self.values, "watermark": json_datetime(watermark)})

    def model(self) -> KpiEvent:
        """The document as its model, validated (for tests and tools, not the hot path)."""
        return KpiEvent.model_validate_json(self.encode(self.watermark))

    @property
    def watermark(self) -> datetime | None:
        stamp = self.values.get("watermark")
        return (
            stamp if isinstance(stamp, datetime) or stamp is None else _AWARE.validate_python(stamp)
        )
