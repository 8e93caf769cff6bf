"""The REST API, driven over HTTP against a running uvicorn server on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import (
    BACKENDS,
    DESTINATION,
    ORIGIN,
    OTHER_PERSON_ID,
    PERSON_ID,
    RECEIVED,
    fresh_database,
    full_documents,
    open_case,
    snapshot,
)
from tests.live import running
from workflow import Engine
from workflow.api import create_app, router
from workflow.store import TABLES
from workflow.testing import valid_person_id

#: The day the destination review of a case received on RECEIVED is late (due 2025-10-23).
LATE = dt.date(2025, 11, 3)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    """One engine and one running server per module and database (starting them for every
    test would take most of the time); each test starts from empty tables (:func:`engine`)."""
    module = request.module.__name__.rpartition(".")[2]
    url = fresh_database(request.param, tmp_path_factory.mktemp(module), name=module)
    with Engine(url) as shared, running(create_app(shared)) as base:
        yield shared, base


@pytest.fixture
def engine(served):
    """The module's engine on empty tables (the registered definitions kept)."""
    shared, _ = served
    with shared.db.begin() as conn:
        for table in reversed(TABLES):
            if table.name != "workflow_definition":
                conn.execute(table.delete())
    return shared


@pytest.fixture
def api(served):
    """The base URL of the module's server, serving :func:`engine`."""
    return served[1]


def bearer(engine, actor, role, agency=None, **kw) -> dict[str, str]:
    """The Authorization header of a new API token for (actor, role, agency)."""
    token, _ = engine.access_service.create_token(actor, role, agency, **kw)
    return {"Authorization": f"Bearer {token}"}


def application(**overrides) -> dict:
    body = dict(definition="pension_transfer", person_id=PERSON_ID, person_name="张三",
                origin=ORIGIN, destination=DESTINATION, channel="counter",
                documents=full_documents("pension_transfer"), on=RECEIVED.isoformat())
    body.update(overrides)
    return body


def refused_over_http(engine, call, status: int, code: str) -> dict:
    """Make a request that must be refused with ``status`` and ``code``; prove the database
    is unchanged but for the access log's record of a denied read; return the problem's
    details."""
    before = _but_denied_reads(snapshot(engine))
    r = call()
    assert r.status_code == status, r.text
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert body["code"] == code and body["message"] and set(body) == {
        "type", "title", "status", "detail", "instance", "code", "message", "details"}
    assert body["type"].endswith(f":{code}") and body["status"] == status and body["detail"]
    assert _but_denied_reads(snapshot(engine)) == before
    return body["details"]


def _but_denied_reads(rows: dict[str, list]) -> dict[str, list]:
    """The tables without the access log's records of denied reads."""
    return {**rows, "access_log": [row for row in rows["access_log"]
                                   if not any("(denied)" in str(v) for v in row)]}


def test_a_request_without_a_valid_token_is_refused_with_401_and_writes_nothing(engine, api):
    """No credential, or an unknown one: 401 ``not_authenticated``, and no access log row."""
    case = open_case(engine)
    for headers in ({}, {"Authorization": "Bearer not-a-token-at-all"}):
        r = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
        assert r.headers["WWW-Authenticate"] == "Bearer"
    assert engine.access_service.store.access_log(limit=10) == []


def test_the_actor_comes_from_the_token_and_a_clerk_of_another_agency_may_not_read(engine, api):
    """A clerk of the destination reads the case (ID number masked, ETag the version); to a
    clerk of an unrelated agency it is a case that does not exist (404, as for a missing one:
    no oracle of which numbers are taken), and the denied read is in the access log."""
    case = open_case(engine)
    mine = bearer(engine, "c-12", "clerk", DESTINATION)
    r = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=mine)
    assert r.status_code == 200 and r.json()["id"] == case.id
    assert PERSON_ID not in r.text and "person_id" not in r.json()
    assert r.json()["person_id_masked"] == case.person_id_masked
    assert r.headers["ETag"] == f'"{case.id}-{case.version}"'
    other = bearer(engine, "c-99", "clerk", "110105")
    details = refused_over_http(engine, lambda: httpx.get(f"{api}/api/v1/cases/{case.id}",
                                                          headers=other), 404, "case_not_found")
    assert details == {"case_id": case.id}
    missing = httpx.get(f"{api}/api/v1/cases/{case.id + 1000}", headers=other)
    assert (missing.status_code, missing.json()["code"]) == (404, "case_not_found")
    denied = [(e.actor_id, e.case_id, e.view) for e in
              engine.access_service.store.access_log(limit=10) if "denied" in e.view]
    assert denied == [("c-99", case.id, "case (denied)")]


def test_firing_a_step_as_the_token_s_clerk_moves_the_case_and_a_stale_etag_is_409(engine, api):
    """The step is recorded as the token's actor; a second step on the old ETag is 409."""
    case = open_case(engine)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    etag = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=clerk).headers["ETag"]
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", headers={**clerk, "If-Match": etag},
                   json={"trigger": "review"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "reviewed" and r.headers["ETag"] != etag
    last = engine.history(case.id)[-1]
    assert (last.actor_id, last.actor_role, last.actor_agency) == (
        "c-12", "destination_clerk", DESTINATION)
    details = refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases/{case.id}/fire", headers={**clerk, "If-Match": etag},
        json={"trigger": "send_letter"}), 409, "concurrent_update")
    assert details == {"case_id": case.id, "expected_version": case.version}


