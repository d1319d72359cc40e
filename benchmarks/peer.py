"""Run the Quix Streams peer (benchmarks/quix_peer.py, in .venv-quix) over kpi.events.v1 and
compare its results with scoring's for a few agents and months."""

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from services.scoring.read_model import mongo_score_queries
from shared import topics
from shared.config.loading import load_calendar
from shared.idle import KafkaGroupBacklog, end_offsets, wait_idle
from shared.kafka import aiokafka_options
from shared.kpi.config import load_kpi_config
from shared.settings import Settings

from .processes import CpuUsage, peak_rss_mib
from .raw import Measurement

PEER = Path(__file__).with_name("quix_peer.py")
OUTPUT_TOPIC = "bench.quix.agent_month.v1"
GROUP = "bench-quix-peer"
COMPARED_AGENTS = 5


@dataclass(frozen=True)
class Comparison:
    """One (agent, month, figure) as the peer and as scoring have it."""

    agent: str
    month: str
    figure: str
    peer: str
    ours: str

    @property
    def agrees(self) -> bool:
        return self.peer == self.ours


def quix_python() -> str | None:
    """The interpreter of the peer's environment, or None when it is not installed."""
    path = os.environ.get("KPI_BENCH_QUIX_PYTHON", ".venv-quix/bin/python")
    return path if Path(path).exists() else None


async def _first_output(
    settings: Settings, child: subprocess.Popen[bytes], timeout_s: float
) -> None:
    """Return once the peer's output topic has a record (or the peer has exited)."""
    consumer = AIOKafkaConsumer(
        OUTPUT_TOPIC,
        **aiokafka_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=500,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while child.poll() is None and time.monotonic() < deadline:
            if await consumer.getmany(timeout_ms=200, max_records=1):
                return
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


async def _latest_rows(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    """The peer's output, the latest row per (agent, month)."""
    ends = await end_offsets(settings, [OUTPUT_TOPIC])
    consumer = AIOKafkaConsumer(
        **aiokafka_options(settings), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and await _behind(consumer, ends):
            batches = await consumer.getmany(timeout_ms=1000, max_records=50_000)
            for records in batches.values():
                for record in records:
                    if record.value is None:
                        continue
                    row = json.loads(record.value)
                    rows[(row["agent"], row["month"])] = row
    finally:
        await consumer.stop()
    return rows


def _interest(counts: Mapping[str, int]) -> tuple[int, int]:
    """Months where every compared figure has something to count come first."""
    compared = ("renewal_renewed", "survey_responses", "renewal_contacted", "compliment_opened")
    return sum(counts.get(c, 0) > 0 for c in compared), sum(counts.values())


def _text(value: Decimal | int | float | None) -> str:
    if value is None:
        return "null"
    return f"{Decimal(str(value)).normalize():f}"


async def compare(
    settings: Settings, database: str, rows: Mapping[tuple[str, str], dict[str, Any]]
) -> list[Comparison]:
    """The peer's renewal rate, survey top box, contacts and compliments beside scoring's for
    the busiest agents in their busiest month."""
    per_agent: Counter[str] = Counter()
    for (agent, _), row in rows.items():
        per_agent[agent] += sum(row["counts"].values())
    config = load_kpi_config(Path("config"))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value()
    )
    found: list[Comparison] = []
    try:
        queries = mongo_score_queries(client, database, config)
        for agent, _ in per_agent.most_common(COMPARED_AGENTS):
            months = [(m, r) for (a, m), r in rows.items() if a == agent]
            month, row = max(months, key=lambda item: _interest(item[1]["counts"]))
            scores = (await queries.period_scores([f"agent:{agent}"], month))[f"agent:{agent}"]
            by_kpi = {score.kpi: score for score in scores}
            counts = row["counts"]
            pairs = {
                "renewal renewed/due": (
                    f"{counts.get('renewal_renewed', 0)}/{counts.get('renewal_due', 0)}",
                    by_kpi.get("renewal_rate"),
                ),
                "survey top box/responses": (
                    f"{counts.get('survey_top_box', 0)}/{counts.get('survey_responses', 0)}",
                    by_kpi.get("survey_top_box"),
                ),
            }
            for figure, (peer, score) in pairs.items():
                ours = (
                    "absent"
                    if score is None
                    else f"{_text(score.numerator or 0)}/{_text(score.denominator or 0)}"
                )
                found.append(Comparison(agent, month, figure, peer, ours))
            for figure, counter, kpi in (
                ("renewal contacts", "renewal_contacted", "contacts_per_day"),
                ("compliments", "compliment_opened", "compliments"),
            ):
                score = by_kpi.get(kpi)
                ours = "absent" if score is None else _text(score.numerator or 0)
                found.append(Comparison(agent, month, figure, str(counts.get(counter, 0)), ours))
    finally:
        await client.close()
    return found


async def quix_peer(
    settings: Settings,
    state_dir: Path,
    log: Path,
    stack: Mapping[str, int],
    compare_with: str,
) -> tuple[Measurement, list[Comparison]] | None:
    """The peer's rate over every event on kpi.events.v1 (with start-up, as scoring alone),
    its peak RSS, and its results beside scoring's state in `compare_with`."""
    python = quix_python()
    if python is None:
        return None
    ends = await end_offsets(settings, [topics.EVENTS])
    events = sum(ends.values())
    timezone = load_calendar("config/calendar.yaml").timezone
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            python,
            str(PEER),
            "--broker",
            settings.kafka_bootstrap_servers,
            "--group",
            GROUP,
            "--state-dir",
            str(state_dir / "quix-state"),
            "--timezone",
            str(timezone),
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    usage = CpuUsage({**stack, "quix peer": child.pid})
    try:
        # CPU is taken from its first output on: before it, the peer is starting up (topics,
        # group join, state recovery).
        await _first_output(settings, child, timeout_s=300)
        first_output = time.perf_counter()
        usage.start()
        source = KafkaGroupBacklog("quix peer", GROUP, (topics.EVENTS,), settings)
        backlog = await wait_idle(settings, [source], timeout_s=600)
        elapsed = time.perf_counter() - started
        processing = time.perf_counter() - first_output
        cpu = usage.stop()
        rss = {"quix peer": peak_rss_mib(child.pid)}
        if child.poll() is not None or any(backlog.values()):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"the Quix Streams peer did not finish ({backlog}):\n{tail}")
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    rows = await _latest_rows(settings)
    measurement = Measurement(
        "Quix Streams peer: a fresh consumer group re-reads kpi.events.v1, from its first "
        f"output to its commit at the end ({elapsed:.0f}s with start-up)",
        events,
        processing,
        cpu=cpu,
        rss_mib=rss,
    )
    return measurement, await compare(settings, compare_with, rows)
