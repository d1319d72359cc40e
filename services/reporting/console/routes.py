"""The console's pages: overview, organisation drill-down, scorecards, alerts, data quality,
pipeline and the runbooks. Each route reads through `ReportingReads` (as `/api/v1` does),
shapes with `views` and renders a template of `templates/console`; every link keeps the
language (`?lang=zh`). Read-only: GET only."""

import asyncio
import re
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from shared.config.org import Level, entity_key
from shared.errors import TransientError
from shared.kpi.fiscal_calendar import is_window
from shared.messages.alert import AlertState
from shared.messages.scorecard import Grade
from shared.service.http import BadParameter, NotFound, RequestRefused, validation_reason

from ..names import display_name, labelled
from ..pipeline_sampler import SAMPLE_EVERY_S
from ..reads import REDRIVE_COMMAND, ReportingReads
from ..render.labels import grade_name
from ..render.page import LANGUAGES, Language
from ..render.templating import render_page, trusted
from . import views as v
from .charts import grade_bars_svg, hourly_bars_svg, reason_colour
from .labels import t
from .stylesheet import STYLESHEET

PAGES: Final = (
    ("overview", "/"),
    ("organisation", "/org"),
    ("scorecards", "/scorecards"),
    ("alerts", "/alerts"),
    ("data_quality", "/data-quality"),
    ("pipeline", "/pipeline"),
)
Lang = Annotated[Language, Query(description="en, zh or ja")]
EVERY: Final = f"{SAMPLE_EVERY_S:g}"  # how often the pipeline page's offsets are read


@dataclass(frozen=True)
class Renderer:
    """Draws a console page: the template with the bar, the language links and the time."""

    reads: ReportingReads

    def _common(self, request: Request, lang: Language, current: str) -> dict[str, Any]:
        query: Mapping[str, str] = dict(request.query_params)
        return {
            "lang": lang,
            "t": t,
            "v": v,
            "stylesheet": trusted(STYLESHEET),
            "pages": [(key, v.href(path, lang), key == current) for key, path in PAGES],
            "languages": v.language_links(request.url.path, query, lang),
            "name_of": lambda entity: labelled(self.reads.org, entity, lang),
        }

    async def page(
        self, request: Request, template: str, lang: Language, current: str, **context: Any
    ) -> HTMLResponse:
        stream_time = await self.reads.stream_time()
        as_of = None if stream_time is None else v.when(stream_time)
        common = self._common(request, lang, current)
        return HTMLResponse(render_page(f"console/{template}", **common, as_of=as_of, **context))

    def refused(self, request: Request, lang: Language, exc: RequestRefused) -> HTMLResponse:
        """The page of a request the console cannot answer: its reason, and the status."""
        common = self._common(request, lang, "")
        html = render_page(
            "console/error.html", **common, as_of=None, status=exc.status, reason=str(exc)
        )
        return HTMLResponse(html, exc.status)

    def unavailable(self, request: Request, lang: Language, exc: TransientError) -> HTMLResponse:
        """The page of a request a database or broker down for now kept from an answer: 503,
        with when to retry, as the API's (shared/service/http.py)."""
        common = self._common(request, lang, "")
        reason = f"a dependency is unavailable, retry later: {exc}"
        html = render_page("console/error.html", **common, as_of=None, status=503, reason=reason)
        return HTMLResponse(html, 503, headers={"Retry-After": "5"})


def asked_language(request: Request) -> Language:
    """The language a request asked for, English when it asked for none the console has."""
    asked = request.query_params.get("lang", "en")
    return next((code for code in LANGUAGES if code == asked), "en")


def console_route(renderer: Renderer) -> type[APIRoute]:
    """A route class whose malformed request (an unknown `lang`, a parameter of the wrong type)
    and refused request (a route raises `RequestRefused`) answer the console's own 4xx page,
    and a dependency down for now its 503 page, in the language asked for when the console has
    it; `/api/v1` keeps its JSON Problem (shared/service/http.py)."""

    class ConsoleRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except RequestValidationError as exc:
                    refused = BadParameter(validation_reason(exc))
                    return renderer.refused(request, asked_language(request), refused)
                except RequestRefused as exc:
                    return renderer.refused(request, asked_language(request), exc)
                except TransientError as exc:
                    return renderer.unavailable(request, asked_language(request), exc)

            return handle

    return ConsoleRoute


_RUNBOOK_NAME: Final = re.compile(r"[A-Za-z0-9_-]+\.md")