def test_an_applicant_token_opens_its_own_case_and_the_body_may_not_name_an_actor(engine, api):
    """POST /cases as an employer's token: 201 with Location and ETag, the applicant and
    opening actor are the token's. A body that names an actor is refused 422 (problem shape)
    and writes nothing."""
    employer = bearer(engine, "hr-7", "employer")
    r = httpx.post(f"{api}/api/v1/cases", headers=employer, json=application())
    assert r.status_code == 201, r.text
    case = r.json()
    assert r.headers["Location"] == f"/api/v1/cases/{case['id']}"
    assert r.headers["ETag"] == f'"{case["id"]}-{case["version"]}"'
    assert (case["applicant"], case["applicant_id"], case["state"]) == ("employer", "hr-7", "applied")
    assert PERSON_ID not in r.text
    opened = engine.history(case["id"])[0]
    assert (opened.actor_id, opened.actor_role) == ("hr-7", "employer")
    details = refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases", headers=employer,
        json=application(actor={"id": "c-12", "role": "destination_clerk"})),
        422, "invalid_input")
    assert [e["field"] for e in details["errors"]] == ["body.actor"]


def test_a_clerk_token_opens_at_its_counter_and_a_supervisor_may_not_open(engine, api):
    """A clerk of the destination opens a case for the person (as destination clerk); a
    supervisor's token is refused 403 naming who may open it."""
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    r = httpx.post(f"{api}/api/v1/cases", headers=clerk, json=application(applicant="self"))
    assert r.status_code == 201, r.text
    assert engine.history(r.json()["id"])[0].actor_role == "destination_clerk"
    boss = bearer(engine, "s-1", "supervisor", DESTINATION)
    details = refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases", headers=boss, json=application(applicant="self")),
        403, "not_permitted")
    assert details["may_act"] == [{"role": "self", "agency": None},
                                  {"role": "destination_clerk", "agency": DESTINATION}]


def test_a_csv_upload_opens_every_line_or_none_and_names_the_refused_line(engine, api):
    """POST /cases/import: a good file opens one case per line (201 with their ids); a file
    with a bad ID number on line 3 is refused as ``invalid_row`` with line 3, writing nothing."""
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    header = "definition,person_id,person_name,origin,destination,applicant,channel,documents,received_on\n"
    docs = ";".join(full_documents("pension_transfer"))

    def line(pid: str) -> str:
        return f"pension_transfer,{pid},张三,{ORIGIN},{DESTINATION},self,counter,{docs},2025-09-26\n"

    good = (header + line(PERSON_ID) + line(OTHER_PERSON_ID)).encode("utf-8")
    r = httpx.post(f"{api}/api/v1/cases/import", headers=clerk,
                   files={"file": ("applications.csv", good, "text/csv")})
    assert r.status_code == 201, r.text
    ids = r.json()["case_ids"]
    assert r.json()["count"] == 2 and [engine.get(i).person_id for i in ids] == [
        PERSON_ID, OTHER_PERSON_ID]
    bad = (header + line(OTHER_PERSON_ID) + line("123456")).encode("gb18030")
    details = refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases/import", headers=clerk,
        files={"file": ("applications.csv", bad, "text/csv")}), 422, "invalid_row")
    assert details["line"] == 3 and details["error"]["code"] == "invalid_input"


def test_refusals_name_the_missing_documents_and_the_allowed_triggers(engine, api):
    """A review without the application's documents is 422 naming each missing kind; a
    trigger not allowed in the state is 409 listing the allowed ones; neither writes."""
    case = open_case(engine, documents=["application_form"])
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    url = f"{api}/api/v1/cases/{case.id}/fire"
    details = refused_over_http(engine, lambda: httpx.post(
        url, headers=clerk, json={"trigger": "review"}), 422, "missing_documents")
    assert details["trigger"] == "review"
    assert set(details["missing"]) == {"id_card", "payment_voucher", "endowment_manual",
                                       "employment_certificate"}
    details = refused_over_http(engine, lambda: httpx.post(
        url, headers=clerk, json={"trigger": "move_funds", "amount": "10.00"}),
        409, "invalid_transition")
    assert details["state"] == "applied" and "review" in details["allowed"]


def test_a_refusal_speaks_the_language_of_accept_language_chinese_by_default(engine, api):
    """Issue 21: "The API answers in the language of Accept-Language (zh-CN default for
    people-facing text, English for developer-facing codes), RFC 9457 problem details
    (application/problem+json, keeping code as an extension member, and the field name in
    details for bad input)." Without Accept-Language the problem's title and detail are
    Chinese (Content-Language: zh-CN), naming the step and the documents by their titles;
    with ``en`` English; ``code``, ``type`` and the engine's ``message`` stay English either
    way."""
    case = open_case(engine, documents=["application_form"])
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    url = f"{api}/api/v1/cases/{case.id}/fire"
    zh = httpx.post(url, headers=clerk, json={"trigger": "review"})
    assert zh.headers["content-type"] == "application/problem+json"
    assert zh.headers["content-language"] == "zh-CN"
    body = zh.json()
    assert (body["title"], body["status"], body["code"]) == ("缺少材料", 422, "missing_documents")
    assert body["detail"].startswith("「审核」还缺以下材料：") and "参保缴费凭证" in body["detail"]
    assert body["type"] == "urn:sstransfer:problem:missing_documents"
    assert body["instance"] == f"/api/v1/cases/{case.id}/fire"
    assert body["message"].startswith("'review' needs documents")
    en = httpx.post(url, headers={**clerk, "Accept-Language": "en-GB, zh;q=0.5"},
                    json={"trigger": "review"})
    assert en.headers["content-language"] == "en"
    body = en.json()
    assert (body["title"], body["code"]) == ("Documents missing", "missing_documents")
    assert body["detail"].startswith("“review” needs documents the case does not hold:")
    assert "payment voucher issued by the origin agency" in body["detail"]
    bad = httpx.post(url, headers={**clerk, "Accept-Language": "zh-CN"},
                     json={"trigger": "reject", "explanation": " "})
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "explanation"
    assert bad.json()["detail"] == "请填写「说明理由」。"


