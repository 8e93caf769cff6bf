"""What operations run the service by: ``/healthz`` (the process answers), ``/readyz`` (the
database answers and its schema is the one this code needs: a load balancer sends traffic
only then) and ``/metrics`` in Prometheus's text format.

The metrics: requests by route template, method and status, and their latency (a
histogram), from every worker — under ``sstransfer serve --workers N`` each worker writes
its figures to ``$PROMETHEUS_MULTIPROC_DIR`` (``serve`` sets it) and a scrape of any worker
adds them up; and, read from the database at each scrape, cases by insurance and state,
open alerts by level (unresolved ones: an alert is resolved when its span ends or its due
date moves) and outbox events by state. None of it names a
person: the routes are templates (``/api/v1/cases/{case_id}``), never the paths asked for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..engine import Engine, SchemaState

#: The workers' shared folder of multiprocess metrics (prometheus-client's own variable).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: This process's request metrics (their own registry: a host application's is left alone).
_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("sstransfer_http_requests", "HTTP requests answered",
                   ["route", "method", "status"], registry=_REGISTRY)
LATENCY = Histogram("sstransfer_http_request_duration_seconds",
                    "Time to answer an HTTP request (to the start of the response)",
                    ["route", "method"], registry=_REGISTRY,
                    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))

router = APIRouter(include_in_schema=False)


class Metrics:
    """ASGI middleware: counts each HTTP request by its route template and status and times
    it. A path that matched no route counts as ``unmatched`` (no label per stray URL)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500
        elapsed: float | None = None

        async def sent(message: Message) -> None:
            nonlocal status, elapsed
            if message["type"] == "http.response.start":
                status, elapsed = message["status"], time.perf_counter() - start
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            matched = scope.get("route")
            # The template without converters: /api/v1/cases/{case_id}, not {case_id:int}.
            route = getattr(matched, "path_format", None) or getattr(matched, "path", None) \
                or "unmatched"
            method = scope["method"]
            REQUESTS.labels(route, method, str(status)).inc()
            LATENCY.labels(route, method).observe(
                elapsed if elapsed is not None else time.perf_counter() - start)


class _DatabaseGauges(Collector):
    """The database's counts, read at each scrape (so every worker shows the same)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Any]:
        found = self.engine.gauges()
        cases = GaugeMetricFamily("sstransfer_cases", "Cases by insurance and state",
                                  labels=["insurance", "state"])
        for (insurance, state), n in sorted(found.cases.items()):
            cases.add_metric([insurance, state], n)
        alerts = GaugeMetricFamily("sstransfer_open_alerts",
                                   "Unresolved alerts of spans still running, by level", labels=["level"])
        for level, n in sorted(found.open_alerts.items()):
            alerts.add_metric([level], n)
        outbox = GaugeMetricFamily("sstransfer_outbox_events",
                                   "Outbox events by state (pending: the depth)",
                                   labels=["state"])
        for state, n in sorted(found.outbox.items()):
            outbox.add_metric([state], n)
        yield from (cases, alerts, outbox)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


@router.get("/healthz")
def healthz() -> JSONResponse:
    """The process is up and answering (nothing else is checked)."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database answers and its schema is current (503 otherwise,
    saying why, the database's URL with its password hidden)."""
    try:
        state = SchemaState.of(_engine(request).db)
    except Exception as exc:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__},
                            status_code=503)
    if state.current != state.head:
        return JSONResponse({"status": "unavailable", "reason": "schema not current",
                             "schema": state.current, "needs": state.head}, status_code=503)
    return JSONResponse({"status": "ready", "schema": state.current})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """The Prometheus text exposition: every worker's request figures, the database's."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(_REGISTRY))
    registry.register(_DatabaseGauges(_engine(request)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _Forward(Collector):
    """This process's request metrics, scraped together with the database's."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        yield from self.source.collect()


__all__ = ["MULTIPROC_ENV", "Metrics", "router"]
