"""The service under attack (issue 23): each test reproduces an attack on the running
service on loopback and shows it refused. (JWT claims: tests/test_api_auth.py.)"""

from __future__ import annotations

import datetime as dt
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from tests import test_api
from tests.conftest import DESTINATION, PERSON_ID, open_case, snapshot
from tests.test_api import application, bearer, refused_over_http
from tests.web import Browser
from workflow.api.auth import SESSION_COOKIE
from workflow.core.inputs import public_number_from

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
    f"/api/v1/papers/{BIG}", f"/api/v1/outbox?case_id={BIG}",
    f"/api/v1/definitions/pension_transfer?version={BIG}",
    f"/api/v1/definitions/pension_transfer/diagram?version={BIG}"])
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
    with Browser(base_url=api) as client:
        client.sign_in(auth["Authorization"].split()[1])
        assert client.get("/", params={"page": str(BIG)}).status_code == 200
        assert client.post(f"/outbox/{BIG}/retry", data={}).status_code == 404


# --- 2. no lock-out of the insured --------------------------------------------------------------
WRONG_ID = "110108198001010015"


def _from(address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8 is loopback)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def _try(client: httpx.Client, api: str, number: str, person_id: str) -> httpx.Response:
    return client.post(f"{api}/progress", data={"case_number": number, "person_id": person_id})


def test_wrong_tries_from_one_address_never_lock_the_owner_out_at_another(engine, api):
    """An attacker at 127.0.0.2 gives wrong ID numbers for a case number: after the free
    failures it must wait (429), while the owner at 127.0.0.3 sees their progress at once;
    the internal case id is no case number at all."""
    case = open_case(engine)
    free = engine.settings.progress_free_failures
    with _from("127.0.0.2") as attacker:
        codes = [_try(attacker, api, case.public_number, WRONG_ID).status_code
                 for _ in range(free + 5)]
        assert "110105" not in _try(attacker, api, str(case.id), PERSON_ID).text
    assert codes == [200] * free + [429] * 5
    with _from("127.0.0.3") as owner:
        page = _try(owner, api, case.public_number, PERSON_ID)
    assert page.status_code == 200 and "110105********002X" in page.text


def _at_once(count: int, call) -> list[int]:
    """``count`` calls started at one instant (a barrier), their status codes."""
    barrier, codes = threading.Barrier(count), []

    def one() -> None:
        barrier.wait()
        codes.append(call())

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return codes


def test_sixteen_concurrent_tries_never_get_more_than_the_limit_judged(engine, api):
    """Sixteen tries at one instant from 127.0.0.4: on one case number no more than the free
    failures are judged (a try holds its number while judged); on sixteen numbers no more
    than the client's budget of tries (here 5); the rest get 429."""
    case = open_case(engine)
    free = engine.settings.progress_free_failures
    with _from("127.0.0.4") as client:
        codes = _at_once(16, lambda: _try(client, api, case.public_number, WRONG_ID).status_code)
    assert codes.count(200) <= free and codes.count(200) + codes.count(429) == 16
    service = engine.access_service
    saved = service.settings
    service.settings = saved.model_copy(update={"progress_tries_per_client": 5})
    try:
        numbers = iter([public_number_from(n) for n in range(16)])
        lock = threading.Lock()

        def next_number() -> str:
            with lock:
                return next(numbers)

        with _from("127.0.0.5") as client:
            codes = _at_once(16, lambda: _try(client, api, next_number(), WRONG_ID).status_code)
    finally:
        service.settings = saved
    assert codes.count(200) == 5 and codes.count(429) == 11


# --- 3. cross-site requests ------------------------------------------------------------------
def test_a_cross_site_form_post_is_refused_and_sign_out_is_a_post(engine, api):
    """Signed in, a POST whose Origin (or Referer) is another site is refused with 403 and
    writes nothing; the same POST from the dashboard's own origin goes through; GET /logout
    does not sign out (405)."""
    case = open_case(engine)
    token = bearer(engine, "c-12", "clerk", DESTINATION)["Authorization"].split()[1]
    with Browser(base_url=api) as client:
        assert client.sign_in(token).status_code == 303
        client.get(f"/cases/{case.id}")
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