def test_a_step_refused_for_role_names_the_role_and_agency_that_may_act(engine, api):
    """The origin's clerk may read the case but not review it: 403 whose details name the
    destination clerk of the destination agency."""
    case = open_case(engine)
    origin_clerk = bearer(engine, "o-3", "clerk", ORIGIN)
    details = refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases/{case.id}/fire", headers=origin_clerk, json={"trigger": "review"}),
        403, "not_permitted")
    assert details["may_act"] == [{"role": "destination_clerk", "agency": DESTINATION}]


def test_only_the_applicant_or_a_destination_clerk_on_their_behalf_resubmits_or_withdraws(
        engine, api):
    """The employer who applied resubmits; to another employer the case does not exist; the
    origin clerk may not withdraw; a destination clerk withdraws on the applicant's behalf,
    recorded as such."""
    employer = bearer(engine, "hr-7", "employer")
    case_id = httpx.post(f"{api}/api/v1/cases", headers=employer, json=application()).json()["id"]
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    url = f"{api}/api/v1/cases/{case_id}/fire"
    r = httpx.post(url, headers=clerk, json={"trigger": "request_documents",
                                             "documents_needed": ["power_of_attorney"]})
    assert r.status_code == 200, r.text
    stranger = bearer(engine, "hr-8", "employer")
    refused_over_http(engine, lambda: httpx.post(url, headers=stranger, json={
        "trigger": "resubmit", "documents": ["power_of_attorney"]}), 404, "case_not_found")
    r = httpx.post(url, headers=employer, json={"trigger": "resubmit",
                                                "documents": ["power_of_attorney"]})
    assert r.status_code == 200 and r.json()["state"] == "applied", r.text
    origin_clerk = bearer(engine, "o-3", "clerk", ORIGIN)
    details = refused_over_http(engine, lambda: httpx.post(
        url, headers=origin_clerk, json={"trigger": "withdraw"}), 403, "not_permitted")
    assert {"role": "destination_clerk", "agency": DESTINATION} in details["may_act"]
    r = httpx.post(url, headers=clerk, json={"trigger": "withdraw"})
    assert r.status_code == 200 and r.json()["state"] == "withdrawn", r.text
    last = engine.history(case_id)[-1]
    assert last.actor_id == "c-12" and "on_behalf_of" in last.inputs


def test_a_step_s_inputs_and_documents_come_from_the_body(engine, api):
    """The origin's clerk moves the funds with the amount (exact, as text) and the information
    form; the destination's clerk continues with the contribution months."""
    case = open_case(engine)
    dest = engine_actor("c-12", "destination_clerk", DESTINATION)
    for trigger in ("review", "send_letter"):
        engine.fire(case.id, trigger, actor=dest)
    url = f"{api}/api/v1/cases/{case.id}/fire"
    r = httpx.post(url, headers=bearer(engine, "o-3", "clerk", ORIGIN), json={
        "trigger": "move_funds", "amount": "12345.67", "documents": ["information_form"]})
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "12345.67" and "information_form" in r.json()["documents"]
    r = httpx.post(url, headers=bearer(engine, "c-12", "clerk", DESTINATION), json={
        "trigger": "continue_relationship", "contribution_months": 86})
    assert r.status_code == 200 and r.json()["state"] == "continued", r.text
    assert r.json()["contribution_months"] == 86


def test_documents_are_attached_and_an_if_match_on_an_old_version_is_409(engine, api):
    """POST documents adds them without changing the state; with a stale If-Match it is 409."""
    case = open_case(engine, documents=["application_form"])
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    url = f"{api}/api/v1/cases/{case.id}/documents"
    stale = f'"{case.id}-{case.version}"'
    r = httpx.post(url, headers={**clerk, "If-Match": stale}, json={"documents": ["id_card"]})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "applied" and "id_card" in r.json()["documents"]
    refused_over_http(engine, lambda: httpx.post(url, headers={**clerk, "If-Match": stale},
                                                 json={"documents": ["payment_voucher"]}),
                      409, "concurrent_update")


