"""What each `kpi` sub-command does; argument parsing stays in `main`."""

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.json_logging import configure_logging
from shared.localstack import LocalStack
from shared.service import exit_quietly_after_shutdown
from shared.service import serve as serve_app
from shared.service.collector import freeze_loaded, tune_collector
from shared.settings import Settings

from .deadletters import LetterFilter
from .progress import Progress
from .publishing import PublishTotals, producer, publish_documents

CHUNK = 5_000


async def stack(settings: Settings, action: str, partitions: int | None) -> int:
    """`kpi stack up|down|status`."""
    local = LocalStack(settings)
    if action == "up":
        if partitions is not None:
            local.settings = settings.model_copy(update={"topic_partitions": partitions})
        await local.up()
        print(f"Kafka (Tansu)        {settings.kafka_bootstrap_servers}")
        print(f"MongoDB (SecantusDB) {settings.mongodb_uri.get_secret_value()}")
        print(f"state, logs and PIDs {local.state_dir}")
        return 0
    if action == "down":
        stopped = local.down()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    for component, pid in local.status().items():
        print(f"{component.value:8} {'running, pid ' + str(pid) if pid else 'stopped'}")
    return 0 if all(local.status().values()) else 3


def serve(settings: Settings, service: str, port: int | None) -> int:
    """`kpi serve NAME`: run one service until SIGTERM or Ctrl-C."""
    from services.registry import app_factory  # noqa: PLC0415 - only the service asked for

    configure_logging(service, settings.log_level)
    tune_collector(settings.gc_young_threshold)
    app = app_factory(service)(settings)
    freeze_loaded()  # modules, configuration, the organisation: alive as long as the process
    exit_quietly_after_shutdown()
    asyncio.run(serve_app(app, port=port))
    return 0


def run_local(
    settings: Settings,
    *,
    demo: bool,
    months: int,
    agents_every: int,
    events_per_day: int | None,
    live: bool,
) -> int:
    """`kpi run`: the whole product on this machine."""
    from .local_run import DemoOptions, LocalRun  # noqa: PLC0415 - keeps `kpi stack` light

    options = DemoOptions(
        months=months, agents_every=agents_every, events_per_day=events_per_day, live=live
    )
    return LocalRun(settings, demo=options if demo else None).run()


