"""Ingest killed with SIGKILL in the middle of a 20,000-event replay, then restarted: after
de-duplication by `key` (source:event_id) every event is on kpi.events.v1 exactly once, and no
raw phone number is left in any output topic, collection or log."""

import asyncio
import base64
import json
import re
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import ConsumerRecord
from pymongo import AsyncMongoClient

from services.demo.generator import generate_events, write_jsonl
from shared import topics
from shared.config.loading import load_org
from shared.localstack import LocalStack
from tests.support.stack_fixtures import service_env
from tests.support.topics_io import read_until

pytestmark = pytest.mark.e2e
EVENTS = 20_000


def _demo_file(path: Path) -> tuple[set[str], set[str]]:
    org = load_org(Path("config/org.yaml"))
    start = datetime(2024, 4, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    stream = generate_events(org, start=start, end=start + timedelta(days=60), seed=11)
    documents = [d for _, d in zip(range(EVENTS), stream, strict=False)]
    write_jsonl(documents, path)
    keys = {f"{d['source']}:{d['event_id']}" for d in documents}
    phones = {
        str(d[field])
        for d in documents
        for field in ("callback_phone", "agent_phone")
        if d.get(field)
    }
    return keys, phones


def _serve(settings_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "serve", "ingest"],
        env=settings_env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


async def test_kill_9_mid_replay_loses_nothing_and_duplicates_only_by_key(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = private_stack.settings
    env = service_env(settings)
    keys, phones = _demo_file(tmp_path / "demo.jsonl")
    assert len(keys) == EVENTS, "the demo file's event ids must be unique"
    assert phones, "the demo file must carry phone numbers to look for"
    log = tmp_path / "ingest.log"

    ingest = _serve(env, log)
    replay = subprocess.Popen(  # noqa: ASYNC220 - a child that runs beside the test
        [sys.executable, "-m", "services.cli.main", "replay", str(tmp_path / "demo.jsonl")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    # Kill once ingest is well into the stream, while the replay is still publishing.
    before_kill = await read_until(settings, [topics.EVENTS], lambda rs: len(rs) >= 4_000, 120)
    assert len(before_kill) >= 4_000, (await asyncio.to_thread(log.read_text))[-3000:]
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    ingest = _serve(env, log)
    try:
        replay_out, _ = await asyncio.to_thread(replay.communicate, timeout=180)
        assert replay.returncode == 0, replay_out.decode()
        assert f"sent {EVENTS}, failed 0" in replay_out.decode()
        idle = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "services.cli.main",
                "wait-idle",
                "--timeout",
                "180",
                "--service",
                "ingest",
            ],
            env=env,
            capture_output=True,
            check=False,
        )
        assert idle.returncode == 0, idle.stderr.decode()
    finally:
        ingest.send_signal(signal.SIGTERM)
        ingest.wait(timeout=15)

    events = await read_until(settings, [topics.EVENTS], lambda _: False, timeout_s=5)
    copies = Counter(json.loads(r.value)["key"] for r in events)
    assert set(copies) == keys, "every event exactly once after de-duplication by key"
    dead = await read_until(settings, [topics.DEADLETTER], lambda _: False, timeout_s=2)
    assert dead == [], "the demo stream is valid: nothing may be dead-lettered"

    await _assert_no_raw_phone(settings.mongodb_uri.get_secret_value(), events, dead, log, phones)


async def _assert_no_raw_phone(
    uri: str, events: list[ConsumerRecord], dead: list[ConsumerRecord], log: Path, phones: set[str]
) -> None:
    texts = [r.value.decode() for r in events]
    texts += [base64.b64decode(json.loads(r.value)["payload_base64"]).decode() for r in dead]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        for name in await client.list_database_names():
            for collection in await client[name].list_collection_names():
                async for document in client[name][collection].find():
                    texts.append(json.dumps(document, default=str))
    finally:
        await client.close()
    texts.append(await asyncio.to_thread(log.read_text, errors="replace"))
    haystack = _digits("\n".join(texts))
    leaked = sorted(p for p in phones if _digits(p) in haystack)
    assert not leaked, f"raw phone numbers found: {leaked[:5]}"
