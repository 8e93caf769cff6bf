"""Every route that shows a person's case writes who read it to the access log.

The routes are enumerated from the application itself: a route added later that shows a
person's data and forgets the log fails here, and so does one that is neither called below
nor named, with its reason, among the routes that show no person's data.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from fastapi.routing import APIRoute

from tests.conftest import DESTINATION, PERSON_ID, full_documents, open_case, sqlite_only
from tests.live import running
from workflow.api import create_app

#: Routes that show no person's data, each with why.
NO_PERSON: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/definitions"): "definitions are data of the agencies",
    ("GET", "/api/v1/definitions/{name}"): "definitions are data of the agencies",
    ("GET", "/api/v1/definitions/{name}/diagram"): "definitions are data of the agencies",
    ("GET", "/api/v1/calendar/working-day"): "the calendar",
    ("GET", "/api/v1/calendar/due-date"): "the calendar",
    ("GET", "/api/v1/alerts"): "an alert names a case number, a time limit and an agency only",
    ("GET", "/alerts"): "an alert names a case number, a time limit and an agency only",
    ("GET", "/api/v1/access-log"): "the log itself: who read which case number, no person",
    ("GET", "/login"): "the sign-in form",
    ("POST", "/login"): "signing in",
    ("POST", "/logout"): "signing out",
    ("GET", "/reports"): "the list of report formats",
    ("GET", "/overdue"): "the report's figures per agency and its chart, no line of a case",
    ("GET", "/progress"): "the empty look-up form",
    ("GET", "/cases/new"): "the empty registration form (the definitions' documents)",
    ("GET", "/openapi.json"): "the API's description",
    ("GET", "/docs"): "the API's description",
    ("GET", "/docs/oauth2-redirect"): "the API's description",
    ("GET", "/redoc"): "the API's description",
    ("GET", "/healthz"): "operations: the process answers",
    ("GET", "/readyz"): "operations: the database answers, its schema revision",
    ("GET", "/metrics"): "operations: counts by route, state and level, no person",
    ("GET", "/api/v1/subscriptions"): "an agency's subscriptions: addresses of agencies",
    ("POST", "/api/v1/subscriptions"): "making a subscription",
    ("DELETE", "/api/v1/subscriptions/{subscription_id}"): "removing a subscription",
    ("POST", "/api/v1/outbox/{event_number}/retry"): "how many messages go again, no person",
    ("POST", "/outbox/{event_number}/retry"): "how many messages go again, no person",
}
#: Steps: they return the case acted on, and are recorded in its history with their actor.
ACTS = {
    ("POST", "/api/v1/cases"), ("POST", "/api/v1/cases/import"),
    ("POST", "/api/v1/cases/{case_id}/fire"), ("POST", "/api/v1/cases/{case_id}/documents"),
    ("POST", "/api/v1/cases/{case_id}/business-date"), ("POST", "/cases/{case_id}/fire"),
    ("POST", "/cases/new"), ("POST", "/cases/{case_id}/documents"),
    ("POST", "/cases/{case_id}/business-date"),
}

#: Routes that show a person's case and log it, whose calls need data this fixture's case (on
#: pension_transfer 1, which issues no papers) has not: their test named.
LOGGED_ELSEWHERE = {
    ("GET", "/api/v1/papers/{paper_id}"):
        "tests/test_papers.py::test_the_api_lists_and_prints_a_cases_papers_and_logs_each_read",
    ("GET", "/cases/{case_id}/papers/{paper_id}.{fmt}"):
        "tests/test_papers.py::"
        "test_the_dashboard_takes_the_information_form_lists_the_papers_and_prints_them",
}


def _routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers, included routers' routes too (the path
    without its parameters' converters: ``/cases/{case_id}`` for ``/cases/{case_id:int}``)."""
    found = set()
    for route in app.routes:
        # An included router is one entry of app.routes holding its routes (FastAPI >= 0.16x).
        contexts = getattr(route, "effective_route_contexts", None)
        for each in contexts() if contexts is not None else [route]:
            path = getattr(each, "path_format", None) or each.path
            found |= {(m, path) for m in getattr(each, "methods", None) or () if m != "HEAD"}
    return found


def _reads(engine) -> int:
    return len(engine.access_service.store.access_log(limit=10_000))


@pytest.fixture
def app_with_a_case(engine):
    """The service on a database with one pension case, overdue by now, of 440300."""
    case = open_case(engine, documents=full_documents("pension_transfer"),
                     on=dt.date(2025, 9, 26))
    token, _ = engine.access_service.create_token("s-1", "supervisor", DESTINATION)
    return create_app(engine), case, token


@sqlite_only  # which routes log is the same on every database
def test_every_route_that_shows_a_persons_case_writes_an_access_log_row(engine, app_with_a_case):
    """Each route of the API, the dashboard and the progress page that shows a person's case
    (the case, its history, its spans, a list, the inbox, a report, the progress page) adds a
    row to the access log when it answers; every other route is named with its reason."""
    app, case, token = app_with_a_case
    calls = {
        ("GET", "/api/v1/cases"): {},
        ("POST", "/api/v1/cases/search"): {"json": {"person_id_ending": PERSON_ID[-4:]}},
        ("GET", "/search"): {"params": {"person_name": "张"}},
        ("POST", "/search"): {"data": {"person_id_ending": PERSON_ID[-4:]}},
        ("GET", "/api/v1/cases/{case_id}"): {},
        ("GET", "/api/v1/cases/{case_id}/history"): {},
        ("GET", "/api/v1/cases/{case_id}/spans"): {},
        ("GET", "/api/v1/cases/{case_id}/papers"): {},
        ("GET", "/api/v1/outbox"): {},
        ("GET", "/outbox"): {},
        ("GET", "/api/v1/reports/overdue"): {"params": {"format": "csv"}},
        ("GET", "/"): {},
        ("GET", "/cases/{case_id}"): {},
        ("GET", "/reports/overdue.{fmt}"): {},
        ("POST", "/progress"): {"data": {"case_number": case.public_number,
                                              "person_id": PERSON_ID}},
    }
    routes = _routes(app)
    unknown = routes - set(NO_PERSON) - ACTS - set(calls) - set(LOGGED_ELSEWHERE)
    assert not unknown, f"new routes: log their reads and call them here, or name them: {unknown}"
    assert set(calls) <= routes
    with running(app) as site, httpx.Client(base_url=site, timeout=60) as client:
        for (method, path), extra in calls.items():
            before = _reads(engine)
            url = path.replace("{case_id}", str(case.id)).replace("{fmt}", "csv")
            r = client.request(method, url, headers={"Authorization": f"Bearer {token}"},
                               **extra)
            assert r.status_code == 200, (path, r.status_code, r.text[:200])
            assert _reads(engine) > before, f"{method} {path} shows a case but logs no read"


def test_every_api_route_is_a_typed_route_of_the_api():
    """The API's routes are all mounted under /api/v1 with the API's error shape (a route
    class of its own), so the enumeration above sees each of them."""
    from workflow.api.problems import ProblemRoute
    from workflow.api.routes import api

    assert api.routes and all(isinstance(r, ProblemRoute) and r.path.startswith("/api/v1/")
                              for r in api.routes if isinstance(r, APIRoute))
