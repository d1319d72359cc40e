"""The end-state checks of the resilience tier (docs/resilience.md), run once a faulted run has
drained, each against an independent computation:

- every distinct upstream record is accounted for: accepted (its key on kpi.events.v1) or
  dead-lettered, never both, never neither;
- the scoring state equals the plain-Python reference over every canonical event
  (tests/support/reference_scoring.py);
- the last score published per (entity, period, KPI) equals the final state;
- no alert episode fired twice, and the alerts collection holds the last message of each id;
- every stored scorecard's newest revision has the figures a clean reporting service computes
  from the final state, and a clean reporting service builds no scorecard that is not stored.
"""

import asyncio
import base64
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from services.reporting.domain import load_profiles
from services.reporting.service import ReportingMetrics, ReportingService, figures
from services.scoring.read_model import mongo_score_queries
from shared import topics
from shared.messages.scorecard import Scorecard
from shared.settings import Settings
from tests.resilience.harness import CONFIG, Pipeline, upstream_key
from tests.support.fake_scorecard_store import MemoryScorecardStore
from tests.support.fakes import RecordingOutput
from tests.support.pipeline_runs import (
    assert_same,
    records_of,
    reference,
    scoring_state,
    wait_idle,
)


@dataclass(frozen=True)
class Verified:
    """What `verify_end_state` counted, for docs/resilience.md."""

    canonical_events: int
    counters: int
    score_keys: int
    score_messages: int
    alerts: int
    alert_messages: int
    alerts_resent: int  # identical copies of a firing (a producer's re-send), dropped by key
    scorecards: int
    dead_letters: int
    seconds: dict[str, float]  # drain (until every service is idle), then each check


async def verify_end_state(pipeline: Pipeline, upstream: Iterable[dict[str, Any]]) -> Verified:
    """Wait for the pipeline to drain, then run every end-state check of the tier."""
    settings = pipeline.settings
    seconds: dict[str, float] = {}
    lap = time.monotonic()

    def took(phase: str) -> None:
        nonlocal lap
        now = time.monotonic()
        seconds[phase] = round(now - lap, 1)
        lap = now

    pipeline.assert_alive()
    await wait_idle(pipeline.env, "ingest", "scoring", "alerts")
    pipeline.assert_alive()
    took("drain")

    # Accounting: every distinct upstream record accepted or dead-lettered, exactly one of them.
    events = await records_of(settings, topics.EVENTS)
    accepted = {json.loads(r.value)["key"] for r in events}
    dead = [json.loads(r.value) for r in await records_of(settings, topics.DEADLETTER)]
    dead_keys = {_dead_key(d) for d in dead}
    wanted = {upstream_key(d) for d in upstream}
    assert accepted | dead_keys == wanted, (
        f"{len(wanted - accepted - dead_keys)} records lost, "
        f"{len((accepted | dead_keys) - wanted)} unexpected"
    )
    assert not accepted & dead_keys, "a record both accepted and dead-lettered"
    took("accounting")

    # The scoring state equals the reference recomputation.
    state = await scoring_state(settings)
    assert_same(state, await reference(settings, CONFIG.calendar))
    took("reference")
    # Side by side: the scorecards wait for reporting's close clock meanwhile.
    scores, (alerts, alert_messages, alerts_resent), cards = await asyncio.gather(
        _check_scores(settings), _check_alerts(settings), _check_scorecards(settings)
    )
    took("scores, alerts and scorecards")
    return Verified(
        canonical_events=len(events),
        counters=len(state),
        score_keys=len(scores),
        score_messages=sum(scores.values()),
        alerts=alerts,
        alert_messages=alert_messages,
        alerts_resent=alerts_resent,
        scorecards=cards,
        dead_letters=len(dead),
        seconds=seconds,
    )


def _dead_key(letter: dict[str, Any]) -> str:
    document = json.loads(base64.b64decode(letter["payload_base64"]))
    return f"{document['source']}:{document['event_id']}"


async def _check_scores(settings: Settings) -> dict[tuple[str, str, str], int]:
    """The last score published per (entity, period, KPI) — the topic is keyed by entity, so
    one partition holds them in order — equals the final state's value; rolling windows, whose
    value moves with the clock, are left out."""
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    sent: Counter[tuple[str, str, str]] = Counter()
    for record in sorted(
        await records_of(settings, topics.SCORES), key=lambda r: (r.partition, r.offset)
    ):
        score = json.loads(record.value)
        key = (score["entity"], score["period"], score["kpi"])
        last[key] = score
        sent[key] += 1
    assert last, "no score was published"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(), tz_aware=True
    )
    try:
        queries = mongo_score_queries(client, settings.mongodb_database, CONFIG)
        by_period: dict[str, set[str]] = defaultdict(set)
        for entity, period, _ in last:
            if not period.startswith("R"):
                by_period[period].add(entity)
        differ: list[str] = []
        for period, entities in by_period.items():
            found = await queries.period_scores(sorted(entities), period)
            for entity, now in found.items():
                for score in now:
                    published = last.get((entity, period, score.kpi))
                    if published is None:
                        continue
                    mine = {
                        "numerator": _text(score.numerator),
                        "denominator": _text(score.denominator),
                    }
                    theirs = {
                        "numerator": _text(published["numerator"]),
                        "denominator": _text(published["denominator"]),
                    }
                    if mine != theirs:
                        differ.append(f"{entity} {period} {score.kpi}: {theirs} ≠ state {mine}")
    finally:
        await client.close()
    assert not differ, f"{len(differ)} last published scores differ from the state: {differ[:5]}"
    return dict(sent)


