"""The service: the JSON API, the supervisors' dashboard and the person's progress page, on
one engine. ``sstransfer serve`` runs it with uvicorn."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..engine import Engine
from ..errors import RateLimited, WorkflowError
from . import dashboard, progress
from .problems import problem
from .routes import router


def create_app(engine: Engine, *, close_engine: bool = False) -> FastAPI:
    """The FastAPI application serving ``engine`` (closed at shutdown if ``close_engine``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if close_engine:
            engine.close()

    app = FastAPI(title="sstransfer", version=_version(), lifespan=lifespan,
                  description="Transfers of Chinese social insurance between agencies: "
                              "cases, deadlines, alerts and reports.")
    app.state.engine = engine
    app.include_router(router())
    app.include_router(progress.router())
    app.include_router(dashboard.router())

    @app.exception_handler(WorkflowError)
    async def refused(request: Request, exc: WorkflowError) -> JSONResponse:
        status, body = problem(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(body, status_code=status, headers=headers)

    return app


#: The log level (a number, as :mod:`logging` names them) ``sstransfer serve`` hands its workers.
LOG_LEVEL_ENV = "SSTRANSFER_LOG_LEVEL"


def from_environment() -> FastAPI:
    """The app for ``uvicorn --factory`` (each worker process builds its own engine from
    ``$SSTRANSFER_DATABASE_URL``, ``$SSTRANSFER_DEFINITIONS`` and ``$SSTRANSFER_SETTINGS``,
    and logs to stderr at ``$SSTRANSFER_LOG_LEVEL`` and above, like the command line)."""
    level = os.environ.get(LOG_LEVEL_ENV, "")
    if level.isdigit():
        import sys

        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(int(level)),
                            logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    return create_app(Engine(definitions=os.environ.get("SSTRANSFER_DEFINITIONS") or None),
                      close_engine=True)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sstransfer")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"
