"""The service under attack (issue 23): each test reproduces an attack on the running
service on loopback and shows it refused. (JWT claims: tests/test_api_auth.py.)"""

from __future__ import annotations

import time

import httpx
import pytest

from tests import test_api
from tests.conftest import DESTINATION, open_case
from tests.test_api import bearer

served, engine, api = test_api.served, test_api.engine, test_api.api
BIG = 2 ** 63


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


# --- 1. no memory blow-up: authenticate before the body, cap every body ------------------------
def test_a_large_body_without_a_token_is_refused_401_before_it_is_read(engine, api):
    """10 MB sent to /fire with no token (and with a wrong one): 401 at once; the server does
    not wait for, or keep, the body."""
    case = open_case(engine)
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
        started = time.monotonic()
        r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", content=b"{" + b" " * 10_000_000,
                       headers={**headers, "Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
        assert time.monotonic() - started < 5


def test_a_body_over_the_cap_is_refused_413_with_or_without_a_length(engine, api):
    """With a valid token: a Content-Length over [api] max_body_bytes is refused at once, and
    a chunked body (no length) is cut off as soon as it passes the cap; nothing is written."""
    case = open_case(engine)
    auth = bearer(engine, "c-12", "clerk", DESTINATION)
    big = engine.settings.max_body_bytes + 1
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", content=b" " * big,
                   headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", content=_chunks(50 * 2**20),
                   headers={**auth, "Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413
    assert engine.get(case.id).state == "applied"
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", json={"trigger": "review"},
                   headers=auth)
    assert r.status_code == 200, r.text  # a body under the cap still goes through


def test_list_fields_are_bounded(engine, api):
    """A list of documents longer than any catalogue is refused with 422, writing nothing."""
    from tests.conftest import snapshot

    case = open_case(engine)
    auth = bearer(engine, "c-12", "clerk", DESTINATION)
    before = snapshot(engine)
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/documents", headers=auth,
                   json={"documents": ["id_card"] * 1000})
    assert r.status_code == 422
    assert snapshot(engine) == before


# --- 8. integers of 2^63 or more ---------------------------------------------------------------
@pytest.mark.parametrize("path", [
    f"/api/v1/cases/{BIG}", f"/api/v1/cases/{BIG}/history", f"/api/v1/cases?offset={BIG}",
    f"/api/v1/alerts?case_id={BIG}", f"/api/v1/access-log?case_id={BIG}",
    f"/api/v1/papers/{BIG}", f"/api/v1/outbox?case_id={BIG}"])
def test_integers_too_large_for_the_database_are_422_not_500(engine, api, path):
    """Every integer parameter is bounded to the database's ids: 2^63 answers 422."""
    auth = bearer(engine, "s-1", "supervisor", DESTINATION)
    r = httpx.get(f"{api}{path}", headers=auth)
    assert r.status_code == 422, (path, r.status_code, r.text[:200])


def test_a_case_version_too_large_is_422_and_the_inbox_page_is_bounded(engine, api):
    """An If-Match naming version 2^63 is refused with 422 and the case does not move; the
    dashboard's ?page=2^63 and a retry of outbox event 2^63 are answered, not overflows."""
    case = open_case(engine)
    auth = bearer(engine, "c-12", "clerk", DESTINATION)
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", json={"trigger": "review"},
                   headers={**auth, "If-Match": f'"{case.id}-{BIG}"'})
    assert r.status_code == 422, r.text
    assert engine.get(case.id).version == case.version
    with httpx.Client(base_url=api) as client:
        token = auth["Authorization"].split()[1]
        client.post("/login", data={"token": token, "next": "/"})
        assert client.get("/", params={"page": str(BIG)}).status_code == 200
        assert client.post(f"/outbox/{BIG}/retry").status_code == 404


