"""Every service's HTTP front, on FastAPI: `/healthz`, `/readyz` and `/metrics`, the service's
own routers, and the FastStream app started and stopped as the HTTP app's lifespan.

A service declares its routes the FastAPI way, on an `APIRouter` built by its composition root,
and hands the routers to `build_service`. FastStream's own FastAPI integration (`KafkaRouter`)
would create each service's broker itself; ours are built by `shared.kafka` with their metrics
middleware (and by tests), so FastAPI runs beside the FastStream app instead: its lifespan
enters `AsgiFastStream.start_lifespan_context`, which runs the same start-up and shutdown hooks
that FastStream's ASGI lifespan runs.

A bad parameter is a 4xx whose body names it (`Problem`), never a 5xx.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from faststream.asgi import AsgiFastStream
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import KpiError, TransientError

from .health import Readiness


class Problem(BaseModel):
    """Why a request was refused: one sentence naming the parameter and what it accepts."""

    model_config = ConfigDict(frozen=True)

    detail: str = Field(description="What was wrong and what is accepted instead.")


# Declared on a router (`APIRouter(responses=PROBLEM_RESPONSES)`), this documents every 4xx of
# its routes as a `Problem`, in place of FastAPI's default 422 body.
PROBLEM_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    "4XX": {"model": Problem, "description": "A bad parameter or an unknown resource."}
}


class RequestRefused(KpiError):
    """A request the service cannot answer as asked; `status` is its HTTP status."""

    status = 400


class BadParameter(RequestRefused):
    """A parameter is malformed (an entity that is not LEVEL:ID, a period that is no period)."""

    status = 422


class NotFound(RequestRefused):
    """The parameters are well formed but name nothing that exists."""

    status = 404


class Health(BaseModel):
    """`/healthz`: the process answers."""

    status: Literal["alive"]
    service: str


class ReadinessReport(BaseModel):
    """`/readyz`: whether every dependency answered its last probe (200 ready, 503 not)."""

    status: Literal["ready", "not_ready"]
    service: str
    checks: dict[str, bool]


def _where(location: Sequence[int | str]) -> str:
    kind, *rest = [str(part) for part in location] or ["request"]
    name = ".".join(rest)
    return f"{kind} parameter {name}" if name else kind


def validation_reason(exc: RequestValidationError) -> str:
    """What FastAPI found wrong with a request, naming each parameter."""
    reasons = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors())
    return reasons or "invalid request"


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(Problem(detail=validation_reason(exc)).model_dump(), 422)


async def _refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestRefused)
    return JSONResponse(Problem(detail=str(exc)).model_dump(), exc.status)


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    # A database or broker that is down for now: the client may retry; nothing is wrong with
    # the request.
    detail = f"a dependency is unavailable, retry later: {exc}"
    return JSONResponse(Problem(detail=detail).model_dump(), 503, headers={"Retry-After": "5"})


def health_router(name: str, readiness: Readiness, registry: CollectorRegistry) -> APIRouter:
    """The three endpoints every service serves (DESIGN §11)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process answers")
    async def healthz() -> Health:
        return Health(status="alive", service=name)

    @router.get(
        "/readyz",
        summary="Kafka and MongoDB answered their last probe",
        responses={503: {"model": ReadinessReport, "description": "A dependency is down."}},
    )
    async def readyz() -> JSONResponse:
        status = readiness.status
        ready = all(status.values())
        report = ReadinessReport(
            status="ready" if ready else "not_ready", service=name, checks=status
        )
        return JSONResponse(report.model_dump(), 200 if ready else 503)

    @router.get(
        "/metrics",
        summary="Prometheus metrics (text exposition format)",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def service_http(
    name: str,
    *,
    version: str,
    faststream: AsgiFastStream | None,
    readiness: Readiness,
    registry: CollectorRegistry,
    routers: Sequence[APIRouter] = (),
    title: str | None = None,
    description: str = "",
) -> FastAPI:
    """The service's HTTP app; serving it starts and stops `faststream` (None: HTTP alone, as
    when only the OpenAPI document is wanted)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if faststream is None:
            yield
            return
        async with faststream.start_lifespan_context():
            yield

    app = FastAPI(
        title=title or f"kpi {name}",
        version=version,
        description=description,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN: nothing here may.
        redoc_url=None,
    )
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(RequestRefused, _refused)
    app.add_exception_handler(TransientError, _unavailable)
    app.include_router(health_router(name, readiness, registry))
    for router in routers:
        app.include_router(router)
    return app
