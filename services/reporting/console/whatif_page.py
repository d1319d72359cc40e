"""The console's what-if page, `/whatif`: the draft profile files of `<KPI_CONFIG_DIR>/drafts`
(`*.yaml`) to choose from, and the report of one (`?draft=NAME&period=2024-05`) as
`kpi whatif --format html` draws it. GET only, like the rest of the console: a draft reaches
the page as a file an operator placed, never as a request's body. Nothing is published."""

import asyncio
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from shared.errors import ConfigError
from shared.service.http import BadParameter, NotFound

from ..reads import ReportingReads
from ..render.whatif import drafts_page
from ..whatif_run import load_draft, run_whatif

DRAFTS: str = "drafts"


def _drafts(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []


def whatif_router(reads: ReportingReads, config_dir: Path) -> APIRouter:
    """`/whatif` on reporting's read side; drafts live in `config_dir/drafts`."""
    router = APIRouter(include_in_schema=False)
    directory = config_dir / DRAFTS

    @router.get("/whatif", response_class=HTMLResponse)
    async def whatif(draft: str | None = None, period: str | None = None) -> HTMLResponse:
        names = await asyncio.to_thread(_drafts, directory)
        if draft is None:
            return HTMLResponse(drafts_page(names, str(directory)))
        if draft not in names:  # only a listed name: no path reaches the file system
            known = ", ".join(names) or "none"
            raise NotFound(f"draft: no draft profile file {draft!r}; drafts are {known}")
        try:
            loaded = await asyncio.to_thread(
                load_draft, config_dir, str(directory / f"{draft}.yaml"), reads.config
            )
        except ConfigError as exc:
            raise BadParameter(f"draft: {exc}") from exc
        html, _ = await run_whatif(
            reads.scores,
            config=reads.config,
            official=reads.profiles,
            draft=loaded,
            period=period,
            fmt="html",
        )
        return HTMLResponse(html)

    return router