def test_a_plain_fire_answers_as_the_route_does_and_any_other_is_left_to_it(engine, api):
    """Issue 22 (the fire route's fast path): a plain request -- a JSON body
    (``Content-Type: application/json``), no query string -- is answered without FastAPI's
    dependency solving and validation, with what the route answers: the case as ``CaseOut``
    (the body ``GET`` gives, no linked cases) and its ETag. A request it does not take is
    the route's, as before: another JSON media type fires too; a query parameter, a field
    the body does not have and a body that is no JSON are 422 naming what is wrong, and
    write nothing."""
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    for content_type in ("application/json", "application/json; charset=utf-8"):
        case = open_case(engine)
        url = f"{api}/api/v1/cases/{case.id}/fire"
        r = httpx.post(url, headers={**clerk, "Content-Type": content_type},
                       content=b'{"trigger": "review"}')
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        shown = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=clerk)
        assert r.headers["etag"] == shown.headers["etag"] == f'"{case.id}-{case.version + 1}"'
        assert r.json() == {**shown.json(), "linked_cases": None}
        assert r.json()["state"] == "reviewed"
    url = f"{api}/api/v1/cases/{case.id}/fire"
    details = refused_over_http(engine, lambda: httpx.post(
        f"{url}?trigger=send_letter", headers=clerk, json={"trigger": "send_letter"}),
        422, "invalid_input")
    assert details["field"] == "query.trigger"
    details = refused_over_http(engine, lambda: httpx.post(
        url, headers=clerk, json={"trigger": "send_letter", "actor": "someone"}),
        422, "invalid_input")
    assert details["field"] == "body.actor"
    details = refused_over_http(engine, lambda: httpx.post(
        url, headers={**clerk, "Content-Type": "application/json"}, content=b'{"trigger": '),
        422, "invalid_input")
    assert details["errors"][0]["type"] == "json_invalid"


def test_the_fire_route_s_fast_path_takes_plain_requests_only(engine):
    """The fast path answers a plain fire request itself (the step is taken) and leaves to
    the route (None: nothing read but the body, nothing written) one with a query string,
    another media type, a body that is no JSON object or that FireRequest refuses, or a case
    id out of range."""
    from starlette.requests import Request

    from workflow.api.routes import MAX_ROW, _plain_fire

    app = create_app(engine)
    case = open_case(engine)
    token, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)

    def answer(body: bytes, media: str = "application/json", query: bytes = b"",
               case_id: int = case.id):
        scope = {"type": "http", "method": "POST", "path": f"/api/v1/cases/{case_id}/fire",
                 "query_string": query, "app": app, "path_params": {"case_id": case_id},
                 "headers": [(b"authorization", f"Bearer {token}".encode()),
                             (b"content-type", media.encode())]}

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        return asyncio.run(_plain_fire(Request(scope, receive)))

    left = [answer(b'{"trigger": "review"}', query=b"on=2025-10-09"),
            answer(b'{"trigger": "review"}', media="application/json; charset=utf-8"),
            answer(b'{"trigger": '), answer(b'["review"]'), answer(b'{"trigger": 7}'),
            answer(b'{"trigger": "review", "actor": "x"}'),
            answer(b'{"trigger": "review"}', case_id=MAX_ROW + 1)]
    assert left == [None] * 7
    assert engine.get(case.id).state == "applied"
    done = answer(b'{"trigger": "review"}')
    assert done is not None and done.status_code == 200
    assert done.headers["etag"] == f'"{case.id}-{case.version + 1}"'
    assert engine.get(case.id).state == "reviewed"