def test_every_form_needs_the_session_s_form_token_and_sign_in_its_own(engine, api):
    """Even from the dashboard's own origin (a sibling host that gets the cookie sent, a
    script injected elsewhere), a form without the session's form token is refused with 403
    and writes nothing: the step, the outbox retry, signing out; the sign-in form needs the
    token its page set (no login CSRF); with the tokens each goes through."""
    case = open_case(engine)
    token = bearer(engine, "c-12", "clerk", DESTINATION)["Authorization"].split()[1]
    with Browser(base_url=api) as client:
        assert client.post("/login", data={"token": token, "csrf": "guess" * 8}).status_code \
            == 403
        assert client.sign_in(token).status_code == 303
        page = client.get(f"/cases/{case.id}")
        assert f'name="csrf" value="{client.csrf}"' in page.text and len(client.csrf) >= 32
        form = {"trigger": "review", "version": str(case.version)}
        before = snapshot(engine)
        for wrong in ("", "x" * 43, client.csrf[:-1]):
            r = client.post(f"/cases/{case.id}/fire", data={**form, "csrf": wrong})
            assert r.status_code == 403 and "表单已失效" in r.text
            assert client.post("/logout", data={"csrf": wrong}).status_code == 403
        assert {k: v for k, v in snapshot(engine).items() if k != "access_log"} \
            == {k: v for k, v in before.items() if k != "access_log"}
        assert client.post(f"/cases/{case.id}/fire", data=form).status_code == 303
        assert engine.get(case.id).state == "reviewed"


def test_the_cookie_is_a_session_that_ends_when_idle_at_sign_out_and_with_its_token(
        engine, api):
    """The dashboard's cookie is a random session id, not the token: signing out ends the
    session in the database (the copied cookie no longer works); revoking the token ends its
    sessions; a session ends after session_idle_minutes unused and at its absolute end
    (session_hours after sign-in)."""
    case = open_case(engine)
    token, record = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    with Browser(base_url=api) as first, Browser(base_url=api) as second:
        first.sign_in(token), second.sign_in(token)
        assert token not in first.cookies[SESSION_COOKIE]
        assert first.cookies[SESSION_COOKIE] != second.cookies[SESSION_COOKIE]
        copied = first.cookies[SESSION_COOKIE]
        first.get("/reports")
        first.post("/logout", data={})
        with httpx.Client(base_url=api, cookies={SESSION_COOKIE: copied}, timeout=60) as thief:
            assert thief.get(f"/cases/{case.id}").status_code == 303
        assert second.get(f"/cases/{case.id}").status_code == 200
        engine.access_service.revoke_token(record.id)
        assert second.get(f"/cases/{case.id}").status_code == 303
    other, _ = engine.access_service.create_token("c-13", "clerk", DESTINATION)
    for column, ago in (("last_seen_at", 31), ("expires_at", 1)):
        with Browser(base_url=api) as client:
            client.sign_in(other)
            assert client.get("/reports").status_code == 200
            with engine.db.begin() as conn:  # unused for 31 minutes, or past its end
                conn.execute(sa.text(f"UPDATE web_session SET {column} = :t"),
                             {"t": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=ago)})
            assert client.get("/reports").status_code == 303, column


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
    from tests.conftest import snapshot

    most = engine.settings.max_import_rows
    auth = bearer(engine, "c-12", "clerk", DESTINATION)
    header = "definition,person_id,person_name,origin,destination,applicant,documents\n"
    from workflow.testing import valid_person_id

    def lines(n: int) -> str:  # one person a line: a person has one running pension transfer
        return "".join(f"pension_transfer,{valid_person_id(seed=i)},张三,310000,{DESTINATION},"
                       "employer,application_form\n" for i in range(n))

    before = snapshot(engine)
    r = httpx.post(f"{api}/api/v1/cases/import", headers=auth, timeout=120,
                   files={"file": ("many.csv", (header + lines(most + 1)).encode())})
    assert r.status_code == 422 and f"more than {most} applications" in r.json()["message"]
    assert snapshot(engine) == before
    r = httpx.post(f"{api}/api/v1/cases/import", headers=auth, timeout=120,
                   files={"file": ("ok.csv", (header + lines(3)).encode())})
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


