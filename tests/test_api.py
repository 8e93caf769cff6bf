"""The REST API, driven over HTTP against a running uvicorn server on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import DESTINATION, PERSON_ID, full_documents, open_case
from tests.live import running
from workflow.api import create_app


@pytest.fixture
def api(engine):
    with running(create_app(engine)) as url:
        yield url


def _token(engine, actor, role, agency=None, **kw) -> dict[str, str]:
    token, _ = engine.access_service.create_token(actor, role, agency, **kw)
    return {"Authorization": f"Bearer {token}"}


def test_a_request_without_a_valid_token_is_refused_with_401_and_writes_nothing(engine, api):
    case = open_case(engine)
    for headers in ({}, {"Authorization": "Bearer not-a-token-at-all"}):
        r = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    assert engine.access_service.store.access_log(limit=10) == []


def test_the_actor_comes_from_the_token_and_a_clerk_of_another_agency_may_not_read(engine, api):
    case = open_case(engine)
    mine = _token(engine, "c-12", "clerk", DESTINATION)
    r = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=mine)
    assert r.status_code == 200 and r.json()["id"] == case.id
    assert PERSON_ID not in r.text and r.headers["ETag"] == f'"{case.id}-{case.version}"'
    other = _token(engine, "c-99", "clerk", "110105")
    r = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=other)
    assert r.status_code == 403 and r.json()["code"] == "not_permitted"


def test_firing_a_step_as_the_token_s_clerk_moves_the_case_and_a_stale_etag_is_409(engine, api):
    case = open_case(engine, documents=full_documents("pension_transfer"))
    clerk = _token(engine, "c-12", "clerk", DESTINATION)
    etag = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=clerk).headers["ETag"]
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", headers={**clerk, "If-Match": etag},
                   json={"trigger": "review"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "reviewed"
    assert engine.history(case.id)[-1].actor_id == "c-12"
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", headers={**clerk, "If-Match": etag},
                   json={"trigger": "send_letter"})
    assert r.status_code == 409 and r.json()["code"] == "concurrent_update"