# --- 3. cross-site requests ------------------------------------------------------------------
def test_a_cross_site_form_post_is_refused_and_sign_out_is_a_post(engine, api):
    """Signed in, a POST whose Origin (or Referer) is another site is refused with 403 and
    writes nothing; the same POST from the dashboard's own origin goes through; GET /logout
    does not sign out (405)."""
    case = open_case(engine)
    token = bearer(engine, "c-12", "clerk", DESTINATION)["Authorization"].split()[1]
    with httpx.Client(base_url=api) as client:
        assert client.post("/login", data={"token": token, "next": "/"}).status_code == 303
        form = {"trigger": "review", "version": str(case.version)}
        for foreign in ({"Origin": "http://evil.example"},
                        {"Referer": "http://evil.example/page"},
                        {"Origin": api.replace("127.0.0.1", "localhost")}):
            r = client.post(f"/cases/{case.id}/fire", data=form, headers=foreign)
            assert r.status_code == 403, foreign
        assert engine.get(case.id).state == "applied"
        assert client.post("/login", data={"token": "x" * 20}, headers={
            "Origin": "http://evil.example"}).status_code == 403  # no login CSRF either
        r = client.post(f"/cases/{case.id}/fire", data=form, headers={"Origin": api})
        assert r.status_code == 303 and engine.get(case.id).state == "reviewed"
        assert client.get("/logout").status_code == 405
        assert client.get("/").status_code == 200  # still signed in


@pytest.mark.parametrize("path", ["/", "/login", "/progress", "/docs", "/api/v1/definitions"])
def test_no_page_may_be_framed_by_another_site(api, path):
    """Every response says it may not be framed (clickjacking), the API's /docs included."""
    r = httpx.get(f"{api}{path}")
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_the_apis_answers_are_kept_by_no_cache(engine, api):
    """A case read through the API carries Cache-Control: no-store."""
    case = open_case(engine)
    r = httpx.get(f"{api}/api/v1/cases/{case.id}",
                  headers=bearer(engine, "c-12", "clerk", DESTINATION))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


# --- 7. one request may not flood the database --------------------------------------------------
def test_an_import_request_opens_at_most_max_import_rows_and_a_longer_file_writes_nothing(
        engine, api):
    """A CSV of max_import_rows + 1 applications is refused whole (422) and nothing is
    written; one of max_import_rows lines is opened."""
    from tests.conftest import PERSON_ID, snapshot

    most = engine.settings.max_import_rows
    auth = bearer(engine, "c-12", "clerk", DESTINATION)
    header = "definition,person_id,person_name,origin,destination,applicant,documents\n"
    line = f"pension_transfer,{PERSON_ID},张三,310000,{DESTINATION},employer,application_form\n"
    before = snapshot(engine)
    r = httpx.post(f"{api}/api/v1/cases/import", headers=auth, timeout=120,
                   files={"file": ("many.csv", (header + line * (most + 1)).encode())})
    assert r.status_code == 422 and f"more than {most} applications" in r.json()["message"]
    assert snapshot(engine) == before
    r = httpx.post(f"{api}/api/v1/cases/import", headers=auth, timeout=120,
                   files={"file": ("ok.csv", (header + line * 3).encode())})
    assert r.status_code == 201 and r.json()["count"] == 3


# --- 11. dates no transfer can have ---------------------------------------------------------------
def test_a_business_date_before_the_floor_or_the_persons_birth_is_refused(engine):
    """0001-01-01 and 1900-01-01 are before [cases] earliest_business_date; an application
    received before the person was born (1949-12-31 by the ID number) is refused too, in the
    bulk opening as well; nothing is written."""
    import datetime as dt

    from tests.conftest import DEST_CLERK, refused
    from workflow import InvalidInput, InvalidRow

    for day in (dt.date(1, 1, 1), dt.date(1900, 1, 1)):
        refused(engine, InvalidInput, open_case, engine, on=day)
    case = open_case(engine)
    refused(engine, InvalidInput, engine.fire, case.id, "review", actor=DEST_CLERK,
            on=dt.date(1985, 12, 31))
    young = "110105201001010010"  # born 2010-01-01
    with pytest.raises(InvalidInput, match="before the person's birth"):
        open_case(engine, person_id=young, on=dt.date(2009, 12, 31))
    refused(engine, InvalidRow, engine.open_cases, [{
        "definition": "pension_transfer", "person_id": young, "person_name": "李四",
        "origin": "310000", "destination": DESTINATION, "applicant": "employer",
        "on": dt.date(2009, 6, 1)}], actor=DEST_CLERK)