# --- the fuzzer's findings (tests/test_api_fuzz.py): the schema says what the server does --------
def test_a_body_that_is_not_utf8_json_or_a_well_formed_form_is_422_and_writes_nothing(
        engine, api):
    """Bytes that are no UTF-8 (in a JSON body, or a multipart form cut short) are a request
    the API cannot read: 422 ``invalid_input`` as every other, never FastAPI's undocumented
    400, and nothing is written."""
    case = open_case(engine)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    supervisor = bearer(engine, "s-1", "supervisor", DESTINATION)
    json_type = {"Content-Type": "application/json"}
    for path, auth in [("/cases", clerk), (f"/cases/{case.id}/fire", clerk),
                       (f"/cases/{case.id}/documents", clerk), ("/subscriptions", supervisor)]:
        refused_over_http(engine, lambda path=path, auth=auth: httpx.post(
            f"{api}/api/v1{path}", content=b'{"trigger": "\xff\xfe"}',
            headers={**auth, **json_type}), 422, "invalid_input")
    boundary = "a222103b9b30b1f9e8be6882ecedb1d2"
    refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases/import", content=f"--{boundary}\r\n[]--{boundary}--\r\n",
        headers={**clerk, "Content-Type": f"multipart/form-data; boundary={boundary}"}),
        422, "invalid_input")


def test_get_on_the_import_path_is_405_and_a_case_is_named_by_digits_only(engine, api):
    """``/cases/import`` is no case number: GET on it is 405 (POST only), not a 422 about
    ``case_id``; a path naming a case by anything but digits is no route (404)."""
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    r = httpx.get(f"{api}/api/v1/cases/import", headers=clerk)
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert r.headers["Allow"] == "POST"
    for path in ["/cases/not-a-number", "/cases/-1", "/cases/1.5/history"]:
        r = httpx.get(f"{api}/api/v1{path}", headers=clerk)
        assert r.status_code == 404 and r.json()["code"] == "not_found", path


@pytest.mark.parametrize("since", ["0.5", "1764547200", "2026-11-24", "2026-11-24T08:00:00",
                                   "2026-11-24 08:00:00+08:00", "9999-12-31T23:59:59-23:59",
                                   "2026-02-30T08:00:00Z", ""])
def test_the_access_log_s_since_is_a_date_and_time_with_its_offset_nothing_else(
        engine, api, since):
    """``since`` is an RFC 3339 date and time with its UTC offset (the schema's ``format:
    date-time``): a number is not read as a timestamp, a local time or a bare date is no
    moment, one beyond the years a clock has is none; each is 422 and reads nothing."""
    supervisor = bearer(engine, "s-1", "supervisor", DESTINATION)
    refused_over_http(engine, lambda: httpx.get(f"{api}/api/v1/access-log", headers=supervisor,
                                                params={"since": since}), 422, "invalid_input")


def test_the_access_log_since_an_offset_moment_lists_the_reads_after_it(engine, api):
    """A moment with its offset, ``Z`` or ``+08:00``, is read as that instant."""
    case = open_case(engine)
    supervisor = bearer(engine, "s-1", "supervisor", DESTINATION)
    assert httpx.get(f"{api}/api/v1/cases/{case.id}", headers=supervisor).status_code == 200
    for since, count in [("2000-01-01T00:00:00Z", 1), ("2000-01-01T08:00:00.5+08:00", 1),
                         ("9999-12-31T23:59:59+14:00", 0)]:
        r = httpx.get(f"{api}/api/v1/access-log", headers=supervisor,
                      params={"since": since, "case_id": case.id})
        assert r.status_code == 200, r.text
        assert len(r.json()) == count, since


def test_an_empty_or_malformed_date_is_422_and_the_schema_says_format_date(engine, api):
    """Every business date the API reads (bodies, queries, the import form) is ``format:
    date`` in the schema, and the server refuses what is none (an empty string among them)
    with 422, writing nothing."""
    schema = httpx.get(f"{api}/openapi.json").json()
    components = schema["components"]["schemas"]
    dated = [components[name]["properties"][field] for name, field in [
        ("OpenRequest", "on"), ("FireRequest", "on"), ("AttachRequest", "on"),
        ("CorrectionRequest", "new_date"), ("Body_import_cases_api_v1_cases_import_post", "on")]]
    for path, name in [("/cases", "overdue_on"), ("/alerts", "as_of"),
                       ("/reports/overdue", "as_of"), ("/reports/overdue", "since"),
                       ("/calendar/working-day", "date"), ("/calendar/due-date", "received")]:
        parameters = schema["paths"][f"/api/v1{path}"]["get"]["parameters"]
        dated.append(next(p["schema"] for p in parameters if p["name"] == name))
    for field in dated:
        strings = [s for s in field.get("anyOf", [field]) if s.get("type") == "string"]
        assert [s["format"] for s in strings] == ["date"], field

    case = open_case(engine)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    for value in ["", "20250926", "2025-02-30"]:
        refused_over_http(engine, lambda value=value: httpx.post(
            f"{api}/api/v1/cases/{case.id}/fire", headers=clerk,
            json={"trigger": "review", "on": value}), 422, "invalid_input")
        refused_over_http(engine, lambda value=value: httpx.post(
            f"{api}/api/v1/cases", headers=clerk,
            json=application(person_id="110108198001010015", on=value)), 422, "invalid_input")
        refused_over_http(engine, lambda value=value: httpx.get(
            f"{api}/api/v1/calendar/working-day", headers=clerk, params={"date": value}),
            422, "invalid_input")