def read_runbook(folder: Path, name: str) -> str | None:
    """A runbook's text: a `.md` file directly in `folder`, else None (no way out of it, and
    no name a path cannot hold, such as one with a NUL byte)."""
    if not _RUNBOOK_NAME.fullmatch(name):
        return None
    inside = folder.resolve()
    path = (inside / name).resolve()
    if path.suffix != ".md" or path.parent != inside or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def console_router(reads: ReportingReads, runbooks: Path) -> APIRouter:
    """The console's routes, reading from `reads`; runbooks are served from the folder
    `runbooks` (`KPI_RUNBOOKS_DIR`, docs/runbooks)."""
    render = Renderer(reads)
    router = APIRouter(
        include_in_schema=False,
        default_response_class=HTMLResponse,
        route_class=console_route(render),
    )
    org, calendar, catalogue = reads.org, reads.config.calendar, reads.config.catalogue
    company = entity_key(Level.COMPANY, org.company)
    page = render.page

    @router.get("/favicon.ico")
    async def favicon() -> Response:
        """No icon: a browser asks for one on every page that names none (the printable
        scorecard names none, to stay self-contained); 204 keeps its console free of 404s."""
        return Response(status_code=204)

    @router.get("/")
    async def overview(request: Request, lang: Lang = "en") -> HTMLResponse:
        month = await reads.current_month()
        history = []
        for period in v.recent_periods(calendar, month):
            found = await reads.many_scores([company], period)
            history.append((period, found.get(company, [])))
        firing = await reads.list_alerts(AlertState.FIRING, language=lang)
        return await page(
            request,
            "overview.html",
            lang,
            "overview",
            month=month,
            company=company,
            tiles=v.tiles(catalogue, history, lang),
            alerts=firing.alerts[:10],
            firing=firing.firing,
        )

    @router.get("/org")
    async def organisation(lang: Lang = "en") -> RedirectResponse:
        return RedirectResponse(v.entity_href(company, lang), status_code=302)

    @router.get("/org/{entity}")
    async def drill_down(
        request: Request, entity: str, period: str | None = None, lang: Lang = "en"
    ) -> HTMLResponse:
        level = reads.entity(entity)
        month = await reads.current_month()
        chosen = reads.period(period) if period else month
        day = await reads.day_in(chosen)
        parent = reads.parent(entity, day)
        peers = list(reads.children(parent, day)) if parent else [entity]
        if entity not in peers:
            peers.append(entity)
        children = list(reads.children(entity, day))
        scores = await reads.many_scores([*dict.fromkeys([*peers, *children])], chosen)
        headline = v.headline_kpis(catalogue)
        closed = (await reads.scorecard_periods()).periods
        cards = await reads.scorecards.latest(entity, closed)
        return await page(
            request,
            "entity.html",
            lang,
            "organisation",
            entity=entity,
            level=level,
            name=display_name(org, entity, lang),
            crumbs=reads.path(entity, day),
            period=chosen,
            choices=v.period_choices(calendar, month, chosen, lang),
            rows=v.kpi_rows(catalogue, entity, scores, peers, lang),
            peers=len(peers),
            windowless=is_window(chosen) and level in {Level.TEAM, Level.AGENT},
            headline=[(kpi, catalogue[kpi].label(lang)) for kpi in headline],
            children=[
                (child, v.headline_values(catalogue, scores.get(child, []), headline))
                for child in children
            ],
            card_periods=[p for p in closed if p in cards],
        )

    @router.get("/scorecards")
    async def scorecards(
        request: Request, period: str | None = None, lang: Lang = "en"
    ) -> HTMLResponse:
        periods = (await reads.scorecard_periods()).periods
        if not periods:
            return await page(request, "scorecards.html", lang, "scorecards", listing=None)
        listing = await reads.period_scorecards(period, lang)
        counts = [(g.value, grade_name(g, lang), listing.grades[g]) for g in Grade]
        return await page(
            request,
            "scorecards.html",
            lang,
            "scorecards",
            listing=listing,
            periods=periods,
            bars=trusted(grade_bars_svg(counts, title=t("grade_distribution", lang))),
            grades=counts,
        )

    @router.get("/alerts")
    async def alerts(request: Request, lang: Lang = "en") -> HTMLResponse:
        found = await reads.list_alerts(language=lang)
        return await page(
            request,
            "alerts.html",
            lang,
            "alerts",
            firing=[a for a in found.alerts if a.state is AlertState.FIRING],
            resolved=[a for a in found.alerts if a.state is AlertState.RESOLVED],
            known=org.contains,
        )

    @router.get("/data-quality")
    async def data_quality(request: Request, lang: Lang = "en") -> HTMLResponse:
        report = reads.dead_letters()
        reasons = list(report.by_reason)
        hours = v.hour_series({h.hour: h.by_reason for h in report.by_hour})
        chart = hourly_bars_svg(hours, reasons, title=t("over_time", lang))
        return await page(
            request,
            "data_quality.html",
            lang,
            "data_quality",
            report=report,
            reasons=[(r, reason_colour(reasons, r)) for r in reasons],
            sources=list(report.by_source_topic),
            matrix={(c.reason, c.source_topic): c.count for c in report.by_reason_and_source},
            chart=trusted(chart),
            commands=v.redrive_commands(reasons, REDRIVE_COMMAND),
        )

    @router.get("/pipeline")
    async def pipeline(request: Request, lang: Lang = "en") -> HTMLResponse:
        report = await reads.pipeline()
        return await page(request, "pipeline.html", lang, "pipeline", report=report, every=EVERY)

    @router.get("/runbooks/{name}")
    async def runbook(request: Request, name: str, lang: Lang = "en") -> HTMLResponse:
        text = await asyncio.to_thread(read_runbook, runbooks, name)
        if text is None:
            raise NotFound(f"no runbook {name!r} in {runbooks}")
        return await page(request, "runbook.html", lang, "alerts", name=name, text=text)

    return router
