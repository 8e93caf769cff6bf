"""``sstransfer serve`` and ``sstransfer tokens`` as an operator runs them: real processes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import DESTINATION, open_case, sqlite_only
from workflow import Engine
from workflow.store import TABLES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(db_url: str, cwd: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``sstransfer --db URL serve --port N [args]``; wait until it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSTRANSFER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workflow.cli", "--db", db_url, "serve", "--port", str(port),
         *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)  # a group of its own, as a terminal gives it
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out = proc.communicate()[0].decode(errors="replace")
            raise AssertionError(f"sstransfer serve did not start:\n{out}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as in a terminal: SIGINT to the server's process group; then nothing of the
    group is left running (a worker still starting when the signal came is killed, or it
    would keep the output pipe open and the test run waiting)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def workers_of(pid: int) -> list[int]:
    """The worker processes uvicorn spawned under ``pid`` (Linux /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text and b"spawn_main" in cmdline:
            found.append(int(status.parent.name))
    return found


def created_token(run) -> dict:
    """``sstransfer tokens create`` for the destination's clerk, as JSON."""
    done = run("tokens", "create", "--actor", "c-12", "--role", "clerk", "--agency", DESTINATION,
               "--department", "pension", "--json")
    return json.loads(done.stdout)


def check_service(url: str, token: str, case_id: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    r = httpx.get(f"{url}/api/v1/cases/{case_id}", headers=headers)
    assert r.status_code == 200 and r.json()["id"] == case_id, r.text
    r = httpx.post(f"{url}/api/v1/cases/{case_id}/fire", headers=headers,
                   json={"trigger": "review"})
    assert r.status_code == 200 and r.json()["state"] == "reviewed", r.text
    assert httpx.get(f"{url}/api/v1/cases/{case_id}").status_code == 401


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_serve_answers_a_token_made_by_tokens_create(db_url, run, tmp_path):
    """``sstransfer --db URL serve --port N`` serves the API; a token printed by
    ``sstransfer tokens create`` reads a case and fires a step as its clerk. (On PostgreSQL;
    the two-worker test below serves a SQLite file: each start costs seconds.)"""
    with Engine(db_url) as engine:
        case_id = open_case(engine).id
    token = created_token(run)["token"]
    # PostgreSQL on loopback trusts the user: the password is there to be hidden.
    with_password = db_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    proc, url = serve(with_password, tmp_path)
    try:
        check_service(url, token, case_id)
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    finally:
        stop(proc)
    with Engine(db_url) as engine:
        assert engine.history(case_id)[-1].actor_id == "c-12"
    said = proc.stdout.read().decode() if proc.stdout else ""
    [line] = [x for x in said.splitlines() if x.startswith("sstransfer serving on")]
    assert f"on {url} (database postgresql+psycopg://postgres:***@" in line
    assert "1 worker;" in line and "s3cret-pw" not in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_with_two_workers_on_a_sqlite_file(db_url, run, tmp_path):
    """``--workers 2`` starts two worker processes, each with its own engine on the same
    SQLite file; the API they serve takes the CLI's token, reads and writes."""
    with Engine(db_url) as engine:
        case_id = open_case(engine).id
    token = created_token(run)["token"]
    proc, url = serve(db_url, tmp_path, "--workers", "2")
    try:
        deadline = time.monotonic() + 30  # the first worker may answer before the second is up
        while len(workers_of(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers_of(proc.pid)) == 2
        check_service(url, token, case_id)
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(6):  # spread over both workers
            assert httpx.get(f"{url}/api/v1/cases/{case_id}/history",
                             headers=headers).status_code == 200
        # Whichever worker answers a scrape, it adds up both workers' requests.
        history = ('sstransfer_http_requests_total{method="GET",'
                   'route="/api/v1/cases/{case_id}/history",status="200"} 6.0')
        for _ in range(4):
            assert history in httpx.get(f"{url}/metrics").text
        assert httpx.get(f"{url}/readyz").json()["status"] == "ready"
    finally:
        stop(proc)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_token_is_printed_once_stored_hashed_and_bad_input_is_one_line(db_url, run):
    """``tokens create`` prints the token once; ``tokens list`` never shows it and the database
    holds only its SHA-256; an unknown role or a clerk without agency is one line on stderr,
    no traceback; a revoked token is listed as revoked and cannot be revoked again. (The
    command line's checks do not depend on the database: SQLite only; the store's side runs
    on both in the API tests.)"""
    done = run("tokens", "create", "--actor", "c-12", "--role", "clerk", "--agency", DESTINATION,
               "--department", "pension", "--label", "counter 3")
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("sst_") and len(token) > 30
    assert done.stdout.count(token) == 1
    run("tokens", "create", "--actor", "c-1", "--role", "janitor", "--agency", DESTINATION,
        ok=False)
    run("tokens", "create", "--actor", "c-1", "--role", "clerk", ok=False)
    run("tokens", "revoke", "1")
    run("tokens", "revoke", "1", ok=False)
    listed = run("tokens", "list", "--json").stdout
    [record] = json.loads(listed)
    assert token not in listed and "token_hash" not in record and record["label"] == "counter 3"
    assert record["revoked_at"] is not None
    with Engine(db_url) as engine, engine.db.connect() as conn:
        stored = repr([conn.execute(sa.select(t)).all() for t in TABLES])
        hashes = conn.execute(sa.text("SELECT token_hash FROM api_token")).scalars().all()
    assert token not in stored
    assert hashes == [hashlib.sha256(token.encode()).hexdigest()]


@sqlite_only  # the proxy settings are the server's, not the database's
def test_serve_believes_forwarded_addresses_only_from_proxies_the_settings_name(db_url, tmp_path):
    """By default a fresh X-Forwarded-For on every try does not make a new client: the
    progress page's per-client limit (20 tries) still answers 429; with the loopback proxy
    named in [api] trusted_proxies, the forwarded address is the client (as behind nginx)."""
    Engine(db_url).close()  # the database serve reads

    def tries(url: str) -> list[int]:
        """22 tries, each from a "new" forwarded address, on a case number of its own."""
        return [httpx.post(f"{url}/progress", data={"case_number": str(100 + i),
                                                    "person_id": "x"},
                           headers={"X-Forwarded-For": f"10.9.0.{i}"}).status_code
                for i in range(1, 23)]

    proc, url = serve(db_url, tmp_path)
    try:
        assert 429 in tries(url)
    finally:
        stop(proc)
    settings = tmp_path / "proxy.toml"
    settings.write_text('[api]\ntrusted_proxies = ["127.0.0.1"]\n', encoding="utf-8")
    proc, url = serve(db_url, tmp_path, "--settings", str(settings))
    try:
        assert 429 not in tries(url)
    finally:
        stop(proc)
