"""What operations run the service by, against the served app on loopback: ``/healthz``,
``/readyz`` (database reachable, schema current) and ``/metrics`` (Prometheus text: requests
by route template and status, latency, cases by state, open alerts, outbox depth)."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import sqlalchemy as sa

from tests.conftest import DEST_CLERK, DESTINATION, open_case
from tests.live import running
from workflow.api import create_app


def _value(text: str, name: str, **labels: str) -> float | None:
    """A sample's value in the exposition text (labels in any order), or None."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}\{{(.*)\}} (\S+)", line)
        if match and dict(re.findall(r'(\w+)="([^"]*)"', match[1])) == labels:
            return float(match[2])
    return None


def test_healthz_answers_and_readyz_needs_the_database_and_a_current_schema(engine):
    """/healthz is 200 while the process runs; /readyz is 200 with the schema's revision,
    and 503 naming the reason when the database's schema is not the one the code needs."""
    with running(create_app(engine)) as site:
        assert httpx.get(f"{site}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{site}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        head = ready.json()["schema"]
        with engine.db.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
        try:
            behind = httpx.get(f"{site}/readyz")
            assert behind.status_code == 503 and behind.json() == {
                "status": "unavailable", "reason": "schema not current", "schema": "0001",
                "needs": head}
        finally:
            with engine.db.begin() as conn:
                conn.execute(sa.text("UPDATE alembic_version SET version_num = :h"), {"h": head})


def test_metrics_count_requests_by_route_template_and_show_the_databases_figures(engine):
    """/metrics counts each request under its route template (never the path asked for, so
    no case number or person is a label) with its status, times it in a histogram, and shows
    the cases by insurance and state, alerts of running spans by level and outbox events
    by state as the database has them at the scrape."""
    case = open_case(engine)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=case.last_event_on)
    open_case(engine, person_id="110108198001010015")
    engine.scan(dt.date(2025, 12, 31))
    token, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    route = "/api/v1/cases/{case_id}"
    with running(create_app(engine)) as site:
        first = httpx.get(f"{site}/metrics").text
        before = _value(first, "sstransfer_http_requests_total", method="GET", route=route,
                        status="200") or 0.0
        timed = _value(first, "sstransfer_http_request_duration_seconds_count", method="GET",
                       route=route) or 0.0
        for _ in range(3):
            r = httpx.get(f"{site}/api/v1/cases/{case.id}",
                          headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200
        assert httpx.get(f"{site}/no/such/page").status_code == 404
        text = httpx.get(f"{site}/metrics").text
    assert _value(text, "sstransfer_http_requests_total", method="GET", route=route,
                  status="200") == before + 3
    assert _value(text, "sstransfer_http_requests_total", method="GET", route="unmatched",
                  status="404") is not None
    assert f"/api/v1/cases/{case.id}" not in text
    assert _value(text, "sstransfer_http_request_duration_seconds_count", method="GET",
                  route=route) == timed + 3
    assert _value(text, "sstransfer_cases", insurance="pension", state="reviewed") == 1
    assert _value(text, "sstransfer_cases", insurance="pension", state="applied") == 1
    gauges = engine.gauges()
    assert gauges.open_alerts and all(
        _value(text, "sstransfer_open_alerts", level=level) == n
        for level, n in gauges.open_alerts.items())
    pending = [e for e in engine.outbox(limit=1000) if e.state == "pending"]
    assert len(pending) >= 2  # each case.opened at least
    assert _value(text, "sstransfer_outbox_events", state="pending") == len(pending)


def test_the_api_docs_work_offline_in_a_real_browser(engine):
    """/docs is Swagger UI served from the package itself: in Chromium with every request
    off this server refused (an agency intranet has no internet), the page loads its script
    and styles and lists the API's operations; /redoc's script is local too."""
    from tests.browser import browser_page

    with running(create_app(engine)) as site, browser_page() as page:
        outside: list[str] = []

        def only_here(route) -> None:
            if route.request.url.startswith(site):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_here)
        page.goto(f"{site}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        assert "/api/v1/cases/{case_id}" in page.inner_text(".swagger-ui")
        assert outside == []
        redoc = httpx.get(f"{site}/redoc").text
        assert "/docs-assets/redoc.standalone.js" in redoc and "https://" not in redoc
        assert httpx.get(f"{site}/docs-assets/redoc.standalone.js").status_code == 200


def test_the_openapi_schema_declares_the_bearer_token_on_every_api_operation(engine):
    """Every /api/v1 operation names the bearer scheme (so "Authorize" in /docs sends the
    token); the pages outside the API name none."""
    schema = create_app(engine).openapi()
    token = schema["components"]["securitySchemes"]["token"]
    assert (token["type"], token["scheme"]) == ("http", "bearer")
    assert "sstransfer tokens create" in token["description"]
    operations = [(path, op) for path, ops in schema["paths"].items() for op in ops.values()]
    assert operations and all(op.get("security") == [{"token": []}] for path, op in operations
                              if path.startswith("/api/v1/"))
