"""`make bench`: start a private local stack, measure, and write docs/benchmarks.md."""

import asyncio
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from shared.localstack import LocalStack
from shared.localstack.probes import free_port
from shared.settings import load_settings

from .ingest import ingest_throughput
from .pipeline import Latency, pipeline
from .raw import Measurement, broker_produce_consume, contract_decoding, database_bulk_upserts

REPORT = Path("docs/benchmarks.md")
EVENTS = 100_000
DOCUMENTS = 10_000
INGEST_EVENTS = 50_000
RAW_TOPIC = "bench.raw.v1"
PIPELINE_EVENTS = 50_000


NOTES = (
    "## How to read them\n\n"
    "- The raw broker and database rows are the yardstick: the same machine, the same "
    "run, no product code. Everything else shares the two cores with the broker and the "
    "database it talks to.\n"
    "- *ingest service*: demo events are published first, then one ingest process "
    "consumes them; the rate is taken between the broker timestamps of its first and last "
    "output on `kpi.events.v1`, so start-up and consumer-group joining are left out (the "
    "wall time with them is in the row's name). Per batch it triages every record "
    "(parse, code lists, validation, org path, lateness, phone hashes), claims the keys "
    "in MongoDB with one unordered `insert_many`, and publishes with acks from all "
    "replicas before the offsets are committed.\n"
    "- *end to end*: ingest and scoring run as processes; the demo events are published "
    "as fast as the producer goes and the clock stops when both services' committed "
    "positions reach the end of their inputs (`kpi wait-idle`'s rule).\n"
    "- *scoring alone*: a second state (another database) re-reads every canonical event "
    "of the run from the start.\n"
    "- *latency*: events published at a steady rate after the throughput runs; each "
    "applied event's latency is observed when the score updates of its batch are "
    "acknowledged.\n\n"
    "## What limits scoring\n\n"
    "Scoring's cost per batch follows the documents it touches, not its events: one `$inc` "
    "per (entity, fiscal year) counter document — about 1,100 for a batch that reaches "
    "the 1,000 agents, their teams, branches, regions and the company — plus the record "
    "buckets of the policies, renewals, cases and customers it changes, read before and "
    "written in the transaction; then one score update per changed (entity, KPI, period). "
    "On this machine SecantusDB, itself a Python server sharing the two cores with the "
    "broker, ingest and scoring, writes about 2,000–5,500 such documents a second (the raw "
    "row above), and that is the ceiling: scoring reaches about 2,000 events/s, a tenth of "
    "the 20,000 aimed for, and at a steady 2,000 events/s it is at capacity, so the "
    "backlog and the latency grow instead of staying under a second. What would move it: "
    "coarser record buckets (per team rather than per agent), agent-level counters kept "
    "per month only, fewer score updates per batch for quarters, halves and years, and a "
    "database that is not competing for the same two cores — a MongoDB replica set on "
    "its own hosts writes bulk upserts one to two orders of magnitude faster.\n"
)


def _table(measurements: list[Measurement]) -> str:
    rows = ["| measurement | items | seconds | items/s |", "|---|---:|---:|---:|"]
    rows += [f"| {m.name} | {m.items:,} | {m.seconds:.2f} | {m.rate:,.0f} |" for m in measurements]
    return "\n".join(rows)


async def _measure() -> tuple[list[Measurement], Latency]:
    with tempfile.TemporaryDirectory(prefix="kpi-bench-") as state:
        settings = load_settings(
            KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
            MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}/?retryWrites=false",
            KPI_STATE_DIR=state,
        )
        stack = LocalStack(settings)
        await stack.up()
        try:
            results = await broker_produce_consume(settings, RAW_TOPIC, EVENTS)
            results.append(await database_bulk_upserts(settings, "bench_raw", DOCUMENTS))
            results.append(contract_decoding(EVENTS))
            results.append(await ingest_throughput(settings, INGEST_EVENTS))
            pipeline_results, latency = await pipeline(
                settings.model_copy(update={"http_port_base": free_port()}),
                PIPELINE_EVENTS,
                Path(state) / "services.log",
            )
            results.extend(pipeline_results)
        finally:
            stack.down()
    return results, latency


def main() -> int:
    """Run every benchmark and record the figures."""
    results, latency = asyncio.run(_measure())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, Python {sys.version.split()[0]}"
    text = (
        "# Benchmarks\n\n"
        "Written by `make bench`; every figure comes from the same run, on the embedded local "
        "stack (Tansu in memory, SecantusDB with `--sync-on-commit`).\n\n"
        f"Last run: {when} on {machine}.\n\n"
        "## Figures\n\n"
        f"{_table(results)}\n\n"
        f"Event-to-score latency at a steady {latency.rate:,} events/s "
        f"({latency.events:,} events, from the upstream record's broker timestamp to its "
        f"score updates being acknowledged): **p50 {latency.p50:.2f} s, p99 {latency.p99:.2f} s**"
        " (interpolated in the histogram's buckets, as Prometheus does).\n\n" + NOTES
    )
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
