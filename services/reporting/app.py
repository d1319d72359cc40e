"""Composition root of the reporting service: the one place its pieces are built and wired."""

from datetime import timedelta
from urllib.parse import parse_qs, unquote

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from services.scoring.read_model import ScoreQueries, mongo_score_queries
from shared import mongo
from shared.config.org import OrgChart
from shared.kafka_output import KafkaOutput, OutputPort
from shared.kpi.catalogue import KpiCatalogue
from shared.kpi.config import load_kpi_config
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.metrics import create_registry
from shared.service import ServiceApp, build_service
from shared.service.http import Response, Route, Scope
from shared.service.periodic import Periodic
from shared.settings import Settings

from .domain import ScorecardConfig, load_profiles
from .pages import scorecard_page
from .render import FORMATS, LANGUAGES, render
from .service import ReportingMetrics, ReportingService
from .store import MongoScorecardStore, ScorecardStore
from .upstream import IngestUpstream, Upstream

NAME = "reporting"
PREFIX = "/scorecards/"


def scorecard_route(
    store: ScorecardStore,
    config: ScorecardConfig,
    catalogue: KpiCatalogue,
    calendar: FiscalCalendar,
    org: OrgChart | None = None,
) -> Route:
    """`GET /scorecards/{entity}/{period}?format=json|csv|html&lang=en|zh|ja`."""

    async def handler(scope: Scope) -> Response:
        parts = unquote(scope["path"][len(PREFIX) :]).strip("/").split("/")
        query = parse_qs(scope.get("query_string", b"").decode())
        fmt = query.get("format", ["json"])[0]
        language = query.get("lang", ["en"])[0]
        if len(parts) != 2 or fmt not in FORMATS or language not in LANGUAGES:
            return Response.json(
                {
                    "error": "expected /scorecards/{LEVEL:ID}/{PERIOD}"
                    f"?format={'|'.join(FORMATS)}&lang={'|'.join(LANGUAGES)}"
                },
                400,
            )
        entity, period = parts
        page = await scorecard_page(
            store,
            config=config,
            catalogue=catalogue,
            calendar=calendar,
            entity=entity,
            period=period,
            language=language,
            org=org,
        )
        if page is None:
            return Response.json({"error": f"no scorecard for {entity} in {period} yet"}, 404)
        rendered = render(page, fmt)
        return Response(200, rendered.body, rendered.media_type)

    return Route(PREFIX, handler=handler, prefix=True)


def create_app(
    settings: Settings,
    *,
    broker: KafkaBroker | None = None,
    mongo_client: AsyncMongoClient[mongo.Document] | None = None,
    registry: CollectorRegistry | None = None,
    store: ScorecardStore | None = None,
    output: OutputPort | None = None,
    scores: ScoreQueries | None = None,
    upstream: Upstream | None = None,
) -> ServiceApp:
    """Build the reporting service; a bad scorecards.yaml stops it here, naming the profile.
    `scores` is scoring's read model (default: on its MongoDB state)."""
    client = mongo_client or mongo.create_client(settings, app_name=f"kpi-{NAME}")
    config = load_kpi_config(settings.config_dir)  # calendar, KPIs, org and targets, checked
    calendar, catalogue, org = config.calendar, config.catalogue, config.org
    profiles = load_profiles(settings.config_dir, catalogue, org=org)

    registry = registry or create_registry()
    card_store = store or MongoScorecardStore(client, settings.mongodb_database)
    kafka_output = KafkaOutput(settings, client_id=f"kpi-{NAME}-out") if output is None else None
    service = ReportingService(
        config=profiles,
        catalogue=catalogue,
        calendar=calendar,
        org=org,
        reader=scores or mongo_score_queries(client, settings.mongodb_database, config),
        store=card_store,
        output=output or kafka_output,  # type: ignore[arg-type]
        metrics=ReportingMetrics(registry),
        idle_after=timedelta(seconds=settings.idle_timeout_s),
        upstream=upstream or IngestUpstream(settings),
    )
    ticker = Periodic("reporting-tick", service.tick, settings.reporting_tick_s, run_first=True)

    async def start_dependencies() -> None:
        await card_store.ensure_schema()
        if kafka_output is not None:
            await kafka_output.start()
        ticker.start()

    async def stop_dependencies() -> None:
        await ticker.stop()
        if kafka_output is not None:
            await kafka_output.stop()

    app = build_service(
        NAME,
        settings,
        broker=broker,
        mongo_client=client,
        registry=registry,
        routes=[scorecard_route(card_store, profiles, catalogue, calendar, org)],
        on_startup=[start_dependencies],
        on_shutdown=[stop_dependencies],
    )
    app.extra["service"] = service
    return app