def test_an_idempotency_key_makes_a_retried_step_return_the_first_result(engine, api):
    """The same step sent twice with one Idempotency-Key is done once; the same key on a
    different step is refused 422."""
    case = open_case(engine)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    url = f"{api}/api/v1/cases/{case.id}/fire"
    key = {**clerk, "Idempotency-Key": "k-1"}
    first = httpx.post(url, headers=key, json={"trigger": "review"})
    again = httpx.post(url, headers=key, json={"trigger": "review"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert [h.trigger for h in engine.history(case.id)] == ["open", "review"]
    refused_over_http(engine, lambda: httpx.post(url, headers=key, json={
        "trigger": "send_letter"}), 422, "invalid_input")


def test_history_and_spans_are_their_read_models_and_each_read_is_logged(engine, api):
    """GET history and spans answer the store's read models; the case, its history and its
    spans each leave one access log row naming the reader and the view."""
    case = open_case(engine)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    base = f"{api}/api/v1/cases/{case.id}"
    history = httpx.get(f"{base}/history", headers=clerk).json()
    assert [h["trigger"] for h in history] == ["open"]
    assert history[0] == engine.history(case.id)[0].model_dump(mode="json")
    spans = httpx.get(f"{base}/spans", headers=clerk).json()
    assert spans == [s.model_dump(mode="json") for s in engine.spans(case.id)]
    assert spans[0]["due_on"] == "2025-10-23"
    httpx.get(base, headers=clerk)
    log = engine.access_service.store.access_log(limit=10)
    assert [(e.view, e.via, e.actor_id, e.case_id) for e in reversed(log)] == [
        ("history", "api", "c-12", case.id), ("spans", "api", "c-12", case.id),
        ("case", "api", "c-12", case.id)]


def test_the_case_list_shows_only_readable_cases_filtered_and_paged(engine, api):
    """A clerk lists their agency's cases only, filtered by state, insurance, definition and
    overdue (today, or on a day), a page at a time; an employer lists only the cases they applied for; each
    listed case is logged as read."""
    mine = [open_case(engine, person_id=pid) for pid in (PERSON_ID, OTHER_PERSON_ID)]
    medical = open_case(engine, "medical_transfer")
    elsewhere = open_case(engine, destination="110105", actor=engine_actor("hr-9"),
                          person_id=valid_person_id(seed=42))  # another person
    reviewed = engine.fire(mine[1].id, "review", actor=engine_actor("c-12", "destination_clerk",
                                                                    DESTINATION))
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    url = f"{api}/api/v1/cases"

    def ids(**params) -> list[int]:
        r = httpx.get(url, headers=clerk, params=params)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert ids() == [mine[0].id, mine[1].id, medical.id]  # not the case of 110105
    assert ids(state="reviewed") == [reviewed.id]
    assert ids(insurance="medical") == [medical.id]
    assert ids(definition="pension_transfer") == [mine[0].id, mine[1].id]
    assert ids(overdue_on=LATE.isoformat()) == [mine[0].id, mine[1].id]  # pension review late
    assert ids(overdue_on="2025-10-23") == []  # due that day: not late yet
    from workflow.core.inputs import today

    assert ids(overdue="true") == ids(overdue_on=today().isoformat()) != []
    page = httpx.get(url, headers=clerk, params={"limit": 2}).json()
    assert page["next_offset"] == 2 and len(page["items"]) == 2
    last = httpx.get(url, headers=clerk, params={"limit": 2, "offset": 2}).json()
    assert last["next_offset"] is None and [c["id"] for c in last["items"]] == [medical.id]
    employer = bearer(engine, "hr-9", "employer")
    assert [c["id"] for c in httpx.get(url, headers=employer).json()["items"]] == [elsewhere.id]
    logged = {(e.actor_id, e.case_id) for e in engine.access_service.store.access_log(limit=100)
              if e.view == "list"}
    assert ("hr-9", elsewhere.id) in logged and ("c-12", elsewhere.id) not in logged
    assert ("c-12", medical.id) in logged


def test_the_case_list_searches_sorts_and_counts_in_total(engine, api):
    """Issue 21: "The REST list takes the same filters and returns a `total`": by case
    number, name, alert level and due-date range, sorted by ``sort=field`` or ``-field``,
    with how many match in all beside each page."""
    first = open_case(engine, person_name="张三")
    second = open_case(engine, person_id=OTHER_PERSON_ID, person_name="李四", on=LATE)
    third = open_case(engine, "medical_transfer", person_name="张三丰")
    engine.scan(LATE)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    url = f"{api}/api/v1/cases"

    def page(**params) -> dict:
        r = httpx.get(url, headers=clerk, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def ids(**params) -> list[int]:
        return [c["id"] for c in page(**params)["items"]]

    assert ids(public_number=second.public_number) == [second.id]
    assert ids(person_name="张三") == [first.id, third.id]  # part of the name
    assert ids(person_name="丰") == [third.id]
    overdue = sorted({a.case_id for a in engine.alerts(level="overdue")})
    assert overdue and second.id not in overdue and ids(level="overdue") == overdue
    # The pension reviews run (due 2025-10-23 and later); the medical case is not accepted
    # yet, so it has no running span and no due date.
    due = {c: min(s.committed_due_on or s.due_on for s in engine.spans(c) if s.ended_on is None)
           for c in (first.id, second.id)}
    assert due[first.id] < due[second.id] and not [
        s for s in engine.spans(third.id) if s.ended_on is None]
    assert ids(due_from=due[second.id].isoformat()) == [second.id]
    assert ids(due_from=due[first.id].isoformat(), due_to=due[first.id].isoformat()) == [
        first.id]
    assert ids(due_to=(due[first.id] - dt.timedelta(days=1)).isoformat()) == []
    assert ids(sort="due_on") == [first.id, second.id, third.id]  # none due: last
    assert ids(sort="-due_on") == [second.id, first.id, third.id]  # last either way
    assert ids(sort="-id") == [third.id, second.id, first.id]
    assert ids(sort="person_name") == [first.id, third.id, second.id]  # 张三 < 张三丰 < 李四 by code
    one = page(limit=1, sort="-id")
    assert one["total"] == 3 and one["next_offset"] == 1 and len(one["items"]) == 1
    assert page(insurance="medical")["total"] == 1
    assert page(limit=2, offset=2)["next_offset"] is None


def test_a_search_by_id_number_goes_in_the_body_and_is_never_shown_back(engine, api):
    """Issue 21: search "by ... 身份证号 (full or last digits, never echoed unmasked)": the
    whole number or its last four match in ``POST /cases/search``; the answer shows it only
    masked; fewer than four characters are refused without repeating them."""
    mine = open_case(engine)
    other = open_case(engine, person_id=OTHER_PERSON_ID)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    url = f"{api}/api/v1/cases/search"
    for given, expected in ((PERSON_ID, [mine.id]), (PERSON_ID[-4:], [mine.id]),
                            (PERSON_ID[-4:].lower(), [mine.id]),
                            (OTHER_PERSON_ID[-6:], [other.id]), ("9999", [])):
        r = httpx.post(url, headers=clerk, json={"person_id_ending": given})
        assert r.status_code == 200, r.text
        assert [c["id"] for c in r.json()["items"]] == expected
        assert r.json()["total"] == len(expected) and PERSON_ID not in r.text
    r = httpx.post(url, headers=clerk, json={"person_id_ending": "02X"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input" and "02X" not in r.text
    both = httpx.post(url, headers=clerk, json={"person_id_ending": PERSON_ID[-4:],
                                                "sort": "-id", "insurance": "pension"})
    assert [c["id"] for c in both.json()["items"]] == [mine.id]


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/cases", {"person_id": PERSON_ID}),
    ("/api/v1/cases", {"person_id_ending": "002X"}),  # the ID number goes in a body
    ("/api/v1/cases", {"sort": "person_id"}),  # not a sortable field
    ("/api/v1/cases", {"sort": "nonsense"}),
    ("/api/v1/cases/1", {"lang": "en"}),
    ("/api/v1/alerts", {"state": "open"}),
    ("/api/v1/access-log", {"view": "list"}),
    ("/api/v1/outbox", {"agency": DESTINATION}),
    ("/api/v1/definitions", {"version": "1"}),
    ("/api/v1/calendar/working-day", {"date": "2025-10-09", "province": "44"}),
    ("/api/v1/reports/overdue", {"as_of": "2025-11-03", "unit": "x"}),
])
def test_an_unknown_query_parameter_is_refused_never_ignored(engine, api, path, params):
    """Issue 21: "an unknown query parameter is refused (422 in the API's error shape), never
    silently ignored as `?person_id=` and `?sort=` are today" - on every /api/v1 route, the
    value never repeated, nothing written; the credential is checked first (401 without)."""
    open_case(engine)
    assert httpx.get(f"{api}{path}", params=params).status_code == 401
    supervisor = bearer(engine, "s-1", "supervisor", DESTINATION)
    details = refused_over_http(engine, lambda: httpx.get(f"{api}{path}", headers=supervisor,
                                                          params=params), 422, "invalid_input")
    assert details["errors"] and PERSON_ID not in str(details)


def test_the_list_s_filters_and_sort_are_documented_in_openapi(engine, api):
    """The list's query parameters are in the schema, ``sort`` with its allowed values."""
    schema = httpx.get(f"{api}/openapi.json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/v1/cases"]["get"]["parameters"]}
    assert {"public_number", "person_name", "level", "due_from", "due_to", "sort", "limit",
            "offset", "state", "agency", "insurance"} <= set(params)
    assert "person_id_ending" not in params and "person_id" not in params
    assert "-due_on" in str(params["sort"]["schema"])
    assert "total" in schema["components"]["schemas"]["CasePage"]["required"]


def engine_actor(actor_id: str, role: str = "employer", agency: str | None = None):
    from workflow import Actor

    return Actor(actor_id, role, agency)


def test_alerts_are_those_of_the_principal_s_agency_or_readable_case(engine, api):
    """After a scan, the destination's clerk reads the alerts of their agency, by case too;
    a clerk of another agency reads none of them and may not ask for the case's."""
    case = open_case(engine)
    engine.scan(LATE)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    r = httpx.get(f"{api}/api/v1/alerts", headers=clerk)
    assert r.status_code == 200, r.text
    assert r.json() and {a["case_id"] for a in r.json()} == {case.id}
    assert {a["owner_agency"] for a in r.json()} == {DESTINATION}
    by_case = httpx.get(f"{api}/api/v1/alerts", headers=clerk, params={"case_id": case.id})
    assert by_case.json() == r.json()
    other = bearer(engine, "c-99", "clerk", "110105")
    assert httpx.get(f"{api}/api/v1/alerts", headers=other).json() == []
    refused_over_http(engine, lambda: httpx.get(f"{api}/api/v1/alerts", headers=other,
                                                params={"case_id": case.id}),
                      404, "case_not_found")


def text_of(fmt: str, content: bytes) -> str:
    """The text a report file shows: every cell of every sheet of an XLSX file."""
    if fmt != "xlsx":
        return content.decode("utf-8-sig")
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
                     for cell in row if cell is not None)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_a_supervisor_downloads_the_overdue_report_of_their_agency_only(engine, api, fmt):
    """The destination's supervisor downloads the report (csv, xlsx, html) with the late case;
    a supervisor elsewhere gets a report without it; a clerk may not download one."""
    case = open_case(engine, person_name="李四")
    url = f"{api}/api/v1/reports/overdue"
    params = {"format": fmt, "as_of": LATE.isoformat(), "lang": "en"}
    r = httpx.get(url, headers=bearer(engine, "s-1", "supervisor", DESTINATION), params=params)
    assert r.status_code == 200, r.text
    assert f"overdue-{LATE}.{fmt}" in r.headers["content-disposition"]
    assert "李四" in text_of(fmt, r.content) and PERSON_ID not in text_of(fmt, r.content)
    other = httpx.get(url, headers=bearer(engine, "s-2", "supervisor", "110105"), params=params)
    assert other.status_code == 200 and "李四" not in text_of(fmt, other.content)
    assert [(e.view, e.case_id) for e in engine.access_service.store.access_log(limit=5)] == [
        ("overdue_report", case.id)]
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    refused_over_http(engine, lambda: httpx.get(url, params=params, headers=clerk),
                      403, "not_permitted")


def test_a_report_read_is_one_access_log_entry_naming_its_cases_found_by_each(engine, api):
    """Downloading a report of many people writes one access-log entry that names all its
    cases (not one row per case: a large agency's report would write thousands), and the
    supervisor still finds that entry when asking who read any one of those persons."""
    cases = [open_case(engine, person_id=pid, person_name=name) for pid, name in (
        (PERSON_ID, "李四"), (OTHER_PERSON_ID, "王五"), ("110105199003070017", "赵六"))]
    supervisor = bearer(engine, "s-1", "supervisor", DESTINATION)
    r = httpx.get(f"{api}/api/v1/reports/overdue", headers=supervisor,
                  params={"format": "csv", "as_of": LATE.isoformat()})
    assert r.status_code == 200, r.text
    [entry] = engine.access_service.store.access_log(limit=10)
    assert entry.view == "overdue_report" and entry.case_id is None
    assert sorted(entry.cases) == sorted(c.id for c in cases)
    for case in cases:
        found = httpx.get(f"{api}/api/v1/access-log", headers=supervisor,
                          params={"case_id": case.id}).json()
        assert [(e["view"], e["actor_id"]) for e in found] == [("overdue_report", "s-1")]
        assert case.id in found[0]["cases"]


def test_a_refused_read_of_something_not_a_case_is_logged_for_the_readers_supervisors(
        engine, api):
    """A clerk asking for the outbox, the overdue report or the access log is refused (403)
    and each attempt is written as ``<view> (denied)`` naming the clerk; the supervisors of
    the clerk's agency read those entries, a supervisor of another agency does not."""
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    for path, params in (("/api/v1/outbox", {}), ("/api/v1/access-log", {}),
                         ("/api/v1/reports/overdue", {"format": "csv"})):
        r = httpx.get(f"{api}{path}", headers=clerk, params=params)
        assert r.status_code == 403, (path, r.text)
    own = httpx.get(f"{api}/api/v1/access-log",
                    headers=bearer(engine, "s-1", "supervisor", DESTINATION)).json()
    assert sorted((e["actor_id"], e["view"], e["case_id"]) for e in own) == [
        ("c-12", "access_log (denied)", None), ("c-12", "outbox (denied)", None),
        ("c-12", "overdue_report (denied)", None)]
    elsewhere = httpx.get(f"{api}/api/v1/access-log",
                          headers=bearer(engine, "s-2", "supervisor", "110105")).json()
    assert elsewhere == []


def test_definitions_and_their_mermaid_diagrams_are_served(engine, api):
    """Every definition version is listed; one answers its states, transitions and titles; its
    diagram is Mermaid text; an unknown name is 404."""
    token = bearer(engine, "c-12", "clerk", DESTINATION)
    listed = httpx.get(f"{api}/api/v1/definitions", headers=token).json()
    assert {(d["name"], d["version"]) for d in listed} >= {("pension_transfer", 1),
                                                           ("medical_transfer", 2)}
    one = httpx.get(f"{api}/api/v1/definitions/pension_transfer", headers=token).json()
    assert one["initial"] == "applied" and "review" in one["triggers"]
    assert {"trigger": "review", "source": ["applied"], "dest": "reviewed",
            "roles": ["destination_clerk"], "guards": ["application_complete"],
            "requires": [], "inputs": []} in one["transitions"]
    diagram = httpx.get(f"{api}/api/v1/definitions/pension_transfer/diagram", headers=token)
    assert diagram.headers["content-type"].startswith("text/plain")
    assert diagram.text == engine.definition("pension_transfer").mermaid()
    assert "stateDiagram" in diagram.text
    r = httpx.get(f"{api}/api/v1/definitions/no_such_thing", headers=token)
    assert r.status_code == 404 and r.json()["code"] == "definition_not_found"
    r = httpx.get(f"{api}/api/v1/definitions/pension_transfer/diagram?version=99", headers=token)
    assert r.status_code == 404


def test_the_calendar_answers_working_days_and_due_dates(engine, api):
    """2025-10-01 (National Day) is no working day, 2025-09-28 (a make-up Sunday) is; 15
    working days after 2025-09-26 is 2025-10-23; a malformed date is 422."""
    token = bearer(engine, "c-12", "clerk", DESTINATION)
    day = f"{api}/api/v1/calendar/working-day"
    assert httpx.get(day, headers=token, params={"date": "2025-10-01"}).json()["working_day"] is False
    sunday = httpx.get(day, headers=token, params={"date": "2025-09-28", "agency": DESTINATION})
    assert sunday.json() == {"date": "2025-09-28", "agency": DESTINATION, "working_day": True,
                             "provisional": False}
    due = httpx.get(f"{api}/api/v1/calendar/due-date", headers=token,
                    params={"received": "2025-09-26", "working_days": 15}).json()
    assert due["due_on"] == "2025-10-23" and due["provisional"] is False
    r = httpx.get(day, headers=token, params={"date": "2025-13-01"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"


def test_a_request_fastapi_cannot_read_is_answered_in_the_problem_shape(engine, api):
    """A body without its trigger, or a limit out of range, is 422 ``invalid_input`` naming
    the field, like the engine's own refusals."""
    case = open_case(engine)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    details = refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases/{case.id}/fire", headers=clerk, json={"on": "2025-09-26"}),
        422, "invalid_input")
    assert details["errors"][0]["field"] == details["field"] == "body.trigger"
    r = httpx.get(f"{api}/api/v1/cases", headers=clerk, params={"limit": 0})
    assert r.status_code == 422 and r.json()["details"]["errors"][0]["field"] == "query.limit"
    r = httpx.get(f"{api}/api/v1/cases/0", headers=clerk)
    assert r.status_code == 422 and r.json()["details"]["errors"][0]["field"] == "path.case_id"


def test_the_openapi_schema_uses_the_store_s_read_models(engine, api):
    """/openapi.json describes history, spans, alerts and the access log with the SQLModel read
    models, and a case without its raw ID number."""
    schema = httpx.get(f"{api}/openapi.json").json()
    components = schema["components"]["schemas"]
    assert {"HistoryEntry", "Span", "Alert", "AccessEntry", "CaseOut", "Problem"} <= set(components)
    assert "person_id" not in components["CaseOut"]["properties"]
    assert "person_id_masked" in components["CaseOut"]["properties"]
    history = schema["paths"]["/api/v1/cases/{case_id}/history"]["get"]["responses"]["200"]
    assert history["content"]["application/json"]["schema"]["items"]["$ref"].endswith(
        "/HistoryEntry")
    assert "/api/v1/cases/import" in schema["paths"] and "/api/v1/access-log" in schema["paths"]


def test_the_router_mounts_in_a_host_app_and_keeps_its_error_shape(engine):
    """``include_router(router())`` in a host FastAPI app with ``app.state.engine`` serves the
    API beside the host's own routes, refusals still as problems."""
    host = FastAPI()
    host.state.engine = engine

    @host.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    host.include_router(router())
    case = open_case(engine)
    with running(host) as url:
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        clerk = bearer(engine, "c-12", "clerk", DESTINATION)
        r = httpx.get(f"{url}/api/v1/cases/{case.id}", headers=clerk)
        assert r.status_code == 200 and r.json()["id"] == case.id
        r = httpx.get(f"{url}/api/v1/cases/{case.id + 100}", headers=clerk)
        assert r.status_code == 404 and r.json()["code"] == "case_not_found"
        r = httpx.get(f"{url}/api/v1/cases/{case.id}")
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"


def test_an_unknown_api_path_or_method_answers_in_the_api_s_error_shape(engine):
    """Not only refusals: a mistyped path under /api/ is a JSON problem with a code too."""
    with running(create_app(engine)) as url:
        missing = httpx.get(f"{url}/api/v1/no-such-thing")
        wrong_method = httpx.delete(f"{url}/api/v1/cases",  # signed in: else 401 first
                                    headers=bearer(engine, "c-12", "clerk", DESTINATION))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"


def test_an_id_number_in_a_query_string_reaches_no_request_log_and_no_metric(engine, api):
    """Issue 21: ID-number filters are not written to logs: the request line of
    ``serve --request-log`` (uvicorn's ``uvicorn.access``) shows such a value hidden, whatever
    the parameter, and the metrics label requests by route template only."""
    import logging

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    log, keep = logging.getLogger("uvicorn.access"), Keep()
    level = log.level
    log.addHandler(keep)
    log.setLevel(logging.INFO)
    try:
        clerk = bearer(engine, "c-12", "clerk", DESTINATION)
        for params in ({"person_id": PERSON_ID}, {"person_id_ending": PERSON_ID[-4:]},
                       {"person_name": PERSON_ID}):
            assert httpx.get(f"{api}/api/v1/cases", headers=clerk,
                             params=params).status_code in (200, 422)
    finally:
        log.removeHandler(keep)
        log.setLevel(level)
    assert len(lines) == 3 and all("/api/v1/cases?" in line for line in lines)
    assert not [line for line in lines if PERSON_ID in line or PERSON_ID[-4:] in line]
    assert PERSON_ID not in httpx.get(f"{api}/metrics").text


def test_an_unknown_query_parameter_and_a_refused_search_answer_as_problems_in_chinese(
        engine, api):
    """Issue 21: refusals are RFC 9457 problems in the language of Accept-Language, also the
    422 of an unknown query parameter and of ``POST /cases/search``: ``application/problem+json``,
    Chinese title and detail by default naming the input at fault (``details.field``), English
    with ``Accept-Language: en``; the code stays ``invalid_input``."""
    supervisor = bearer(engine, "s-1", "supervisor", DESTINATION)
    r = httpx.get(f"{api}/api/v1/cases", headers=supervisor, params={"person_id": PERSON_ID})
    body = r.json()
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert (body["code"], body["title"], body["details"]["field"]) == (
        "invalid_input", "输入有误", "query.person_id")
    assert body["detail"] == "此地址不接受查询参数person_id。" and PERSON_ID not in r.text
    url = f"{api}/api/v1/cases/search"
    r = httpx.post(url, headers=supervisor, json={"person_id_ending": "02X"})
    body = r.json()
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert (body["code"], body["details"]["field"]) == ("invalid_input", "person_id_ending")
    assert body["detail"] == "「身份证号」应为身份证号码的全号或末4至18位（数字，最后一位可为X）。"
    r = httpx.post(url, headers={**supervisor, "Accept-Language": "en"},
                   json={"person_id_ending": "02X"})
    assert r.headers["content-language"] == "en" and r.json()["title"] == "Invalid input"
    assert r.json()["detail"].startswith("The ID number is neither a whole ID number")
    assert "02X" not in r.text


def test_a_second_running_transfer_of_the_same_person_is_409_naming_the_running_case(engine, api):
    """Seed 000: a person's pension relationship moves to one new place at a time: POST /cases
    for a person whose pension transfer is running is 409 ``transfer_already_running``,
    naming the running case by its public number, state and agencies (never the ID number),
    and writes nothing; the same person's medical case opens."""
    employer = bearer(engine, "hr-7", "employer")
    first = httpx.post(f"{api}/api/v1/cases", headers=employer, json=application()).json()
    details = refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases", headers=employer, json=application(origin="110000")),
        409, "transfer_already_running")
    assert details == {"insurance": "pension", "public_number": first["public_number"],
                       "state": "applied", "origin": ORIGIN, "destination": DESTINATION}
    medical = application(definition="medical_transfer", origin_scheme="urban_employee",
                          destination_scheme="urban_employee",
                          documents=full_documents("medical_transfer"))
    assert httpx.post(f"{api}/api/v1/cases", headers=employer, json=medical).status_code == 201