async def demo(
    settings: Settings, *, out: str, publish: bool, start: str, days: int, seed: int
) -> int:
    """`kpi demo`: write the demo stream as JSONL, or publish it."""
    from .demo_feed import demo_documents  # noqa: PLC0415 - keeps `kpi stack` light

    documents = demo_documents(settings, start, days, seed)
    if publish:
        totals = PublishTotals()
        async with producer(settings) as client:
            labelled = ((str(d.get("event_id")), d) for d in documents)
            await publish_documents(client, labelled, totals)
        print(f"sent {totals.sent}, failed {totals.failed}")
        return 0 if totals.failed == 0 else 1
    stream = sys.stdout if out == "-" else Path(out).open("w", encoding="utf-8")  # noqa: SIM115
    try:
        count = 0
        for document in documents:
            stream.write(json.dumps(document, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if stream is not sys.stdout:
            stream.close()
    print(f"wrote {count} events", file=sys.stderr)
    return 0


async def replay(settings: Settings, file: str) -> int:
    """`kpi replay FILE.jsonl`: publish every line; bad lines are reported, not fatal."""
    path = Path(file)
    totals = PublishTotals()
    bad_lines: list[str] = []
    total_lines = sum(1 for _ in path.open("rb"))
    progress = Progress(total_lines, stream=sys.stderr)
    async with producer(settings) as client:
        chunk: list[tuple[str, Any]] = []
        with path.open("r", encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    document = json.loads(line)
                except json.JSONDecodeError as exc:
                    totals.failed += 1
                    bad_lines.append(f"line {number}: not valid JSON ({exc.msg})")
                    continue
                if not isinstance(document, dict):
                    totals.failed += 1
                    bad_lines.append(f"line {number}: an event is a JSON object")
                    continue
                chunk.append((f"line {number}", document))
                if len(chunk) >= CHUNK:
                    await publish_documents(client, chunk, totals)
                    chunk = []
                    progress.update(totals.sent + totals.failed)
        await publish_documents(client, chunk, totals)
    progress.finish(totals.sent + totals.failed)
    for problem in [*bad_lines, *totals.errors][:50]:
        print(f"  {problem}", file=sys.stderr)
    print(f"sent {totals.sent}, failed {totals.failed}")
    return 0 if totals.failed == 0 else 1


async def wait_idle(settings: Settings, timeout_s: float, services: tuple[str, ...]) -> int:
    """`kpi wait-idle`: 0 once every service is idle, 1 with the backlogs after the timeout."""
    from services.idle import backlog_sources  # noqa: PLC0415
    from shared.idle import wait_idle as wait  # noqa: PLC0415

    sources = backlog_sources(settings, services)
    if not sources:
        print(f"no such service: {', '.join(services)}", file=sys.stderr)
        return 2
    backlogs = await wait(settings, sources, timeout_s=timeout_s)
    if any(backlogs.values()):
        behind = ", ".join(f"{name} {count} records behind" for name, count in backlogs.items())
        print(f"not idle after {timeout_s:.0f}s: {behind}", file=sys.stderr)
        return 1
    print("idle: " + ", ".join(backlogs))
    return 0


async def scores(
    settings: Settings, entity: str, period: str, kpi: str | None, *, as_json: bool
) -> int:
    """`kpi scores`: current values from the state."""
    from services.scoring.app import build_scorer  # noqa: PLC0415
    from services.scoring.generation_store import (  # noqa: PLC0415
        ActiveStateStore,
        MongoGenerations,
    )
    from services.scoring.queries import current_scores  # noqa: PLC0415
    from shared import mongo  # noqa: PLC0415

    client = mongo.create_client(settings, app_name="kpi-cli")
    try:
        store = ActiveStateStore(MongoGenerations(client, settings.mongodb_database))
        builder = build_scorer(settings, store)
        if kpi is not None and kpi not in builder.catalogue:
            print(
                f"unknown KPI {kpi!r}; known: {', '.join(builder.catalogue.ids)}", file=sys.stderr
            )
            return 2
        found = await current_scores(store, builder, entity=entity, period=period, kpi=kpi)
    finally:
        await client.close()
    documents = [
        json.loads(score.model_dump_json(exclude={"schema_version", "score_id"})) for score in found
    ]
    if as_json:
        print(json.dumps(documents, ensure_ascii=False, indent=2))
        return 0
    if not documents:
        print("no scores yet: nothing has been applied")
    for document in documents:
        value, target = document["value"] or "–", document["target"] or "–"
        print(f"{document['kpi']:28} {value:>14}  target {target}")
    return 0


async def alerts(settings: Settings, state: str | None, *, as_json: bool) -> int:
    """`kpi alerts`: every alert's latest message, from the alerts service's read model."""
    from services.alerts.read_model import mongo_alert_queries  # noqa: PLC0415
    from shared import mongo  # noqa: PLC0415
    from shared.messages.alert import AlertState  # noqa: PLC0415

    client = mongo.create_client(settings, app_name="kpi-cli")
    try:
        queries = mongo_alert_queries(client, settings.mongodb_database)
        found = await queries.alerts(AlertState(state) if state else None)
    finally:
        await client.close()
    documents = [json.loads(a.model_dump_json(exclude={"schema_version"})) for a in found]
    if as_json:
        print(json.dumps(documents, ensure_ascii=False, indent=2))
        return 0
    if not documents:
        print("no alerts" + (f" {state}" if state else ""))
    for d in documents:
        print(f"{d['state']:9} {d['severity']:8} {d['rule']:28} {d['entity']:16} {d['message']}")
    return 0


async def whatif(
    settings: Settings, profiles: str, period: str | None, fmt: str, output: str | None
) -> int:
    """`kpi whatif`: scorecards under a draft profile file beside the official ones, from
    scoring's read model; nothing is published or stored."""
    from services.reporting.domain import load_profiles  # noqa: PLC0415
    from services.reporting.whatif_run import load_draft, run_whatif  # noqa: PLC0415
    from services.scoring.read_model import mongo_score_queries  # noqa: PLC0415
    from shared import mongo  # noqa: PLC0415
    from shared.kpi.config import load_kpi_config  # noqa: PLC0415

    config = load_kpi_config(settings.config_dir)
    official = load_profiles(settings.config_dir, config.catalogue, org=config.org)
    draft = load_draft(settings.config_dir, profiles, config)
    client = mongo.create_client(settings, app_name="kpi-cli")
    try:
        reader = mongo_score_queries(client, settings.mongodb_database, config)
        text, _ = await run_whatif(
            reader, config=config, official=official, draft=draft, period=period, fmt=fmt
        )
    finally:
        await client.close()
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        Path(output).write_text(text, encoding="utf-8")  # noqa: ASYNC240 - the command's last step
        print(f"wrote {output}")
    return 0


async def scorecard(  # noqa: PLR0917 - mirrors the command's options
    settings: Settings,
    entity: str,
    period: str,
    fmt: str,
    language: str,
    output: str | None,
) -> int:
    """`kpi scorecard`: the newest revision of a scorecard, as JSON, CSV or a printable page."""
    from services.reporting.domain import load_profiles  # noqa: PLC0415
    from services.reporting.pages import scorecard_page  # noqa: PLC0415
    from services.reporting.render import render  # noqa: PLC0415
    from services.reporting.store import MongoScorecardStore  # noqa: PLC0415
    from shared import mongo  # noqa: PLC0415
    from shared.config.loading import load_calendar, load_org  # noqa: PLC0415
    from shared.kpi.catalogue import load_catalogue  # noqa: PLC0415
    from shared.kpi.fiscal_calendar import FiscalCalendar  # noqa: PLC0415

    catalogue = load_catalogue(settings.config_dir / "kpis.yaml")
    org = load_org(settings.config_dir / "org.yaml")
    calendar = FiscalCalendar(load_calendar(settings.config_dir / "calendar.yaml"))
    config = load_profiles(settings.config_dir, catalogue)
    client = mongo.create_client(settings, app_name="kpi-cli")
    try:
        page = await scorecard_page(
            MongoScorecardStore(client, settings.mongodb_database),
            config=config,
            catalogue=catalogue,
            calendar=calendar,
            entity=entity,
            period=period,
            language=language,  # type: ignore[arg-type]
            org=org,
        )
    finally:
        await client.close()
    if page is None:
        print(
            f"no scorecard for {entity} in {period} yet: periods get one when they close",
            file=sys.stderr,
        )
        return 1
    body = render(page, fmt).body  # type: ignore[arg-type]
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        Path(output).write_bytes(body)  # noqa: ASYNC240 - the command's last step
        print(f"wrote {output}")
    return 0


async def deadletters(
    settings: Settings,
    *,
    reason: str | None,
    source_topic: str | None,
    since: str | None,
    as_json: bool,
    newest: int = 10,
) -> int:
    """`kpi deadletters`: counts by reason and source, and the newest letters (never a payload
    on the terminal: `--json` has the bytes, phones hashed, for a script that needs them)."""
    from shared import mongo  # noqa: PLC0415

    from .deadletter_io import KafkaLetterSource, MongoRedriveLedger  # noqa: PLC0415
    from .deadletters import list_letters  # noqa: PLC0415

    wanted = LetterFilter.from_options(reason, source_topic, since, datetime.now(UTC))
    batch = await KafkaLetterSource(settings).read_all()
    client = mongo.create_client(settings, app_name="kpi-cli")
    try:
        ledger = MongoRedriveLedger.on(client, settings.mongodb_database)
        redriven = await ledger.redriven({s.source_position for s in batch.letters})
    finally:
        await client.close()
    listing = list_letters(batch, wanted, redriven)
    if as_json:
        print(json.dumps(listing.as_json(), ensure_ascii=False, indent=2))
        return 0
    print(f"dead letters: {len(listing.letters)}, re-driven already: {listing.redriven}")
    if listing.unreadable:
        print(f"records on the topic that are not dead letters: {listing.unreadable}")
    if not listing.letters:
        return 0
    print(f"\n{'reason':22} {'letters':>8} {'re-driven':>10}")
    for name, count in listing.by_reason.items():
        print(f"{name:22} {count:>8} {listing.redriven_by_reason.get(name, 0):>10}")
    print(f"\n{'source topic':28} {'letters':>8}")
    for name, count in listing.by_source_topic.items():
        print(f"{name:28} {count:>8}")
    print(f"\nnewest {min(newest, len(listing.letters))}:")
    for stored in listing.newest(newest):
        letter = stored.letter
        where = f"{letter.source_topic}[{letter.partition}]@{letter.offset}"
        received = letter.received_at.isoformat(timespec="seconds")
        print(f"  {received}  {letter.reason.value:18} {where}\n      {letter.detail[:300]}")
    return 0


async def deadletters_redrive(
    settings: Settings,
    *,
    reason: str | None,
    source_topic: str | None,
    since: str | None,
    dry_run: bool,
) -> int:
    """`kpi deadletters redrive`: the matching letters' original bytes back to their topics."""
    from shared import mongo, topics  # noqa: PLC0415
    from shared.kafka_output import KafkaOutput  # noqa: PLC0415

    from .deadletter_io import KafkaLetterSource, MongoRedriveLedger  # noqa: PLC0415
    from .deadletters import plan_redrive, redrive  # noqa: PLC0415

    wanted = LetterFilter.from_options(reason, source_topic, since, datetime.now(UTC))
    batch = await KafkaLetterSource(settings).read_all()
    client = mongo.create_client(settings, app_name="kpi-cli")
    try:
        ledger = MongoRedriveLedger.on(client, settings.mongodb_database)
        plan = plan_redrive(
            batch.letters, wanted, await ledger.redriven({s.source_position for s in batch.letters})
        )
        if plan.already_redriven:
            print(f"skipped {plan.already_redriven} re-driven already")
        for topic, count in plan.not_redrivable.items():
            print(
                f"skipped {count} from {topic}: only letters from the upstream topics "
                f"({', '.join(topics.UPSTREAM)}) and {topics.EVENTS} can go back"
            )
        per_topic = ", ".join(f"{topic} {count}" for topic, count in plan.per_topic().items())
        if dry_run:
            print(f"would re-drive {len(plan.to_send)} (dry run, nothing sent)")
            for stored in plan.to_send[:50]:
                letter = stored.letter
                print(
                    f"  {letter.source_topic}[{letter.partition}]@{letter.offset} "
                    f"{letter.reason.value}"
                )
            if per_topic:
                print(f"per topic: {per_topic}")
            return 0
        output = KafkaOutput(settings, client_id="kpi-cli-redrive")
        progress = Progress(len(plan.to_send), stream=sys.stderr)
        await output.start()
        try:
            result = await redrive(
                plan, output, ledger, clock=lambda: datetime.now(UTC), on_progress=progress.update
            )
        finally:
            await output.stop()
        progress.finish(result.total)
    finally:
        await client.close()
    sent = ", ".join(f"{topic} {count}" for topic, count in result.sent.items())
    print(f"re-drove {result.total}" + (f": {sent}" if sent else ""))
    return 0
