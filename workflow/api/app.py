"""The service: the JSON API, the supervisors' dashboard and the person's progress page, on
one engine. ``sstransfer serve`` runs it with uvicorn."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..engine import Engine
from ..errors import WorkflowError
from ..logs import hide_ids_in_request_lines
from . import dashboard, ops, progress
from .guard import BodyGuard, SameOrigin
from .problems import problem_media_only, problem_of, problem_response
from .routes import API_PREFIX, router


def create_app(engine: Engine, *, close_engine: bool = False) -> FastAPI:
    """The FastAPI application serving ``engine`` (closed at shutdown if ``close_engine``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A request line never shows an ID number, even one sent in a query string.
        hide_ids_in_request_lines()
        yield
        if close_engine:
            engine.close()

    # /docs and /redoc with Swagger UI and ReDoc served from the package itself: agency
    # intranets are offline, so no page may load its scripts from a CDN.
    app = FastAPIOffline(title="sstransfer", version=_version(), lifespan=lifespan,
                         description="Transfers of Chinese social insurance between agencies: "
                                     "cases, deadlines, alerts and reports.",
                         static_url="/docs-assets", favicon_url="/docs-assets/favicon.png")
    app.state.engine = engine
    app.add_middleware(BodyGuard, engine=engine)
    app.add_middleware(SameOrigin)  # a cross-site request is refused first
    app.add_middleware(ops.Metrics)  # the outermost: every answer is counted and timed
    _add_routes(app, router())
    _add_routes(app, progress.router())
    app.include_router(dashboard.router())  # its router adds a dependency of its own
    _add_routes(app, ops.router)

    @app.exception_handler(WorkflowError)
    async def refused(request: Request, exc: WorkflowError) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(StarletteHTTPException)
    async def no_such_route(request: Request, exc: StarletteHTTPException) -> Response:
        """Under /api/ an unknown path or method answers in the API's error shape too."""
        if not request.url.path.startswith(API_PREFIX + "/"):
            return await http_exception_handler(request, exc)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_of(code, exc.status_code, f"{request.method} {request.url.path}: "
                          f"{exc.detail}", {}, request, headers=exc.headers)

    schema = app.openapi

    def openapi() -> dict[str, Any]:
        """The OpenAPI schema, its refusals documented as ``application/problem+json``."""
        if app.openapi_schema is None:
            app.openapi_schema = problem_media_only(schema())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _add_routes(app: FastAPI, routes: APIRouter) -> None:
    """Add a router's routes to the app's own list. ``include_router`` would keep the
    router apart, and FastAPI (0.165) then works out the included routes' effective versions
    at every request's match: a quarter of the framework's CPU per API request. Only for a
    router that includes no other: each of its routes is then whole (its path, dependencies
    and responses are its router's)."""
    app.router.routes.extend(routes.routes)


#: The log level (a number, as :mod:`logging` names them) ``sstransfer serve`` hands its workers.
LOG_LEVEL_ENV = "SSTRANSFER_LOG_LEVEL"


def from_environment() -> FastAPI:
    """The app for ``uvicorn --factory`` (each worker process builds its own engine from
    ``$SSTRANSFER_DATABASE_URL``, ``$SSTRANSFER_DEFINITIONS`` and ``$SSTRANSFER_SETTINGS``,
    and logs to stderr at ``$SSTRANSFER_LOG_LEVEL`` and above, like the command line)."""
    level = os.environ.get(LOG_LEVEL_ENV, "")
    if level.isdigit():
        from ..logs import to_stderr

        to_stderr(int(level))
    return create_app(Engine(definitions=os.environ.get("SSTRANSFER_DEFINITIONS") or None),
                      close_engine=True)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sstransfer")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"
