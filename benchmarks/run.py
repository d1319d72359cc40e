"""`make bench`: start a private local stack, measure, and write docs/benchmarks.md."""

import asyncio
import os
import pickle
import platform
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from shared.localstack import LocalStack
from shared.localstack.probes import free_port
from shared.localstack.stack import Component
from shared.settings import Settings, load_settings

from .ingest import ingest_throughput
from .peer import Comparison, quix_peer
from .pipeline import (
    BACKLOG_EVERY_S,
    LATENCY_SECONDS,
    RESCORE_DATABASE,
    Latency,
    Profile,
    pipeline,
)
from .processes import CpuUsage, port_base
from .profiles import ProcessProfile
from .raw import Measurement, broker_produce_consume, contract_decoding, database_bulk_upserts

REPORT = Path(os.environ.get("KPI_BENCH_REPORT", "docs/benchmarks.md"))
# KPI_BENCH_SCALE (default 1) shrinks every run for a quick check of the harness itself.
SCALE = float(os.environ.get("KPI_BENCH_SCALE", "1"))
EVENTS = int(100_000 * SCALE)
DOCUMENTS = int(10_000 * SCALE)
INGEST_EVENTS = int(50_000 * SCALE)
RAW_TOPIC = "bench.raw.v1"
TOP_BUCKET_S = 60.0  # the largest finite bucket of kpi_scoring_event_to_score_seconds
LOG_COPY = Path(tempfile.gettempdir()) / "kpi-bench-services.log"


NOTES_READ = (
    "## How to read them\n\n"
    "- Every rate is also given as a share of the raw broker consume rate of the same run "
    "(÷ raw consume): the machine is shared and noisy, so ratios within one run are the "
    "figures to compare across runs.\n"
    "- *what limits it* names the cause, then the CPU each process used while the row ran, "
    "as a share of one core (read from /proc; the machine has two, so 200% is all of it). A "
    "process near 100% is the bottleneck; a total well under 200% with no process near 100% "
    "means the row is waiting (on commits, fetches or group joins), not computing.\n"
    "- *peak RSS* is each service process's high-water mark of resident memory (VmHWM) at "
    "the end of its row.\n"
    "- The raw broker and database rows are the yardstick: the same machine, the same run, "
    "no product code. Everything else shares the two cores with the broker and the database "
    "it talks to.\n"
    "- *ingest alone*: demo events are published first, then one ingest process consumes "
    "them; the rate is taken between the broker timestamps of its first and last output on "
    "`kpi.events.v1`, so start-up and consumer-group joining are left out (the wall time "
    "with them is in the row's name). Per batch it triages every record (parse, code lists, "
    "validation, org path, lateness, phone hashes), claims the keys in MongoDB (one "
    "document of the claim log per chunk of 2,000 records) and publishes each chunk while the "
    "next is triaged, with acks from all replicas before the offsets are committed; the row "
    "names ingest's CPU per record. `python -m benchmarks.run --only ingest [--instances N]` "
    "measures this row alone beside the raw broker, with py-spy profiles.\n"
    "- *end to end*: on a fresh stack (the first one is stopped), so that the history is clean "
    "in event time: ingest and scoring run as processes and have taken the year's first event; "
    "the rest of a year of the demo company's history (`kpi demo --days 365`, from April 2024) "
    "is then published as fast as the producer goes and the clock stops when both services' "
    "committed positions reach the end of their inputs and scoring's score updates are "
    "published (`kpi wait-idle`'s rule). The row names the dead letters it produced (a clean "
    "history has none).\n"
    "- *scoring alone*: a second state (another database) re-reads every canonical event on "
    "`kpi.events.v1` of the fresh stack from the start (the year and the latency run), "
    "timed from its first commit to its committed end (its applied-events counter read every "
    "0.1 s; the events of the first commit are left out, as are start-up and group joining, "
    "whose wall time is in the row's name).\n"
    "- *Quix Streams peer*: benchmarks/quix_peer.py, run after scoring alone over the same "
    "topic from the start with a fresh consumer group, timed from its first output to the "
    "moment its committed offsets reach the end (the same rule as ours; with a commit every "
    "second this adds up to about two seconds to its time). Its start-up (topic creation, "
    "group join, RocksDB) is in the row's name; it does not count toward the rate.\n"
    "- *latency*: events after the year (April 2025 on, 10,000 a day so that five minutes stay "
    "in the past) published at a steady rate after the end-to-end run; each applied event's "
    "latency is observed when the score updates of its batch are acknowledged. The stream opens "
    "with the renewal notices of the whole book at its first instant (50,723 events); they are "
    "published as a backlog before the clock, so that the steady rate carries a day's ordinary "
    "mix of policies, renewals, contacts and surveys at every scale (docs/scoring.md, 'The "
    "latency run').\n\n"
)

