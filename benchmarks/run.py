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
from .raw import Measurement, broker_produce_consume, contract_decoding, database_bulk_upserts

REPORT = Path("docs/benchmarks.md")
EVENTS = 100_000
DOCUMENTS = 10_000
INGEST_EVENTS = 50_000
RAW_TOPIC = "bench.raw.v1"


def _table(measurements: list[Measurement]) -> str:
    rows = ["| measurement | items | seconds | items/s |", "|---|---:|---:|---:|"]
    rows += [f"| {m.name} | {m.items:,} | {m.seconds:.2f} | {m.rate:,.0f} |" for m in measurements]
    return "\n".join(rows)


async def _measure() -> list[Measurement]:
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
        finally:
            stack.down()
    return results


def main() -> int:
    """Run every benchmark and record the figures."""
    results = asyncio.run(_measure())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, Python {sys.version.split()[0]}"
    text = (
        "# Benchmarks\n\n"
        "Written by `make bench`; every figure comes from the same run, on the embedded local "
        "stack (Tansu in memory, SecantusDB with `--sync-on-commit`).\n\n"
        f"Last run: {when} on {machine}.\n\n"
        "## Figures\n\n"
        f"{_table(results)}\n\n"
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
    )
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
