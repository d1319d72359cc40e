"""Ingest against the real broker and database: every good message becomes exactly one
canonical event, every bad one exactly one dead letter with the right reason."""

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from services.ingest.app import create_app
from shared import topics
from shared.config.loading import load_org
from shared.events import RejectReason
from shared.localstack.probes import free_port_block
from shared.settings import Settings
from tests.support.bad_corpus import bad_messages, good_messages
from tests.support.running import running
from tests.support.topics_io import covers, publish_raw, read_until, source_position

pytestmark = pytest.mark.integration
JST = timezone(timedelta(hours=9))


def _counter_total(app_registry: object, name: str) -> float:
    return sum(
        sample.value
        for metric in app_registry.collect()  # type: ignore[attr-defined]
        for sample in metric.samples
        if sample.name == name
    )


async def test_good_and_bad_messages_each_come_out_exactly_once(
    settings: Settings, unique: str
) -> None:
    agents = sorted(load_org(settings.config_dir / "org.yaml").agent_ids)[:12]
    start = datetime(2024, 6, 3, 9, 0, tzinfo=JST)
    good = list(good_messages(1_000, agents, start, id_prefix=f"{unique}-"))
    bad = bad_messages(agents, too_late_at=datetime(2024, 2, 20, tzinfo=JST), start=start)
    assert len(bad) >= 200

    app = create_app(settings)
    async with running(app, free_port_block(1)):
        good_positions = await publish_raw(settings, good)
        await read_until(settings, [topics.EVENTS], covers(good_positions))
        bad_positions = await publish_raw(settings, [message.raw for message in bad])
        # Lateness is scoring's to judge, against the event's own channel (shared/watermarks.py):
        # ingest accepts the corpus's too_late messages, well-formed events of long ago.
        expected = dict.fromkeys(good_positions, "accepted") | {
            p: "accepted" if message.reason is RejectReason.TOO_LATE else message.reason.value
            for p, message in zip(bad_positions, bad, strict=True)
        }
        outputs = await read_until(settings, [topics.EVENTS, topics.DEADLETTER], covers(expected))

    mine = [r for r in outputs if source_position(r) in expected]
    per_position = Counter(source_position(r) for r in mine)
    assert set(per_position) == set(expected), "every message must come out"
    assert set(per_position.values()) == {1}, "and exactly once"
    for record in mine:
        document = json.loads(record.value)
        want = expected[source_position(record)]
        if record.topic == topics.EVENTS:
            assert want == "accepted", f"a bad message was accepted: {document}"
        else:
            assert document["reason"] == want, document
    reasons = Counter(m.reason.value for m in bad)
    assert set(reasons) == {
        "malformed_json",
        "unknown_event_type",
        "schema_violation",
        "naive_timestamp",
        "out_of_range",
        "unknown_entity",
        "too_large",
        "too_late",
        "empty_value",
    }
    late = reasons["too_late"]
    assert late >= 10
    accepted = _counter_total(app.registry, "kpi_ingest_accepted_total")
    rejected = _counter_total(app.registry, "kpi_ingest_rejected_total")
    assert (accepted, rejected) == (len(good) + late, len(bad) - late)