NOTES_PEER = (
    "## The Quix Streams peer: what it does and does not guarantee\n\n"
    "benchmarks/quix_peer.py is what a user would write by hand with Quix Streams 3.28.1, "
    "following its documentation: an `Application` (consumer group, `auto_offset_reset="
    '"earliest"`, the default at-least-once guarantee, a commit every second), '
    "`app.dataframe()` over `kpi.events.v1`, a `filter` to agents' events, one stateful "
    "`apply` whose `State` (RocksDB, backed by a changelog topic) holds per-month counters, "
    "and `to_topic` publishing every changed (agent, month) row. It computes counts by agent "
    "and month (per event type and action), the renewal rate (renewed / due, by due-date "
    "month) and the survey top box (9–10 on 0–10, 5 on 1–5, ≥ 90 on 0–100, over responses), "
    "at agent level only. `kpi.events.v1` is keyed by agent and Quix state is per message "
    "key, so it needs no `group_by`; calendar months in the company's time zone are not a "
    "fixed-length tumbling window, so it keeps its own month keys. It runs in its own "
    "environment (.venv-quix from benchmarks/quix/uv.lock), because quixstreams 3.28 needs "
    "pydantic < 2.14 and the services pin 2.14.3.\n\n"
    "On Tansu it needs two settings: `retention.ms` added to the input topic's config before "
    "`app.dataframe()` (its `derive_topic_config` indexes it and Tansu's DescribeConfigs does "
    "not return it: KeyError), and `session.timeout.ms` 10 s instead of librdkafka's 45 s "
    "(Tansu holds a JoinGroup for about half the session timeout, so the default costs it 23 "
    "s of start-up).\n\n"
    "What it guarantees, and what it does not:\n\n"
    "- **At-least-once.** After a crash, the input since the last committed checkpoint is "
    "processed again and the rows published since then are published again (duplicates on "
    "the output topic). Its own state is not double counted: a checkpoint produces the "
    "changelog, commits the offsets and only then flushes RocksDB, and recovery skips "
    "changelog records newer than the committed offset (best-effort, by Quix's own "
    "description).\n"
    "- **No exactly-once effect on an external store.** A sink (MongoDB, a database, an API) "
    "written from it sees the reprocessed input again: increments (`$inc`, `count += 1`) "
    "double count after a crash unless the writes are idempotent — the whole latest value per "
    "(agent, month) upserted by key, or de-duplicated by event key and input offset in the "
    "same transaction, which is what scoring does with its positions in MongoDB.\n"
    "- Its `exactly-once` mode uses Kafka transactions: it covers the output topics, the "
    "changelog and the offsets, not an external store. It was not tried here: DESIGN §10 "
    "records Tansu rejecting transactional and idempotent producers (InitProducerId), yet "
    "Quix's producer, idempotent by default, ran on it in this bench, so what Tansu accepts "
    "today is worth re-checking before relying on either.\n"
    "- It counts what reaches it: a duplicated input event is counted twice (here ingest "
    "has already de-duplicated `kpi.events.v1`; over the upstream topics it would not be); "
    "late events are counted whenever they come, with no watermark, no closed periods and no "
    "revisions; no rolled-up levels (team, branch, region, company would each need a "
    "`group_by` and its repartition topic), no quarters or fiscal years, none of the other "
    "KPIs, no targets and no score messages. Scoring does all of these for every level in "
    "each batch, so the two rates measure different amounts of work; the comparison shows "
    "that the figures both compute agree.\n\n"
)


def _seconds(quantile: float) -> str:
    return "≥ 60 s" if quantile >= TOP_BUCKET_S else f"{quantile:.2f} s"


