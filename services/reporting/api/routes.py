"""`/api/v1`: reporting's read-only JSON API (DESIGN §11), documented in docs/openapi.json.

Every route reads through `ReportingReads`; a malformed parameter is a 422 and an unknown
entity or scorecard a 404, each with a `Problem` body naming the parameter.
"""

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from shared.messages.alert import AlertSeverity, AlertState
from shared.messages.scorecard import Scorecard
from shared.service.http import PROBLEM_RESPONSES

from ..reads import ReportingReads
from ..render import Format, render
from . import models as m

PREFIX: Final = "/api/v1"
Lang = Annotated[m.Language, Query(description="Language of names and texts: en, zh or ja")]
EntityPath = Annotated[
    str, Path(description="LEVEL:ID, e.g. company:ACME, branch:B01, agent:A0001")
]
PeriodPath = Annotated[
    str,
    Path(description="A month (2025-03), FY2024-Q1, FY2024-H1, FY2024, or a window (R30D)"),
]
_SCORECARD_CONTENT: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The scorecard as JSON (the kpi.scorecards.v1 message), CSV or HTML",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}


async def scorecard_response(
    reads: ReportingReads, entity: str, period: str, fmt: Format, lang: m.Language
) -> Response:
    """The newest revision of a scorecard in a format, as the console and the API serve it."""
    rendered = render(await reads.scorecard(entity, period, lang), fmt)
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        rendered.body,
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{rendered.filename}"'},
    )


def api_router(reads: ReportingReads) -> APIRouter:
    """The routes of `/api/v1`, reading from `reads`."""
    router = APIRouter(prefix=PREFIX, tags=["api v1"], responses=PROBLEM_RESPONSES)

    @router.get("/kpis", summary="The KPI catalogue: ids, names, units, directions")
    async def kpis() -> m.KpiList:
        return await reads.kpis()

    @router.get("/scores/{entity}/{period}", summary="Every KPI of an entity for a period")
    async def scores(
        entity: EntityPath,
        period: PeriodPath,
        kpi: Annotated[str | None, Query(description="One KPI id only")] = None,
        lang: Lang = "en",
    ) -> m.EntityScores:
        return await reads.entity_scores(entity, period, lang, kpi)

    @router.get("/hierarchy", summary="The organisation with current KPI values")
    async def hierarchy(
        period: Annotated[
            str | None, Query(description="Default: the month of the latest event")
        ] = None,
        root: Annotated[str | None, Query(description="Default: the company")] = None,
        depth: Annotated[int, Query(ge=0, le=4, description="Levels below the root")] = 4,
        kpi: Annotated[list[str], Query(description="Only these KPIs (repeatable)")] = [],  # noqa: B006 - FastAPI copies defaults
        lang: Lang = "en",
    ) -> m.Hierarchy:
        return await reads.hierarchy(period, root=root, depth=depth, kpis=kpi, language=lang)

    @router.get("/periods", summary="The closed periods that have scorecards, newest first")
    async def periods() -> m.ScorecardPeriods:
        return await reads.scorecard_periods()

    @router.get("/scorecards", summary="Every scorecard of a closed period, with grades")
    async def period_scorecards(
        period: Annotated[str | None, Query(description="Default: the period closed last")] = None,
        lang: Lang = "en",
    ) -> m.PeriodScorecards:
        return await reads.period_scorecards(period, lang)

    @router.get(
        "/scorecards/{entity}/{period}",
        summary="The newest revision of a scorecard as JSON, CSV or a printable page",
        response_model=Scorecard,
        responses=_SCORECARD_CONTENT,
    )
    async def scorecard(
        entity: EntityPath,
        period: PeriodPath,
        format: Annotated[Format, Query(description="json, csv or html")] = "json",
        lang: Lang = "en",
    ) -> Response:
        return await scorecard_response(reads, entity, period, format, lang)

    @router.get("/alerts", summary="Alerts, firing and resolved, newest first")
    async def alerts(
        state: AlertState | None = None,
        severity: AlertSeverity | None = None,
        lang: Lang = "en",
    ) -> m.AlertList:
        return await reads.list_alerts(state, severity, lang)

    @router.get("/deadletters", summary="Dead letters by reason, source and hour")
    async def deadletters() -> m.DeadLetterReport:
        return reads.dead_letters()

    @router.get(
        "/pipeline",
        summary="Each service's consumer lag, events/s, batch latency and watermark; the clocks",
    )
    async def pipeline() -> m.Pipeline:
        return await reads.pipeline()

    return router


def legacy_router(reads: ReportingReads) -> APIRouter:
    """`/scorecards/{entity}/{period}`, where the scorecard was served before `/api/v1`."""
    router = APIRouter(include_in_schema=False)

    @router.get("/scorecards/{entity}/{period}")
    async def scorecard(
        entity: str, period: str, format: Format = "json", lang: m.Language = "en"
    ) -> Response:
        return await scorecard_response(reads, entity, period, format, lang)

    return router
