"""The `kpi` command (DESIGN §11): run the stack and the services, feed and read them."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from shared.errors import KpiError
from shared.events import RejectReason
from shared.settings import SERVICE_NAMES, Settings, load_settings

from . import commands, recompute


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpi", description="Streaming insurance KPI platform: stack, services and tools."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stack = sub.add_parser("stack", help="start or stop the embedded local broker and database")
    stack.add_argument("action", choices=["up", "down", "status"])
    stack.add_argument("--partitions", type=int, default=None, help="partitions per topic")

    serve = sub.add_parser("serve", help="run one service")
    serve.add_argument("service", choices=SERVICE_NAMES)
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default per service)")

    _run_parser(sub)

    demo = sub.add_parser("demo", help="generate the demo company's event stream")
    demo.add_argument("--out", default="-", help="JSONL file to write ('-' for stdout)")
    demo.add_argument("--publish", action="store_true", help="publish to the broker instead")
    demo.add_argument("--start", default="2024-04-01", help="first day (local date)")
    demo.add_argument("--days", type=int, default=30, help="how many days of activity")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same stream)")

    replay = sub.add_parser("replay", help="publish a JSONL file of events to the upstream topics")
    replay.add_argument("file", help="one JSON event a line; event_type selects the topic")
    idle = sub.add_parser(
        "wait-idle", help="return once every service has consumed everything published so far"
    )
    idle.add_argument("--timeout", type=float, default=300.0, help="seconds to wait at most")
    idle.add_argument(
        "--service", action="append", default=[], help="only this service (repeatable)"
    )
    scores = sub.add_parser("scores", help="current KPI values of an entity and period")
    scores.add_argument("--entity", required=True, help="LEVEL:ID, e.g. branch:B01")
    scores.add_argument("--period", required=True, help="2024-05, FY2024, FY2024-Q1, R30D")
    scores.add_argument("--kpi", default=None, help="one KPI id (default: all)")
    scores.add_argument("--json", action="store_true", help="print JSON (a list of scores)")
    card = sub.add_parser("scorecard", help="an entity's scorecard for a closed period")
    card.add_argument("--entity", required=True, help="LEVEL:ID, e.g. branch:B01")
    card.add_argument("--period", required=True, help="2024-05, FY2024-Q1, FY2024-H1, FY2024")
    card.add_argument("--format", choices=["json", "csv", "html"], default="json")
    card.add_argument("--lang", choices=["en", "zh", "ja"], default="en")
    card.add_argument("--output", "-o", default=None, help="write to this file, not stdout")
    whatif = sub.add_parser(
        "whatif",
        help="scorecards under a draft profile file beside the official ones (publishes nothing)",
        description="Compute a period's scorecards under a draft scorecard profile file and under "
        "the official scorecards.yaml, from scoring's read model, and show per entity the "
        "official and draft final score, grade and difference, and how many grades change. "
        "Nothing is published or stored.",
    )
    whatif.add_argument("--profiles", required=True, help="the draft profile file (YAML)")
    whatif.add_argument(
        "--period", default=None, help="2024-05, FY2024-Q1, FY2024-H1, FY2024 (default: last month)"
    )
    whatif.add_argument("--format", choices=["table", "csv", "html"], default="table")
    whatif.add_argument("--output", "-o", default=None, help="write to this file, not stdout")
    alerts = sub.add_parser("alerts", help="alerts known so far, newest first")
    alerts.add_argument("--state", choices=["firing", "resolved"], default=None)
    alerts.add_argument("--json", action="store_true", help="print JSON (a list of alerts)")
    _deadletters_parser(sub)
    _recompute_parser(sub)
    return parser


def _recompute_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    recompute = sub.add_parser(
        "recompute",
        help="recompute the scoring state under the definitions in KPI_CONFIG_DIR, then switch",
        description="Build a new scoring state generation beside the live one by re-reading "
        "kpi.events.v1 from its start with the definitions in KPI_CONFIG_DIR, and switch to it "
        "once it has caught up (live scoring keeps serving meanwhile, and follows the switch). "
        "Run again after an interruption to resume. See docs/recompute.md.",
    )
    recompute.add_argument("--label", default=None, help="a name for the new generation")
    recompute.add_argument(
        "--from",
        dest="from_period",
        metavar="PERIOD",
        type=_from_period,
        default=None,
        help="after the switch, republish only the periods that end on or after PERIOD's "
        "start (2024-10, FY2024-Q3, FY2024-H2, FY2024); the state is recomputed whole",
    )
    actions = recompute.add_mutually_exclusive_group()
    for flag, text in (
        ("--status", "show the active, previous and building generations"),
        ("--rollback", "switch back to the previous generation"),
        ("--drop-previous", "drop the previous generation (no rollback after)"),
        ("--abandon", "drop the generation being built"),
    ):
        actions.add_argument(
            flag, dest="action", action="store_const", const=flag.removeprefix("--"), help=text
        )


def _from_period(text: str) -> str:
    from shared.kpi.republication import from_period  # noqa: PLC0415

    try:
        return from_period(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from .demo_feed import (  # noqa: PLC0415 - the defaults live beside the demo feed
        DEMO_AGENTS_EVERY,
        DEMO_BACKFILL_MONTHS,
        DEMO_EVENTS_PER_DAY,
    )

    run = sub.add_parser(
        "run",
        help="local stack, four services and the demo company (Ctrl-C stops)",
        description="Start the local broker and database and the four services; backfill the "
        "demo company's history (so that closed months, scorecards and alerts are there), "
        "print where to look, the console first, then feed the company live.",
    )
    run.add_argument("--no-demo", action="store_true", help="no demo company: services only")
    run.add_argument(
        "--months",
        type=int,
        default=DEMO_BACKFILL_MONTHS,
        help="months of history before the last closed month (default %(default)s)",
    )
    run.add_argument(
        "--agents-every",
        type=int,
        default=DEMO_AGENTS_EVERY,
        metavar="N",
        help="keep every N-th agent of each team of org.yaml (1: all; default %(default)s)",
    )
    run.add_argument(
        "--events-per-day",
        type=int,
        default=DEMO_EVENTS_PER_DAY,
        metavar="N",
        help="the demo company's daily volume (0: its natural volume; default %(default)s)",
    )
    run.add_argument(
        "--no-live", action="store_true", help="backfill only: publish nothing after it"
    )


def _deadletters_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    letters = sub.add_parser(
        "deadletters",
        help="dead letters by reason and source; `redrive` sends them back after a fix",
        description="List kpi.deadletter.v1 (counts by reason and source topic, the newest "
        "letters), or with `redrive` publish the original bytes back to their source topics. "
        "A letter is re-driven at most once; ingest drops what it accepted before.",
    )
    letters.add_argument(
        "action", nargs="?", choices=["redrive"], help="send the matching letters back"
    )
    reasons = [r.value for r in RejectReason]
    letters.add_argument(
        "--reason", choices=reasons, default=None, metavar="R", help=", ".join(reasons)
    )
    letters.add_argument("--source-topic", default=None, help="e.g. insurance.policy.v1")
    letters.add_argument(
        "--since", default=None, help="received since: 90m, 24h, 7d, 2024-06-01 or an ISO time"
    )
    letters.add_argument("--json", action="store_true", help="print JSON (counts and letters)")
    letters.add_argument("--newest", type=int, default=10, help="letters to show (default 10)")
    letters.add_argument("--dry-run", action="store_true", help="redrive: say what, send nothing")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.months < 0 or args.agents_every < 1 or args.events_per_day < 0:
        raise KpiError("kpi run takes --months ≥ 0, --agents-every ≥ 1 and --events-per-day ≥ 0")
    return commands.run_local(
        settings,
        demo=not args.no_demo,
        months=args.months,
        agents_every=args.agents_every,
        events_per_day=args.events_per_day or None,
        live=not args.no_live,
    )


def _deadletters(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "redrive":
        if args.json:
            raise KpiError("--json lists dead letters; `redrive` does not take it")
        return asyncio.run(
            commands.deadletters_redrive(
                settings,
                reason=args.reason,
                source_topic=args.source_topic,
                since=args.since,
                dry_run=args.dry_run,
            )
        )
    if args.dry_run:
        raise KpiError("--dry-run goes with `kpi deadletters redrive`")
    return asyncio.run(
        commands.deadletters(
            settings,
            reason=args.reason,
            source_topic=args.source_topic,
            since=args.since,
            as_json=args.json,
            newest=args.newest,
        )
    )


def _reads(settings: Settings, args: argparse.Namespace) -> int:
    """The commands that read what the services computed."""
    if args.command == "scores":
        return asyncio.run(
            commands.scores(settings, args.entity, args.period, args.kpi, as_json=args.json)
        )
    if args.command == "scorecard":
        return asyncio.run(
            commands.scorecard(
                settings, args.entity, args.period, args.format, args.lang, args.output
            )
        )
    if args.command == "whatif":
        return asyncio.run(
            commands.whatif(settings, args.profiles, args.period, args.format, args.output)
        )
    return asyncio.run(commands.alerts(settings, args.state, as_json=args.json))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `kpi` console script."""
    args = _parser().parse_args(argv)
    # Probing a broker that is still starting makes aiokafka log connection errors; the
    # commands report what matters themselves. `kpi serve` installs JSON logging instead.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        settings = load_settings()
        if args.command == "stack":
            return asyncio.run(commands.stack(settings, args.action, args.partitions))
        if args.command == "serve":
            return commands.serve(settings, args.service, args.port)
        if args.command == "run":
            return _run(settings, args)
        if args.command == "demo":
            return asyncio.run(
                commands.demo(
                    settings,
                    out=args.out,
                    publish=args.publish,
                    start=args.start,
                    days=args.days,
                    seed=args.seed,
                )
            )
        if args.command == "wait-idle":
            return asyncio.run(commands.wait_idle(settings, args.timeout, tuple(args.service)))
        if args.command in {"scores", "scorecard", "whatif", "alerts"}:
            return _reads(settings, args)
        if args.command == "deadletters":
            return _deadletters(settings, args)
        if args.command == "replay":
            return asyncio.run(commands.replay(settings, args.file))
        if args.command == "recompute":
            return asyncio.run(
                recompute.recompute(
                    settings, label=args.label, action=args.action, since=args.from_period
                )
            )
    except KpiError as exc:
        print(f"kpi: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
