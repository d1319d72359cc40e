"""Surveys sent by SMS, e-mail and web, spelled in English, Chinese and Japanese, pass ingest
on the real broker and database as canonical events with the survey's own channel codes."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from services.ingest.app import create_app
from shared import topics
from shared.config.loading import load_org
from shared.localstack.probes import free_port_block
from shared.settings import Settings
from tests.support.running import running
from tests.support.topics_io import covers, publish_raw, read_until, source_position
from tests.support.upstream_samples import SURVEY

pytestmark = pytest.mark.integration
JST = timezone(timedelta(hours=9))

# (what the survey tool wrote, the canonical code): en, zh and ja for each of sms/email/web.
SPELLINGS = (
    ("SMS", "sms"),
    ("短信", "sms"),
    ("ショートメッセージ", "sms"),
    ("e-mail", "email"),
    ("邮件", "email"),
    ("电子邮件", "email"),
    ("メール", "email"),
    ("web", "web"),
    ("网页", "web"),
    ("ウェブ", "web"),
)


async def test_sms_email_and_web_surveys_in_three_languages_are_accepted(
    settings: Settings, unique: str
) -> None:
    agents = sorted(load_org(settings.config_dir / "org.yaml").agent_ids)[:5]
    # An hour ago: never too late, whatever stream time earlier tests left, nor in the future.
    occurred_at = datetime.now(JST).replace(microsecond=0) - timedelta(hours=1)
    surveys = [
        {
            **SURVEY,
            "event_id": f"{unique}-{index}",
            "occurred_at": (occurred_at + timedelta(seconds=index)).isoformat(),
            "agent_id": agents[index % len(agents)],
            "response_id": f"S{index:07d}",
            "policy_id": f"P{index:07d}",
            "customer_id": f"C{index:06d}",
            "channel": written,
        }
        for index, (written, _) in enumerate(SPELLINGS)
    ]
    raw = [json.dumps(survey, ensure_ascii=False).encode() for survey in surveys]
    assert len(raw) == 10

    app = create_app(settings)
    async with running(app, free_port_block(1)):
        positions = await publish_raw(settings, raw)
        outputs = await read_until(settings, [topics.EVENTS, topics.DEADLETTER], covers(positions))

    expected = {
        position: canonical for position, (_, canonical) in zip(positions, SPELLINGS, strict=True)
    }
    mine = [record for record in outputs if source_position(record) in expected]
    dead = [json.loads(r.value) for r in mine if r.topic == topics.DEADLETTER]
    assert dead == []
    channels = {
        source_position(record): json.loads(record.value)["event"]["channel"]
        for record in mine
        if record.topic == topics.EVENTS
    }
    assert channels == expected
    assert len([r for r in mine if r.topic == topics.EVENTS]) == 10