def test_the_schema_names_the_values_the_server_takes_and_the_server_refuses_the_rest(
        engine, api):
    """The report's format and language are enums, a calendar's agency six digits, If-Match an
    ETag this API gives (``"<id>-<version>"``) in the schema; an empty value for each (valid
    before, as a plain string) is refused with 422 and nothing is written."""
    schema = httpx.get(f"{api}/openapi.json").json()

    def parameter(path: str, method: str, name: str) -> dict:
        found = next(p["schema"] for p in schema["paths"][f"/api/v1{path}"][method]["parameters"]
                     if p["name"] == name)
        return next(s for s in found.get("anyOf", [found]) if s.get("type") == "string")

    assert parameter("/reports/overdue", "get", "format")["enum"] == ["csv", "xlsx", "html"]
    assert parameter("/reports/overdue", "get", "lang")["enum"] == ["zh", "en"]
    for path in ("/calendar/working-day", "/calendar/due-date"):
        assert parameter(path, "get", "agency")["pattern"] == "^[0-9]{6}$"
    assert parameter("/cases/{case_id}/fire", "post", "if-match")["pattern"] \
        == '^(W/)?"[0-9]+-[0-9]+"$'

    case = open_case(engine)
    supervisor = bearer(engine, "s-1", "supervisor", DESTINATION)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    for params in ({"format": ""}, {"lang": ""}):
        refused_over_http(engine, lambda params=params: httpx.get(
            f"{api}/api/v1/reports/overdue", headers=supervisor, params=params),
            422, "invalid_input")
    refused_over_http(engine, lambda: httpx.get(
        f"{api}/api/v1/calendar/working-day", headers=clerk,
        params={"date": "2025-10-08", "agency": ""}), 422, "invalid_input")
    for etag in ("null", ""):
        refused_over_http(engine, lambda etag=etag: httpx.post(
            f"{api}/api/v1/cases/{case.id}/fire", json={"trigger": "review"},
            headers={**clerk, "If-Match": etag}), 422, "invalid_input")


def test_an_api_request_from_another_site_s_page_is_403_as_a_problem_and_writes_nothing(
        engine, api):
    """A POST to the JSON API whose Origin is another site is refused (403) in the API's
    documented shape, ``cross_site_request`` as an RFC 9457 problem, and the case does not
    move."""
    case = open_case(engine)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    r = refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases/{case.id}/fire", json={"trigger": "review"},
        headers={**clerk, "Origin": "http://evil.example"}), 403, "cross_site_request")
    assert r == {}
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", json={"trigger": "review"},
                   headers={**clerk, "Origin": "http://evil.example"})
    assert r.headers["Content-Type"] == "application/problem+json"


def test_the_schema_documents_each_refusal_an_operation_may_answer_as_a_problem(api):
    """Every API operation documents 401, 403 and 422 as an RFC 9457 problem
    (``application/problem+json``, nothing else); one naming a row in
    its path 404 too, one taking If-Match 409, one with a body 413 (the body cap): the
    statuses the server answers, with the shape it answers them in (the diagram's and the
    report's refusals are JSON, their successes not)."""
    schema = httpx.get(f"{api}/openapi.json").json()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    operations = [(path, method, op) for path, ops in schema["paths"].items()
                  if path.startswith("/api/v1/") for method, op in ops.items()]
    assert len(operations) >= 24
    for path, method, op in operations:
        expected = {"401", "403", "422"}
        if "{" in path:
            expected.add("404")
        if any(p["name"].lower() == "if-match" for p in op.get("parameters", [])):
            expected.add("409")
        if method in ("post", "delete"):
            expected.add("413")
        refusals = {code for code in op["responses"] if code.startswith("4")}
        assert expected <= refusals, (method, path, refusals)
        for code in refusals:
            assert op["responses"][code]["content"] == problem, (method, path, code)
    fire = schema["paths"]["/api/v1/cases/{case_id}/fire"]["post"]["responses"]
    assert {"404", "409", "413"} <= set(fire)
    assert "404" in schema["paths"]["/api/v1/alerts"]["get"]["responses"]
