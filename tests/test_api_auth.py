"""Who may call the API and read what: tokens, identity tokens (JWT), scopes, the access log.

Over HTTP against a running uvicorn server, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests import test_api
from tests.conftest import DESTINATION, ORIGIN, OTHER_PERSON_ID, PERSON_ID, RECEIVED, open_case
from tests.test_api import bearer, refused_over_http
from workflow import Actor, InvalidInput
from workflow.settings import Settings
from workflow.testing import valid_person_id

ELSEWHERE = "110105"
# The API tests' fixtures: one server per module and database, each test on empty tables.
served, engine, api = test_api.served, test_api.engine, test_api.api


def test_the_access_log_is_read_only_by_supervisors_of_the_case_s_agency_or_province(engine, api):
    """A clerk may not read the access log (403); the destination's supervisor, and a supervisor
    granted its province, see who read the case; a supervisor of an unrelated agency sees none
    of it."""
    case = open_case(engine)
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    httpx.get(f"{api}/api/v1/cases/{case.id}", headers=clerk)
    log = f"{api}/api/v1/access-log"
    refused_over_http(engine, lambda: httpx.get(log, headers=clerk), 403, "not_permitted")
    for supervisor in (bearer(engine, "s-1", "supervisor", DESTINATION),
                       bearer(engine, "s-44", "supervisor", province="44")):
        r = httpx.get(log, headers=supervisor, params={"case_id": case.id})
        assert r.status_code == 200, r.text
        assert [(e["actor_id"], e["view"], e["via"], e["case_id"]) for e in r.json()] == [
            ("c-12", "case", "api", case.id)]
    elsewhere = bearer(engine, "s-2", "supervisor", ELSEWHERE)
    assert httpx.get(log, headers=elsewhere).json() == []
    r = httpx.get(log, headers=elsewhere, params={"since": "2026-01-01T00:00:00"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"


def test_a_revoked_token_is_refused_from_then_on(engine, api):
    """A token works until it is revoked; then the same request is 401."""
    case = open_case(engine)
    token, record = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{api}/api/v1/cases/{case.id}", headers=headers).status_code == 200
    engine.access_service.revoke_token(record.id)
    refused_over_http(engine, lambda: httpx.get(f"{api}/api/v1/cases/{case.id}", headers=headers),
                      401, "not_authenticated")


def test_a_person_reads_and_acts_on_their_own_case_only(engine, api):
    """A ``self`` token (the person's ID number) opens, reads and lists their own case, may not
    read another person's, and a supervisor may read but not fire."""
    person = bearer(engine, "p-1", "self", person_id=PERSON_ID)
    r = httpx.post(f"{api}/api/v1/cases", headers=person, json={
        "definition": "pension_transfer", "person_id": PERSON_ID, "person_name": "张三",
        "origin": ORIGIN, "destination": DESTINATION, "channel": "online",
        "documents": ["application_form", "identity_authentication", "payment_voucher",
                      "endowment_manual", "employment_certificate"],
        "on": RECEIVED.isoformat()})
    assert r.status_code == 201, r.text
    own = r.json()["id"]
    assert r.json()["applicant"] == "self"
    other = open_case(engine, person_id=OTHER_PERSON_ID)
    assert httpx.get(f"{api}/api/v1/cases/{own}/history", headers=person).status_code == 200
    refused_over_http(engine, lambda: httpx.get(f"{api}/api/v1/cases/{other.id}", headers=person),
                      404, "case_not_found")
    listed = httpx.get(f"{api}/api/v1/cases", headers=person).json()["items"]
    assert [c["id"] for c in listed] == [own]
    boss = bearer(engine, "s-1", "supervisor", DESTINATION)
    assert httpx.get(f"{api}/api/v1/cases/{own}", headers=boss).status_code == 200
    details = refused_over_http(engine, lambda: httpx.post(
        f"{api}/api/v1/cases/{own}/fire", headers=boss, json={"trigger": "review"}),
        403, "not_permitted")
    assert details["may_act"] == [{"role": "destination_clerk", "agency": DESTINATION}]


def test_a_clerk_of_another_agency_may_neither_fire_nor_attach(engine, api):
    """Steps and documents on a case of other agencies are refused as on a case that does
    not exist (404), writing nothing but the denied attempt in the access log."""
    case = open_case(engine)
    stranger = bearer(engine, "c-99", "clerk", ELSEWHERE)
    base = f"{api}/api/v1/cases/{case.id}"
    refused_over_http(engine, lambda: httpx.post(f"{base}/fire", headers=stranger,
                                                 json={"trigger": "review"}), 404, "case_not_found")
    refused_over_http(engine, lambda: httpx.post(f"{base}/documents", headers=stranger,
                                                 json={"documents": ["id_card"]}),
                      404, "case_not_found")
    denied = [(e.actor_id, e.view) for e in engine.access_service.store.access_log(limit=10)]
    assert denied == [("c-99", "attach (denied)"), ("c-99", "step (denied)")]


def test_a_supervisor_corrects_a_business_date_and_a_clerk_may_not(engine, api):
    """The destination's supervisor corrects the date of the last step; the clerk's try is 403
    naming the supervisors of either agency."""
    case = open_case(engine)
    engine.fire(case.id, "review", actor=Actor("c-12", "destination_clerk", DESTINATION),
                on=dt.date(2025, 10, 9))
    url = f"{api}/api/v1/cases/{case.id}/business-date"
    body = {"new_date": "2025-10-08", "reason": "keyed in a day late"}
    clerk = bearer(engine, "c-12", "clerk", DESTINATION)
    details = refused_over_http(engine, lambda: httpx.post(url, headers=clerk, json=body),
                                403, "not_permitted")
    assert details["may_act"] == [{"role": "supervisor", "agency": ORIGIN},
                                  {"role": "supervisor", "agency": DESTINATION}]
    r = httpx.post(url, headers=bearer(engine, "s-1", "supervisor", DESTINATION), json=body)
    assert r.status_code == 200 and r.json()["last_event_on"] == "2025-10-08", r.text


def test_a_province_supervisor_lists_and_reads_the_alerts_of_their_province_only(engine, api):
    """A supervisor granted province 44 lists the cases to or from 44xxxx and the alerts owned
    there, not those of Beijing; naming an agency outside the province is 403."""
    south = open_case(engine)
    north = open_case(engine, origin=ORIGIN, destination=ELSEWHERE,
                      person_id=valid_person_id(seed=45))  # another person
    engine.scan(dt.date(2025, 11, 3))
    province = bearer(engine, "s-44", "supervisor", province="44")
    listed = httpx.get(f"{api}/api/v1/cases", headers=province).json()["items"]
    assert [c["id"] for c in listed] == [south.id]
    alerts = httpx.get(f"{api}/api/v1/alerts", headers=province).json()
    assert alerts and {a["case_id"] for a in alerts} == {south.id}
    assert httpx.get(f"{api}/api/v1/alerts", headers=province,
                     params={"agency": DESTINATION}).json() == alerts
    refused_over_http(engine, lambda: httpx.get(f"{api}/api/v1/alerts", headers=province,
                                                params={"agency": ELSEWHERE}),
                      403, "not_permitted")
    origin_boss = bearer(engine, "s-31", "supervisor", ORIGIN)
    listed = httpx.get(f"{api}/api/v1/cases", headers=origin_boss).json()["items"]
    assert [c["id"] for c in listed] == [south.id, north.id]


# --- identity tokens of the agency's identity provider (JWT) ----------------------------------
@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """The identity provider's RSA key pair, and a key it does not hold."""
    def pair():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key, key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    (private, public), (stranger, _) = pair(), pair()
    path = tmp_path_factory.mktemp("idp") / "idp.pem"
    path.write_bytes(public)
    return private, stranger, path


@pytest.fixture
def jwt_engine(engine, keys):
    """The module's engine, trusting identity tokens signed by the provider's key."""
    service = engine.access_service
    saved = service.settings
    service.settings = Settings(jwt_key_file=keys[2], jwt_audience="sstransfer",
                                jwt_issuer="https://idp.example.gov.cn")
    service._jwt_key = None
    yield engine
    service.settings, service._jwt_key = saved, None


def identity_token(key, *, expires_in: int = 300, **claims) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    payload = {"sub": "c-77", "role": "clerk", "agency": DESTINATION, "aud": "sstransfer",
               "iss": "https://idp.example.gov.cn", "iat": now,
               "exp": now + dt.timedelta(seconds=expires_in), **claims}
    return {"Authorization": f"Bearer {jwt.encode(payload, key, algorithm='RS256')}"}


def test_a_valid_identity_token_acts_as_its_subject_and_role(jwt_engine, api, keys):
    """A JWT signed by the configured key: its sub, role and agency are the actor of the step."""
    case = open_case(jwt_engine)
    r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", headers=identity_token(keys[0]),
                   json={"trigger": "review"})
    assert r.status_code == 200, r.text
    last = jwt_engine.history(case.id)[-1]
    assert (last.actor_id, last.actor_role, last.actor_agency) == (
        "c-77", "destination_clerk", DESTINATION)