def _text(value: Any) -> str | None:
    return None if value is None else str(Decimal(str(value)).normalize())


@dataclass(frozen=True)
class AlertRecord:
    """One message of kpi.alerts.v1 where it stands."""

    partition: int
    offset: int
    value: bytes


def repeated_firings(
    records: Sequence[AlertRecord],
) -> tuple[dict[tuple[str, str], list[tuple[int, int]]], int]:
    """Alert episodes (alert id and `started_at`) that fired more than once, with where each
    firing stands, and how many messages were copies re-sent byte for byte.

    Read in partition order (an alert's messages share its entity's partition):
    - a message equal byte for byte to its alert's previous one is one message delivered twice
      (a producer without idempotence, as Tansu's, re-sends a batch whose acknowledgement came
      late); a consumer drops the copy by its key (DESIGN §7);
    - a firing right after a firing of the same episode at another severity is the severity
      changing while it fires (DESIGN §8: critical, then warning, then critical again is one
      episode); at the same severity it is a second firing;
    - any other firing starts the episode, which may happen once."""
    previous: dict[str, dict[str, Any]] = {}  # alert id → its last message
    sent: dict[str, bytes] = {}
    starts: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    repeats: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    resent = 0
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        message = json.loads(record.value)
        alert_id = message["alert_id"]
        if sent.get(alert_id) == record.value:
            resent += 1
            continue
        before = previous.get(alert_id)
        previous[alert_id], sent[alert_id] = message, record.value
        if message["state"] != "firing":
            continue
        episode = (alert_id, message["started_at"])
        at = (record.partition, record.offset)
        same_episode = (
            before is not None
            and before["state"] == "firing"
            and before["started_at"] == message["started_at"]
        )
        if not same_episode:
            starts[episode].append(at)
        elif before is not None and before["severity"] == message["severity"]:
            repeats[episode].append(at)
    twice = {
        episode: starts[episode] + repeats[episode]
        for episode in {*starts, *repeats}
        if len(starts[episode]) > 1 or repeats[episode]
    }
    return twice, resent


async def _check_alerts(settings: Settings) -> tuple[int, int, int]:
    """No alert episode fired twice (`repeated_firings`), and the stored alerts are the last
    message of each id on kpi.alerts.v1; the alerts stored, the messages, and the copies
    re-sent byte for byte."""
    records = await records_of(settings, topics.ALERTS)
    twice, resent = repeated_firings([AlertRecord(r.partition, r.offset, r.value) for r in records])
    assert not twice, (
        f"{len(twice)} alert episodes fired more than once (partition, offset): "
        f"{list(twice.items())[:5]}"
    )
    messages = [json.loads(r.value) for r in sorted(records, key=lambda r: (r.partition, r.offset))]
    last: dict[str, dict[str, Any]] = {}
    for message in messages:
        last[message["alert_id"]] = message
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    try:
        stored = {
            doc["_id"]: doc async for doc in client[settings.mongodb_database]["alerts"].find({})
        }
    finally:
        await client.close()
    assert set(stored) == set(last), "the alerts collection and kpi.alerts.v1 name other ids"
    for alert_id, message in last.items():
        assert stored[alert_id]["state"] == message["state"], alert_id
    return len(last), len(messages), resent


async def _check_scorecards(settings: Settings, timeout_s: float = 240) -> int:
    """Every period reporting closed: the newest revision of each entity's scorecard has the
    figures a clean reporting service builds from the final scoring state (periods closed in
    order, so a trend compares with the same previous card). Reporting revises on its tick, so
    this waits until the two agree."""
    deadline = time.monotonic() + timeout_s
    while True:
        stored = await _stored_scorecards(settings)
        # The close clock waits for every partition to be idle (KPI_IDLE_TIMEOUT_S) first.
        problems = (
            await _scorecard_differences(settings, stored) if stored else ["no period closed"]
        )
        if not problems:
            return len(stored)
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(problems)} scorecards differ, e.g. {problems[:3]}")
        await asyncio.sleep(3)


async def _stored_scorecards(settings: Settings) -> dict[tuple[str, str], Scorecard]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    newest: dict[tuple[str, str], Scorecard] = {}
    try:
        async for doc in client[settings.mongodb_database]["scorecards"].find({}):
            card = Scorecard.model_validate_json(doc["card"])
            key = (card.entity, card.period)
            if key not in newest or newest[key].revision < card.revision:
                newest[key] = card
    finally:
        await client.close()
    return newest


async def _scorecard_differences(
    settings: Settings, stored: dict[tuple[str, str], Scorecard]
) -> list[str]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(), tz_aware=True
    )
    try:
        clean = ReportingService(
            config=load_profiles(Path("config"), CONFIG.catalogue, org=CONFIG.org),
            catalogue=CONFIG.catalogue,
            calendar=CONFIG.calendar,
            org=CONFIG.org,
            reader=mongo_score_queries(client, settings.mongodb_database, CONFIG),
            store=MemoryScorecardStore(),
            output=RecordingOutput(),
            metrics=ReportingMetrics(CollectorRegistry()),
        )
        built: dict[tuple[str, str], Scorecard] = {}
        for period in sorted({p for _, p in stored}, key=CONFIG.calendar.months_of):
            for card in await clean._close(period, final=False):
                built[(card.entity, period)] = card
    finally:
        await client.close()
    problems = [f"{key} missing from the clean build" for key in stored if key not in built]
    problems += [f"{key} never stored" for key in built if key not in stored]
    problems += [
        f"{key}: figures differ"
        for key, card in stored.items()
        if key in built and figures(card) != figures(built[key])
    ]
    return problems
