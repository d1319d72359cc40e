"""The peer of `make bench`: the KPIs a user would otherwise write by hand with Quix Streams.

Runs in its own environment (.venv-quix, from benchmarks/quix/uv.lock: quixstreams 3.28.1 needs
pydantic < 2.14), so it imports nothing from this project. It reads the canonical events on
`kpi.events.v1` from the start, as a Quix user downstream of ingest would, and keeps per agent
and calendar month (the company's time zone):

- counts by agent and month: one counter per event type and action (`policy_issued`,
  `renewal_contacted`, `complaint_opened`, `compliment_opened`, ...);
- renewal rate: renewals `renewed` / renewals `due`, both counted in the month of the renewal's
  `due_date`;
- survey top box: responses in the top box (9-10 on 0-10, 5 on 1-5, >= 90 on 0-100) / responses.

It is written the way the Quix Streams documentation shows: an `Application` with a consumer
group, `app.dataframe(topic)`, a stateful `apply` whose `State` (RocksDB, backed by a changelog
topic) holds the running counts, and `to_topic` for the results. `kpi.events.v1` is keyed by
agent already, and state in Quix Streams is per message key, so no `group_by` (and no
repartition topic) is needed; the month is part of the state key instead. Months are calendar
months in a time zone, which the fixed-length tumbling windows of Quix Streams do not express,
so the aggregation keeps its own per-month counters. Every changed (agent, month) row is
published to `bench.quix.agent_month.v1`, keyed `AGENT|YYYY-MM`: the latest value per key is the
result.

Processing guarantee: at-least-once (the default). After a crash, the input since the last
checkpoint is processed again and the rows published since then are published again; the
state is flushed only after the offsets are committed, and recovery skips changelog records
newer than the committed offset, so the counts in state are not doubled (best-effort, by Quix's
own description). A store written from the output with increments would double count.

On Tansu it needs two settings: `retention.ms` on the input topic's config (Quix indexes it
when it derives the changelog topic's config; Tansu's DescribeConfigs does not return it), and
a 10 s consumer session timeout (Tansu holds a JoinGroup for about half the session timeout, so
librdkafka's 45 s default costs 23 s of start-up).
"""

import argparse
import os
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from quixstreams import Application, State

EVENTS_TOPIC = "kpi.events.v1"
OUTPUT_TOPIC = "bench.quix.agent_month.v1"
TOP_BOX = {10: Decimal(9), 5: Decimal(5), 100: Decimal(90)}


def _month(timestamp: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(timestamp).astimezone(zone).strftime("%Y-%m")


def contributions(message: dict[str, Any], zone: ZoneInfo) -> list[tuple[str, str]]:
    """The (month, counter) pairs one canonical event adds one to."""
    event = message["event"]
    kind, action = event["event_type"], event.get("action")
    month = _month(event["occurred_at"], zone)
    if kind == "renewal":
        due_month = event["due_date"][:7]
        if action == "contacted":
            return [(month, "renewal_contacted")]
        return [(due_month, f"renewal_{action}")]
    if kind == "complaint":
        return [(month, f"{event['kind']}_{action}")]
    if kind == "survey":
        score, scale = Decimal(str(event["score"])), int(event["scale"])
        found = [(month, "survey_responses")]
        if score >= TOP_BOX[scale]:
            found.append((month, "survey_top_box"))
        return found
    return [(month, f"{kind}_{action}" if action else kind)]


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def build(app: Application, zone: ZoneInfo, source: str = EVENTS_TOPIC) -> None:
    """The dataframe: filter agents' events, count per month in state, publish changed rows."""
    events = app.topic(source, value_deserializer="json", key_deserializer="str")
    # Tansu's DescribeConfigs does not return retention.ms, which Quix Streams 3.28.1 indexes
    # when it derives the changelog topic's configuration from the input topic (KeyError).
    if events.broker_config is not None:
        events.broker_config.extra_config.setdefault("retention.ms", "-1")
    output = app.topic(OUTPUT_TOPIC, value_serializer="json", key_serializer="str")

    def aggregate(message: dict[str, Any], state: State) -> list[dict[str, Any]]:
        agent = message["org"]["agent"]
        changed: dict[str, dict[str, int]] = {}
        for month, counter in contributions(message, zone):
            counts = changed.get(month) or state.get(month, {})
            counts[counter] = counts.get(counter, 0) + 1
            changed[month] = counts
        rows = []
        for month, counts in changed.items():
            state.set(month, counts)
            rows.append(
                {
                    "agent": agent,
                    "month": month,
                    "counts": counts,
                    "renewal_rate": _ratio(
                        counts.get("renewal_renewed", 0), counts.get("renewal_due", 0)
                    ),
                    "survey_top_box": _ratio(
                        counts.get("survey_top_box", 0), counts.get("survey_responses", 0)
                    ),
                }
            )
        return rows

    sdf = app.dataframe(events)
    sdf = sdf.filter(lambda message: message["org"].get("agent") is not None)
    sdf = sdf.apply(aggregate, stateful=True, expand=True)
    sdf.to_topic(output, key=lambda row: f"{row['agent']}|{row['month']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True, help="host:port of the Kafka broker")
    parser.add_argument("--group", required=True, help="the consumer group")
    parser.add_argument("--state-dir", required=True, help="where RocksDB keeps the state")
    parser.add_argument("--timezone", default="Asia/Tokyo", help="the company's time zone")
    parser.add_argument("--commit-interval", type=float, default=1.0)
    parser.add_argument("--topic", default=EVENTS_TOPIC, help="the canonical events' topic")
    parser.add_argument(
        "--session-timeout-ms",
        type=int,
        default=10_000,
        help="librdkafka's default is 45 s; Tansu holds a JoinGroup for about half of it",
    )
    args = parser.parse_args()
    app = Application(
        broker_address=args.broker,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir,
        commit_interval=args.commit_interval,
        processing_guarantee="at-least-once",
        loglevel=os.environ.get("KPI_BENCH_QUIX_LOGLEVEL", "WARNING"),
        consumer_extra_config={"session.timeout.ms": args.session_timeout_ms},
    )
    build(app, ZoneInfo(args.timezone), args.topic)
    app.run()


if __name__ == "__main__":
    main()