@pytest.mark.parametrize("which", ["expired", "wrong key", "wrong audience", "self role"])
def test_an_expired_or_foreign_identity_token_is_refused_with_401(jwt_engine, api, keys, which):
    """Expired, signed by another key, for another audience, or claiming the person's own role:
    401 ``not_authenticated``, nothing written."""
    private, stranger, _ = keys
    headers = {"expired": lambda: identity_token(private, expires_in=-60),
               "wrong key": lambda: identity_token(stranger),
               "wrong audience": lambda: identity_token(private, aud="someone-else"),
               "self role": lambda: identity_token(private, role="self", agency=None)}[which]()
    case = open_case(jwt_engine)
    refused_over_http(jwt_engine, lambda: httpx.get(f"{api}/api/v1/cases/{case.id}",
                                                    headers=headers), 401, "not_authenticated")


@pytest.mark.parametrize(("claims", "why"), [
    ({"role": "supervisor", "agency": None}, "a supervisor with neither agency nor province"),
    ({"role": "supervisor", "agency": None, "province": "4"}, "a province of one digit"),
    ({"role": "supervisor", "agency": None, "province": "%"}, "a LIKE wildcard as province"),
    ({"role": "supervisor", "agency": None, "province": ""}, "an empty province"),
    ({"role": "supervisor", "agency": None, "province": ["44"]}, "a list as province"),
    ({"role": "clerk", "agency": ["440300"]}, "a list as agency"),
    ({"role": "clerk", "agency": None}, "a clerk without an agency"),
    ({"role": "clerk", "province": "44"}, "a clerk granted a province"),
    ({"role": ["clerk"]}, "a list as role"),
    ({"sub": 77}, "a number as sub"),
])
def test_identity_token_claims_are_checked_as_strictly_as_api_tokens(jwt_engine, api, keys,
                                                                      claims, why):
    """Claims that would widen what a token may read (no agency, a one-digit or wildcard
    province) or are of the wrong type are refused with 401, never read as "everything"
    (and never a 500)."""
    case = open_case(jwt_engine)
    headers = identity_token(keys[0], **claims)
    for path in (f"/api/v1/cases/{case.id}", "/api/v1/alerts", "/api/v1/cases"):
        r = httpx.get(f"{api}{path}", headers=headers)
        assert r.status_code == 401, (why, path, r.status_code, r.text[:200])
        assert r.json()["code"] == "not_authenticated"


def test_a_province_is_never_read_as_a_pattern_by_the_store(engine):
    """Below every check, the store itself refuses a province that is not two digits rather
    than reading "%" or "4" as a prefix of every agency."""
    from workflow.core.queries import CaseQuery

    open_case(engine)
    for bad in ("%", "4", "", "4_"):
        with pytest.raises(InvalidInput, match="2-digit"):
            engine.case_service.store.cases(CaseQuery(province=bad))
