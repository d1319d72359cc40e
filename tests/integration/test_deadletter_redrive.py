"""Dead letters re-driven on the real broker and database: 20 policies rejected for a product
line spelling the code list lacks, the spelling added, `kpi deadletters redrive` brings all 20
into kpi.events.v1 and the KPIs exactly once, and re-driving again changes nothing."""

import asyncio
import json
import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest
import yaml
from aiokafka import ConsumerRecord

from services.cli import commands
from services.cli.deadletter_io import LEDGER_COLLECTION, KafkaLetterSource
from services.idle import backlog_sources
from services.ingest.app import create_app as create_ingest
from services.scoring.app import create_app as create_scoring
from shared import mongo, topics
from shared.config.loading import load_org
from shared.idle import end_offsets, wait_idle
from shared.localstack import LocalStack
from shared.localstack.probes import free_port_block
from shared.settings import Settings
from tests.support.running import running
from tests.support.topics_io import publish_raw, read_until
from tests.support.upstream_samples import POLICY

pytestmark = pytest.mark.integration
CONFIG: Final = Path(__file__).resolve().parents[2] / "config"
JST: Final = timezone(timedelta(hours=9))
SPELLING: Final = "マイカー保険"  # "my-car insurance": auto, but not in the shipped code list
COUNT: Final = 20
PREMIUM: Final = 1000


def _policies(agents: list[str]) -> list[bytes]:
    start = datetime(2024, 6, 3, 9, 0, tzinfo=JST)
    return [
        json.dumps(
            {
                **POLICY,
                "event_id": f"redrive-{number:03d}",
                "occurred_at": (start + timedelta(minutes=number)).isoformat(),
                "agent_id": agents[number % len(agents)],
                "policy_id": f"P9{number:06d}",
                "customer_id": f"C9{number:05d}",
                "product_line": SPELLING,
                "premium": str(PREMIUM),
                "new_business": True,
            },
            ensure_ascii=False,
        ).encode()
        for number in range(COUNT)
    ]


def _add_spelling(config: Path) -> None:
    path = config / "codes.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["product_line"]["auto"].append(SPELLING)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


async def _records(settings: Settings, topic: str) -> list[ConsumerRecord]:
    ends = await end_offsets(settings, [topic])
    total = sum(ends.values())
    return await read_until(settings, [topic], lambda found: len(found) >= total, timeout_s=30)


async def _new_business_premium(
    settings: Settings, company: str, capsys: pytest.CaptureFixture[str]
) -> Decimal | None:
    """The company's June new-business premium via `kpi scores`, once scoring has a stream
    time to read at (the low watermark may take a batch past the idle time to appear)."""
    for _ in range(20):
        capsys.readouterr()
        await commands.scores(
            settings, f"company:{company}", "2024-06", "new_business_premium", as_json=True
        )
        scores = json.loads(capsys.readouterr().out)
        if scores:
            value = scores[0]["value"]
            return Decimal(value) if value is not None else None
        await asyncio.sleep(0.5)
    return None


async def _idle(settings: Settings) -> None:
    backlogs = await wait_idle(
        settings, backlog_sources(settings, ("ingest", "scoring")), timeout_s=90
    )
    assert not any(backlogs.values()), backlogs


async def test_rejected_for_a_code_then_redriven_after_the_fix_counts_once(
    private_stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    # A short idle time lets the quiet partitions stop holding the low watermark back (the
    # twenty events reach only some of them), so `kpi scores` has a stream time to read at.
    settings = private_stack.settings.model_copy(
        update={"config_dir": config, "idle_timeout_s": 0.5}
    )
    org = load_org(config / "org.yaml")
    policies = _policies(sorted(org.agent_ids)[:5])

    async with running(create_ingest(settings), free_port_block(1)):
        await publish_raw(settings, policies)
        await read_until(settings, [topics.DEADLETTER], lambda found: len(found) >= COUNT)
        await _idle_ingest(settings)
    letters = (await KafkaLetterSource(settings).read_all()).letters
    assert len(letters) == COUNT
    assert {s.letter.reason.value for s in letters} == {"schema_violation"}
    assert all("product_line" in s.letter.detail for s in letters)

    _add_spelling(config)  # the fix; ingest reads the code list when it starts
    async with (
        running(create_ingest(settings), free_port_block(1)),
        running(create_scoring(settings), free_port_block(1)),
    ):
        assert (
            await commands.deadletters_redrive(
                settings, reason="schema_violation", source_topic=None, since=None, dry_run=True
            )
            == 0
        )
        assert "would re-drive 20" in capsys.readouterr().out
        assert sum((await end_offsets(settings, topics.UPSTREAM)).values()) == COUNT, (
            "a dry run sends nothing"
        )

        await commands.deadletters_redrive(
            settings, reason="schema_violation", source_topic=None, since=None, dry_run=False
        )
        assert capsys.readouterr().out.strip().endswith(f"re-drove {COUNT}: {topics.POLICY} 20")
        await _idle(settings)
        events = await _records(settings, topics.EVENTS)
        premium = await _new_business_premium(settings, org.company, capsys)

        # A second re-drive skips them all: nothing is sent.
        await commands.deadletters_redrive(
            settings, reason=None, source_topic=None, since=None, dry_run=False
        )
        second = capsys.readouterr().out
        # Even with the ledger lost, ingest's claims drop the copies: no event, no dead letter.
        client = mongo.create_client(settings, app_name="test")
        await client[settings.mongodb_database][LEDGER_COLLECTION].drop()
        await client.close()
        await commands.deadletters_redrive(
            settings, reason=None, source_topic=None, since=None, dry_run=False
        )
        third = capsys.readouterr().out
        await _idle(settings)
        events_after = await _records(settings, topics.EVENTS)
        letters_after = (await KafkaLetterSource(settings).read_all()).letters
        premium_after = await _new_business_premium(settings, org.company, capsys)

    keys = sorted(json.loads(r.value)["key"] for r in events)
    assert keys == sorted(f"policy-admin:redrive-{n:03d}" for n in range(COUNT))
    assert premium == Decimal(COUNT * PREMIUM)
    assert "skipped 20 re-driven already" in second
    assert second.strip().endswith("re-drove 0")
    assert third.strip().endswith(f"re-drove {COUNT}: {topics.POLICY} 20")
    assert len(events_after) == COUNT, "the copies became no new canonical events"
    assert len(letters_after) == COUNT, "nor new dead letters"
    assert premium_after == premium


async def _idle_ingest(settings: Settings) -> None:
    backlogs = await wait_idle(settings, backlog_sources(settings, ("ingest",)), timeout_s=60)
    assert not any(backlogs.values()), backlogs