def _backlog_text(latency: Latency) -> str:
    """Whether ingest and scoring kept up with the steady stream, from what waited."""
    if not latency.backlogs:
        return "what waited was not sampled"
    waited = (
        f"records waiting for ingest and scoring, sampled every {BACKLOG_EVERY_S:g} s, "
        f"stayed between {min(latency.backlogs):,} and {max(latency.backlogs):,} (the last "
        f"{latency.backlogs[-1]:,}), and both were idle {latency.drain_s:.1f} s after the last "
        "event was sent"
    )
    if latency.backlog_grew():
        return f"the services fell behind on this machine: {waited}"
    return f"the services kept up: {waited}"


def _limits_text(results: list[Measurement], latency: Latency, profile: Profile | None) -> str:
    """What limits scoring, with this run's figures."""
    by = {m.name.split(":")[0].split(" (")[0]: m for m in results}
    alone, e2e, consume = by["scoring alone"], by["end to end"], by["broker consume"]
    peer = by.get("Quix Streams peer")
    rss = max(alone.rss_mib.values(), default=0.0)
    text = (
        "## What limits scoring\n\n"
        f"Scoring alone reached {alone.rate:,.0f} events/s ({alone.rate / consume.rate:.2%} of "
        f"the raw consume rate) and end to end {e2e.rate:,.0f} events/s "
        f"({e2e.rate / consume.rate:.2%}), against goals of 30,000 and 20,000 (≥ 10%). While "
        f"scoring ran alone, scoring used {alone.cpu.get('scoring', 0):.0%} of a core and "
        f"the database {alone.cpu.get('database', 0):.0%}: neither is at a full core and "
        "together they use about one of the two. They are not simply taking turns: applying "
        "the next batch while one commits, so that both could work at once, was measured and "
        "did not pay (docs/scoring.md, What limits throughput). A batch rewrites whole "
        "documents, which the database decodes, copies and encodes element by element at "
        "every commit (`--sync-on-commit`): record and counter documents hold their content "
        "packed in one element (docs/scoring.md, 'Records keep what counts, packed'), so "
        "scoring's own Python is now the larger share.\n\n"
    )
    if profile is not None:
        database = profile.database_leaves()
        top_db = database[0] if database else ("?", 0.0, 0.0)
        text += (
            "Where scoring's own CPU goes (profile above): the MongoDB commit "
            f"(`GenerationFence.commit`, adding up and encoding the documents) "
            f"{profile.scoring_share('GenerationFence.commit'):.0%}, computing and sending the "
            f"score updates (`ScorePublication.flush`, beside the batches) "
            f"{profile.scoring_share('ScorePublication.flush'):.0%}, "
            f"applying the batch (`apply_batch`) {profile.scoring_share('apply_batch'):.0%}, and "
            f"reading the canonical events (`decode_records`, msgspec into the pydantic "
            f"models) {profile.scoring_share('decode_records'):.0%}. In the database the largest "
            f"single cost is `{top_db[0]}` at {top_db[1]:.0%} of its samples: SecantusDB "
            "is a Python server, and every document read and replaced whole is decoded and "
            "encoded in Python there. Its background TTL sweep (`Storage._ttl_sweep_loop`, "
            "expiring documents of collections with a TTL index) took "
            f"{profile.database_share('Storage._ttl_sweep_loop'):.0%} of its "
            "samples on top of the transactions.\n\n"
        )
    text += (
        f"At a steady {latency.rate:,} events/s {_backlog_text(latency)}, and p99 "
        f"event-to-score was {_seconds(latency.p99)}. "
        "Peak RSS of scoring "
        f"re-reading the whole topic was {rss:,.0f} MiB: a batch under backlog holds every "
        "record of the fetch (up to `KPI_SCORING_MAX_BATCH`, 50,000), its decoded events, the "
        "state it read and its writes at once, so its memory follows that bound rather than "
        "the backlog's size: tests/e2e/test_large_backlog.py drains 128,500 events of two "
        "years within the same bound.\n\n"
    )
    if peer is not None:
        text += (
            f"The Quix Streams peer read the same topic at {peer.rate:,.0f} events/s "
            f"({peer.rate / alone.rate:.1f}× scoring alone) at "
            f"{peer.cpu.get('quix peer', 0):.0%} of a core: its cost is its per-message "
            "Python (deserialise, filter, one state read and write, serialise, produce), "
            "with librdkafka doing the I/O in C threads and RocksDB the state. It computes "
            "three KPI families at agent level and month only, at-least-once, with no "
            "transaction and no external store; scoring computes every KPI for five levels "
            "and four period kinds, commits its state and input positions in one MongoDB "
            "transaction per batch (its exactly-once effect on the store) and publishes "
            "score messages with deterministic ids.\n\n"
        )
    text += (
        "What would move scoring next (docs/scoring.md lists the levers already taken): "
        "scoring's own Python on a second core (a process per group of partitions: "
        "it is at most of one core while the database uses a fifth of another); fewer score "
        "updates per event (one message per changed (entity, period) instead of one per KPI, "
        "a contract change); the per-event Python of applying a batch and reading events; "
        "and, in production, a database that is not sharing the two cores.\n"
    )
    return text


