"""The API's request path: the principal cache and its revocation bound, one pooled connection
per fire request, and a pooled connection the server closed replaced before it is used.

On SQLite and PostgreSQL (the dead connection on PostgreSQL only: SQLite has no server)."""

from __future__ import annotations

import time

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tests.conftest import DESTINATION, RECEIVED, fresh_database, open_case
from tests.live import running
from workflow import Engine
from workflow.api import create_app
from workflow.errors import CaseNotFound, NotAuthenticated
from workflow.services.access import AccessService
from workflow.settings import Settings
from workflow.store.connection import closed_by_server


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(db_url):
    with Engine(db_url) as engine:
        yield engine


def other_process(engine: Engine, clock: Clock, seconds: float = 5) -> AccessService:
    """The access service of another server process on the same database (its own cache)."""
    return AccessService(engine.store.access, Settings(token_cache_seconds=seconds), clock=clock)


def test_a_token_revoked_by_another_process_is_refused_once_the_cache_bound_has_passed(engine):
    """A worker keeps a token's principal ``token_cache_seconds`` (5 s): a revocation made
    elsewhere is not seen before the bound (the kept principal spares the query) and is
    refused from the bound on."""
    clock = Clock()
    worker = other_process(engine, clock)
    token, record = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    assert worker.authenticate(token).actor_id == "c-12"
    engine.access_service.revoke_token(record.id)
    clock.now += 4.9
    assert worker.authenticate(token).actor_id == "c-12"
    clock.now += 0.1
    with pytest.raises(NotAuthenticated):
        worker.authenticate(token)
    clock.now += 0.1  # and it stays refused: a refusal is not kept as a principal
    with pytest.raises(NotAuthenticated):
        worker.authenticate(token)


def test_a_token_revoked_in_the_same_process_is_refused_at_once(engine):
    """The process that revokes a token drops its kept principal: the next request with it is
    refused, whatever the bound."""
    token, record = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    assert engine.authenticate(token).actor_id == "c-12"
    engine.access_service.revoke_token(record.id)
    with pytest.raises(NotAuthenticated):
        engine.authenticate(token)


def test_with_token_cache_seconds_0_every_request_looks_the_token_up(engine):
    """``token_cache_seconds = 0`` keeps nothing: a revocation made elsewhere is refused on the
    very next request."""
    worker = other_process(engine, Clock(), seconds=0)
    token, record = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    assert worker.authenticate(token).actor_id == "c-12"
    assert worker.kept_principal(token) is None
    engine.access_service.revoke_token(record.id)
    with pytest.raises(NotAuthenticated):
        worker.authenticate(token)


def test_signing_in_to_the_dashboard_looks_the_token_up_whatever_is_kept(engine):
    """A dashboard session lasts hours, so signing in never trusts a kept principal: a token
    revoked elsewhere opens no session even within the cache's bound."""
    worker = other_process(engine, Clock())
    token, record = engine.access_service.create_token("s-1", "supervisor", DESTINATION)
    worker.authenticate(token)
    engine.access_service.revoke_token(record.id)
    with pytest.raises(NotAuthenticated):
        worker.open_session(token)


def test_a_revoked_token_is_refused_over_http_by_another_server_after_the_bound(db_url):
    """Two servers on one database, the second keeping principals 0.3 s: once the first revokes
    a token, the second still answers it within the bound at most, and 401 after it."""
    settings = Settings(token_cache_seconds=0.3)
    with Engine(db_url) as first, Engine(db_url, settings=settings) as second, \
            running(create_app(second)) as api:
        case = open_case(first)
        token, record = first.access_service.create_token("c-12", "clerk", DESTINATION)
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{api}/api/v1/cases/{case.id}", headers=headers).status_code == 200
        first.access_service.revoke_token(record.id)
        revoked = time.monotonic()
        time.sleep(0.35)
        r = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=headers)
        assert time.monotonic() - revoked >= 0.3
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"


def test_a_fire_request_with_a_kept_token_is_one_connection_checkout(engine):
    """Authentication (kept), the scoped read and the step of ``POST .../fire`` share one
    transaction: the request takes one connection from the pool, where it took three."""
    case = open_case(engine)
    token, _ = engine.access_service.create_token("c-12", "clerk", DESTINATION)
    headers = {"Authorization": f"Bearer {token}"}
    checkouts = []
    event.listen(engine.db, "checkout", lambda *_: checkouts.append(1))
    with running(create_app(engine)) as api:
        r = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=headers)  # the token kept
        assert r.status_code == 200
        checkouts.clear()
        r = httpx.post(f"{api}/api/v1/cases/{case.id}/fire", headers=headers,
                       json={"trigger": "review", "on": RECEIVED.isoformat()})
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "reviewed" and len(checkouts) == 1


def test_a_step_on_a_case_one_may_not_read_is_404_and_logged_whatever_its_inputs(engine):
    """The scope is checked on the step's own read before the step's inputs: a clerk of an
    unrelated agency sending a business date years ahead or documents as one string gets
    404 as for a missing case (not 422), and each attempt is in the access log."""
    case = open_case(engine)
    stranger = engine.desk(engine.authenticate(
        engine.access_service.create_token("c-99", "clerk", "110105")[0]))
    for kwargs in ({"on": RECEIVED.replace(year=RECEIVED.year + 5)},
                   {"documents": "id_card"}):
        with pytest.raises(CaseNotFound):
            stranger.fire(case.id, "review", **kwargs)
    assert engine.get(case.id).version == case.version
    log = [(e.actor_id, e.view) for e in engine.access_service.store.access_log(limit=10)]
    assert log == [("c-99", "step (denied)")] * 2


@pytest.fixture
def postgres_url(tmp_path):
    return fresh_database("postgresql", tmp_path)


def test_a_pooled_connection_whose_server_backend_was_terminated_is_replaced_before_use(
        postgres_url):
    """No ping per checkout: a pooled connection the server closed (``pg_terminate_backend``,
    as a restart does) is seen closed at checkout without a round trip and replaced, and the
    next request succeeds on a new connection."""
    with Engine(postgres_url) as engine, running(create_app(engine)) as api:
        assert engine.db.pool._pre_ping is False  # type: ignore[attr-defined]
        case = open_case(engine)
        headers = {"Authorization": "Bearer "
                   + engine.access_service.create_token("c-12", "clerk", DESTINATION)[0]}
        assert httpx.get(f"{api}/api/v1/cases/{case.id}", headers=headers).status_code == 200
        engine.db.pool.dispose()  # one connection in the pool, the one to kill
        with engine.db.connect() as conn:
            victim = conn.scalar(sa.text("SELECT pg_backend_pid()"))
            pooled = conn.connection.dbapi_connection
        assert engine.db.pool.checkedin() == 1 and not closed_by_server(pooled)
        admin = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            assert conn.scalar(sa.text("SELECT pg_terminate_backend(:p)"), {"p": victim})
            deadline = time.monotonic() + 10
            while conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                              {"p": victim}) and time.monotonic() < deadline:
                time.sleep(0.02)
        admin.dispose()
        deadline = time.monotonic() + 5  # the server's goodbye reaches the socket
        while not closed_by_server(pooled) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert closed_by_server(pooled)
        connects = []
        event.listen(engine.db, "connect", lambda *_: connects.append(1))
        r = httpx.get(f"{api}/api/v1/cases/{case.id}", headers=headers)
        assert r.status_code == 200, r.text
        assert connects == [1]  # the dead connection was replaced, not used
        with engine.db.connect() as conn:
            assert conn.scalar(sa.text("SELECT pg_backend_pid()")) != victim