_NAMES = {"broker": "broker", "database": "database", "bench": "bench driver"}


def _limit(m: Measurement, hint: str) -> str:
    """The busiest processes during the run, measured, and what they were doing."""
    busy = sorted(m.cpu.items(), key=lambda item: -item[1])
    shares = ", ".join(f"{_NAMES.get(n, n)} {s:.0%}" for n, s in busy if s >= 0.05)
    total = sum(m.cpu.values())
    where = f"CPU of a core: {shares}; all {total:.0%} of 200%" if busy else ""
    return f"{hint} ({where})" if where else hint


def _table(measurements: list[Measurement], consume_rate: float) -> str:
    rows = [
        "| measurement | items | seconds | items/s | ÷ raw consume | peak RSS (MiB) | "
        "what limits it |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for m in measurements:
        rss = ", ".join(f"{n} {v:,.0f}" for n, v in m.rss_mib.items()) or "—"
        rows.append(
            f"| {m.name} | {m.items:,} | {m.seconds:.2f} | {m.rate:,.0f} | "
            f"{m.rate / consume_rate:.2%} | {rss} | {m.limit} |"
        )
    return "\n".join(rows)


def _profile_text(profile: Profile | None) -> str:
    if profile is None:
        return "(py-spy was not available; no profile this run.)\n"

    def lines(costs: list[tuple[str, float, float]]) -> str:
        return "\n".join(
            f"| `{name}` | {own:.0%} | {inclusive:.0%} |" for name, own, inclusive in costs
        )

    head = "| function | self | inclusive |\n|---|---:|---:|\n"
    return (
        f"py-spy, {profile.seconds} s at 50 Hz without pausing, on the scoring-alone run; "
        "shares of the samples in which the process was on the CPU.\n\n"
        "Scoring, its own functions by inclusive time (below the per-batch wrappers):\n\n"
        f"{head}{lines(profile.scoring_stages())}\n\n"
        "Scoring, the leaf functions (self time):\n\n"
        f"{head}{lines(profile.scoring_leaves())}\n\n"
        "The database (SecantusDB) at the same time, its functions by inclusive time:\n\n"
        f"{head}{lines(profile.database_stages())}\n\n"
        "and its leaf functions:\n\n"
        f"{head}{lines(profile.database_leaves())}\n"
    )


def _comparison_text(comparisons: list[Comparison]) -> str:
    if not comparisons:
        return "(no comparison: the peer did not run)\n"
    agree = sum(c.agrees for c in comparisons)
    rows = [
        f"{agree} of {len(comparisons)} figures agree.\n",
        "| agent | month | figure | Quix Streams peer | scoring | |",
        "|---|---|---|---:|---:|---|",
    ]
    rows += [
        f"| {c.agent} | {c.month} | {c.figure} | {c.peer} | {c.ours} | "
        f"{'=' if c.agrees else '**differs**'} |"
        for c in comparisons
    ]
    return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class Results:
    """Everything one run measured."""

    measurements: list[Measurement]
    latency: Latency
    profile: Profile | None
    comparisons: list[Comparison]
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    when: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def _say(what: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {what}", file=sys.stderr, flush=True)


async def _timed(
    stack: dict[str, int], hint: str, measure: Callable[[], Awaitable[Measurement]]
) -> Measurement:
    usage = CpuUsage({**stack, "bench": os.getpid()}).start()
    found = await measure()
    return replace(found, cpu=found.cpu or usage.stop(), limit=hint)


async def _local_stack(state: Path) -> tuple[Settings, LocalStack, dict[str, int]]:
    """A private local broker and database on free ports, started; with their process ids."""
    settings = load_settings(
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
        MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}/?retryWrites=false",
        KPI_STATE_DIR=str(state),
    )
    stack = LocalStack(settings)
    await stack.up()
    pids = {
        "broker": stack.processes[Component.KAFKA].pid() or 0,
        "database": stack.processes[Component.MONGODB].pid() or 0,
    }
    return settings, stack, pids


async def _measure() -> Results:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kpi-bench-") as state:
        settings, stack, pids = await _local_stack(Path(state))
        log = Path(state) / "services.log"
        try:
            _say("raw broker produce and consume")
            results = await _raw_with_cpu(settings, pids)
            _say("raw database bulk upserts, contract decoding, ingest alone")
            results.append(
                await _timed(
                    pids,
                    "SecantusDB, a Python server: each upsert walks its update path and index",
                    lambda: database_bulk_upserts(settings, "bench_raw", DOCUMENTS),
                )
            )
            results.append(
                await _timed(
                    pids,
                    "pydantic validation in Python, one core",
                    lambda: asyncio.to_thread(contract_decoding, EVENTS),
                )
            )
            results.append(
                await _timed(
                    pids,
                    "ingest's per-record triage in Python, then claims in the database",
                    lambda: ingest_throughput(settings, INGEST_EVENTS, log, pids),
                )
            )
        finally:
            stack.down()
        # A fresh stack for a clean history: the year must come after nothing in event time.
        _say("end to end, latency, scoring alone, the Quix Streams peer (a fresh stack)")
        clean, stack, pids = await _local_stack(Path(state) / "clean")
        try:
            pipeline_results, latency, profile = await pipeline(
                clean.model_copy(update={"http_port_base": port_base()}),
                log,
                pids,
            )
            hints = [
                "scoring's commits to the database; ingest, scoring and the database share "
                "the cores",
                "scoring's transaction per batch in the database",
            ]
            results += [replace(m, limit=h) for m, h in zip(pipeline_results, hints, strict=True)]
            _say("the Quix Streams peer")
            peer = await quix_peer(clean, Path(state) / "clean", log, pids, RESCORE_DATABASE)
            comparisons: list[Comparison] = []
            if peer is not None:
                measurement, comparisons = peer
                results.append(
                    replace(
                        measurement,
                        limit="the peer's per-message Python (librdkafka does the I/O); "
                        "RocksDB and its changelog",
                    )
                )
        finally:
            stack.down()
            if log.exists():  # kept for a look after the run; the state directory is not
                shutil.copyfile(log, LOG_COPY)
    return Results(results, latency, profile, comparisons, load_before)


async def _raw_with_cpu(settings: Settings, pids: dict[str, int]) -> list[Measurement]:
    produced, consumed = await broker_produce_consume(
        settings, RAW_TOPIC, EVENTS, {**pids, "bench": os.getpid()}
    )
    return [
        replace(
            produced,
            limit="aiokafka's producer in Python (the bench driver) and the broker's appends",
        ),
        replace(consumed, limit="aiokafka's fetch and record decoding in Python"),
    ]


async def _measure_ingest(
    count: int, instances: int
) -> tuple[list[Measurement], list[ProcessProfile]]:
    """The raw broker consume rate and ingest alone over `count` events, in one run, with
    py-spy profiles of ingest and the database while ingest ran."""
    with tempfile.TemporaryDirectory(prefix="kpi-bench-") as state:
        settings, stack, pids = await _local_stack(Path(state))
        log = Path(state) / "services.log"
        profiles: list[ProcessProfile] = []
        try:
            _say("raw broker produce and consume")
            results = await _raw_with_cpu(settings, pids)
            _say(f"ingest alone, {count:,} events")
            results.append(
                await _timed(
                    pids,
                    "ingest",
                    lambda: ingest_throughput(
                        settings, count, log, pids, profiles=profiles, instances=instances
                    ),
                )
            )
        finally:
            stack.down()
            if log.exists():
                shutil.copyfile(log, LOG_COPY)
    return results, profiles


def _only_ingest(arguments: list[str]) -> int:
    """`--only ingest [--events N] [--instances N]`: the ingest row alone (with N processes
    in one consumer group), printed with its profiles; docs/benchmarks.md is left as the last
    full run wrote it."""

    def option(name: str, default: int) -> int:
        return int(arguments[arguments.index(name) + 1]) if name in arguments else default

    count, instances = option("--events", INGEST_EVENTS), option("--instances", 1)
    results, profiles = asyncio.run(_measure_ingest(count, instances))
    consume = next(m.rate for m in results if m.name.startswith("broker consume"))
    results = [replace(m, limit=_limit(m, m.limit)) for m in results]
    print(_table(results, consume) + "\n")
    within = {"ingest": ("services/ingest/", "shared/"), "database": ("secantus/",)}
    for profile in profiles:
        print(profile.table(within.get(profile.name, ())))
        if profile.name == "ingest":
            split = profile.shares(INGEST_PARTS)
            print("ingest, inclusive split:\n")
            print("\n".join(f"- {name}: {share:.0%}" for name, share in split.items()) + "\n")
    return 0


# Where ingest's CPU goes, by the functions (or files) each part runs in.
INGEST_PARTS = {
    "the handler (all of a batch)": "on_upstream",
    "triage (parse, validate, org, canonical document)": "Triage.__call__",
    "claims": "MongoClaimStore.claim",
    "encoding the outputs": "_outbound",
    "handing the outputs to the producer": "KafkaOutput._send",
    "metrics": "IngestPipeline._record",
    "aiokafka's consumer (fetching, decoding records)": "aiokafka/consumer/",
    "aiokafka's producer (sending, acks)": "aiokafka/producer/",
    "pymongo": "pymongo/",
}


LAST = Path(".kpi/bench-last.pickle")


def main() -> int:
    """Run every benchmark and record the figures; `--render` writes the report again from
    the last run's figures (after its prose changed) without measuring; `--only ingest`
    measures ingest alone beside the raw broker and prints it, with profiles."""
    arguments = sys.argv[1:]
    if arguments[:2] == ["--only", "ingest"]:
        return _only_ingest(arguments[2:])
    if "--render" in sys.argv[1:]:
        found = pickle.loads(LAST.read_bytes())  # written by this program, below
    else:
        found = asyncio.run(_measure())
        LAST.parent.mkdir(exist_ok=True)
        LAST.write_bytes(pickle.dumps(found))
    results, latency = found.measurements, found.latency
    consume = next(m.rate for m in results if m.name.startswith("broker consume"))
    results = [replace(m, limit=_limit(m, m.limit)) for m in results]
    when = found.when
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    latency_rss = ", ".join(f"{n} {v:,.0f} MiB" for n, v in latency.rss_mib.items())
    text = (
        "# Benchmarks\n\n"
        "Written by `make bench`; every figure comes from the same run, on the embedded local "
        "stack (Tansu in memory, SecantusDB with `--sync-on-commit`). The ratio column divides "
        "each rate by the raw broker consume rate of the same run, the figure to compare across "
        "runs on a noisy machine.\n\n"
        f"Last run: {when} on {machine}; load average before it "
        f"{' / '.join(f'{x:.1f}' for x in found.load_before)} (1, 5, 15 min): other work on "
        "the machine shares the two cores."
        + (
            f" Run at `KPI_BENCH_SCALE={SCALE:g}`: every row's size (the year's days, the "
            "latency run's seconds, the raw and ingest rows' events) is that share of a full "
            "run's."
            if SCALE != 1
            else ""
        )
        + "\n\n"
        "## Figures\n\n"
        f"{_table(results, consume)}\n\n"
        f"Event-to-score latency at a steady {latency.rate:,} events/s for {LATENCY_SECONDS} s "
        f"({latency.events:,} events, from the upstream record's broker timestamp to its "
        f"score updates being acknowledged): **p50 {_seconds(latency.p50)}, p99 "
        f"{_seconds(latency.p99)}** (interpolated in the histogram's buckets, as Prometheus "
        "does; its top bucket ends at 60 s, so '≥ 60 s' is all it can tell). Peak RSS after it: "
        f"{latency_rss}.\n\n"
        "## The Quix Streams peer beside scoring\n\n"
        f"{_comparison_text(found.comparisons)}\n"
        "## Profile of scoring alone\n\n"
        f"{_profile_text(found.profile)}\n"
        + _limits_text(results, latency, found.profile)
        + "\n"
        + NOTES_READ
        + NOTES_PEER
    )
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
