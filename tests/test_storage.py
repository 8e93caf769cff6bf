"""Storage faults are typed errors that say what to do, and a faulted call writes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from conftest import DEST_CLERK, DESTINATION, fresh_database, open_case, snapshot
from sqlalchemy import event
from test_production import application

from workflow import Engine, Settings, StorageBusy, StorageUnavailable

D = dt.date
FIRE = ["fire", "1", "review", "--actor", "c-12", "--role", "destination_clerk",
        "--agency", DESTINATION, "--on", "2025-10-09"]


def cli(db_url, *args, settings=None, preexec_fn=None):
    """``sstransfer --db URL ARGS`` in a new process (``settings``: its TOML settings file)."""
    env = {k: v for k, v in os.environ.items() if k != "SSTRANSFER_SETTINGS"}
    if settings is not None:
        env["SSTRANSFER_SETTINGS"] = str(settings)
    return subprocess.run([sys.executable, "-m", "workflow.cli", "--db", db_url, *args],
                          capture_output=True, text=True, env=env, preexec_fn=preexec_fn,
                          timeout=120)


def assert_one_line_error(done, *words):
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    for word in words:
        assert word in lines[0]


def _hold_the_write_lock(url, ready):
    """Another program holding the case table's write lock and never letting go."""
    if url.startswith("sqlite"):
        import sqlite3

        con = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        con = psycopg.connect(url.replace("+psycopg", ""))
        con.execute("LOCK TABLE transfer_case IN EXCLUSIVE MODE")
    ready.set()
    time.sleep(600)  # killed long before


def test_a_database_locked_past_the_lock_timeout_is_refused_as_busy_in_one_line(
        db_url, tmp_path):
    """Another process holds the lock: `fire` waits lock_timeout_seconds (1 s here), then
    prints one line saying the database stayed locked; on PostgreSQL a shorter
    statement_timeout ends the wait the same way; nothing is written."""
    with Engine(db_url) as engine:
        open_case(engine)
        before = snapshot(engine)
    settings = tmp_path / "s.toml"
    settings.write_text("[database]\nlock_timeout_seconds = 1\n", encoding="utf-8")
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_the_write_lock, args=(db_url, ready))
    holder.start()
    try:
        assert ready.wait(60)
        started = time.monotonic()
        done = cli(db_url, *FIRE, settings=settings)
        took = time.monotonic() - started
        with Engine(db_url, settings=Settings(lock_timeout_seconds=1)) as engine, \
                pytest.raises(StorageBusy, match="locked by another writer for more than 1 s"):
            engine.fire(1, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
        if not db_url.startswith("sqlite"):  # PostgreSQL: statement_timeout bounds it too
            with Engine(db_url, settings=Settings(lock_timeout_seconds=30,
                                                  statement_timeout_seconds=0.5)) as engine, \
                    pytest.raises(StorageBusy, match="longer than statement_timeout_seconds"):
                engine.fire(1, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
    assert_one_line_error(done, "locked", "try again")
    assert took < 30
    with Engine(db_url) as engine:
        assert snapshot(engine) == before


def read_only(db_url):
    if db_url.startswith("sqlite"):
        return "sqlite:///file:" + db_url.removeprefix("sqlite:///") + "?mode=ro&uri=true"
    return db_url + "?options=-c%20default_transaction_read_only%3Don"


def test_a_read_only_database_is_refused_in_one_line_saying_so(db_url):
    """A step on a read-only database is refused in one line saying it is read-only and nothing
    was written, and the database is as it was."""
    with Engine(db_url) as engine:
        open_case(engine)
        before = snapshot(engine)
    done = cli(read_only(db_url), *FIRE)
    assert_one_line_error(done, "read-only", "nothing was written")
    with Engine(db_url) as engine:
        assert snapshot(engine) == before


def test_a_full_sqlite_database_is_refused_as_unavailable_and_nothing_is_written(tmp_path):
    """SQLite reports the disk full (here: the file at its page limit); the batch is refused
    whole with a message saying to free space."""
    with Engine(fresh_database("sqlite", tmp_path)) as engine:
        @event.listens_for(engine.db, "connect")
        def _no_room(dbapi_conn, _record):
            pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")
        engine.db.dispose()
        before = snapshot(engine)
        with pytest.raises(StorageUnavailable, match="disk is full: free some space"):
            engine.open_cases([application(n) for n in range(300)], actor=DEST_CLERK)
        assert snapshot(engine) == before


def test_a_bulk_import_killed_by_the_file_size_limit_prints_one_line_and_writes_nothing(
        tmp_path):
    """`sstransfer import` in a process whose file size limit the database outgrows."""
    url = fresh_database("sqlite", tmp_path)
    with Engine(url) as engine:
        before = snapshot(engine)
    path = tmp_path / "applications.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["definition", "person_id", "person_name", "origin", "destination",
                      "applicant", "channel", "documents", "received_on"])
        for n in range(2000):
            a = application(n)
            out.writerow([a["definition"], a["person_id"], a["person_name"], a["origin"],
                          a["destination"], a["applicant"], a["channel"],
                          ";".join(a["documents"]), "2025-09-26"])
    size = os.path.getsize(tmp_path / "cases.db")

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    done = cli(url, "import", str(path), "--actor", "c-12", "--role", "destination_clerk",
               "--agency", DESTINATION, preexec_fn=small_disk)
    assert_one_line_error(done, "free some space")
    with Engine(url) as engine:
        assert snapshot(engine) == before


def test_after_a_postgresql_restart_the_first_call_succeeds(tmp_path):
    """Every server process of the engine's pooled connections is terminated (what a restart
    does to them): the next call reconnects instead of failing with AdminShutdown."""
    url = fresh_database("postgresql", tmp_path)
    with Engine(url) as engine:
        case = open_case(engine)
        with engine.db.connect() as conn:  # two pooled connections
            with engine.db.connect() as other:
                other.execute(sa.text("SELECT 1"))
            conn.execute(sa.text("SELECT 1"))
        killer = sa.create_engine(url)
        with killer.begin() as conn:
            # With a timeout pg_terminate_backend waits until each process has ended, as after a
            # restart; without it the signal may still be on its way when the engine checks.
            killed = conn.scalar(sa.text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
                "FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        killer.dispose()
        assert killed >= 1
        assert engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9)).state == \
            "reviewed"


def test_a_connection_that_dies_after_its_checkout_is_replaced_once_for_the_first_statement(
        tmp_path, monkeypatch):
    """The checkout's check sees nothing wrong (the server closes the connection just after
    it): the step's first statement meets the dead connection, which is replaced once, and
    the step is written once. A connection that dies again is not retried a second time: the
    call fails with StorageUnavailable and writes nothing."""
    from workflow.store import connection

    url = fresh_database("postgresql", tmp_path)
    with Engine(url) as engine:
        case = open_case(engine)
        monkeypatch.setattr(connection, "closed_by_server", lambda _conn: False)
        killer = sa.create_engine(url)

        def kill_all() -> int:
            with killer.begin() as conn:
                return int(conn.scalar(sa.text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
                    "FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")))

        with engine.db.connect() as conn:  # one pooled connection
            conn.execute(sa.text("SELECT 1"))
        assert kill_all() == 1
        reviewed = engine.fire(case.id, "review", actor=DEST_CLERK, on=D(2025, 10, 9))
        assert reviewed.state == "reviewed" and reviewed.version == case.version + 1
        assert [s.trigger for s in engine.history(case.id)].count("review") == 1

        # Every connection the pool gives is dead: the one retry meets a dead one too.
        before = snapshot(engine)

        @event.listens_for(engine.db, "checkout")
        def _killed(dbapi_conn, _record, _proxy):
            with killer.begin() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 10000)"),
                             {"pid": dbapi_conn.info.backend_pid})

        with pytest.raises(StorageUnavailable, match="server is not available"):
            engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=D(2025, 10, 10))
        event.remove(engine.db, "checkout", _killed)
        killer.dispose()
        assert snapshot(engine) == before


def test_the_lock_and_statement_timeouts_come_from_the_database_table_of_the_settings(tmp_path):
    """lock_timeout_seconds and statement_timeout_seconds are read from the [database] table of the
    settings file; a key that belongs elsewhere or a timeout of 0 is refused naming it."""
    from workflow import SettingsError

    path = tmp_path / "sstransfer.toml"
    path.write_text("[database]\nlock_timeout_seconds = 2.5\nstatement_timeout_seconds = 60\n",
                    encoding="utf-8")
    s = Settings.load(path)
    assert (s.lock_timeout_seconds, s.statement_timeout_seconds) == (2.5, 60)
    path.write_text("[database]\nlease_seconds = 5\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\[database\] lease_seconds: unknown key"):
        Settings.load(path)
    path.write_text("[database]\nlock_timeout_seconds = 0\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\[database\] lock_timeout_seconds"):
        Settings.load(path)


def test_a_postgresql_session_has_the_settings_timeouts_and_compiles_no_statement(tmp_path):
    """Every pooled PostgreSQL connection runs with the settings' lock and statement timeouts
    and with ``jit = off`` (compiling a short statement cost more than it saved)."""
    url = fresh_database("postgresql", tmp_path)
    settings = Settings(lock_timeout_seconds=2.5, statement_timeout_seconds=60)
    with Engine(url, settings=settings) as engine, engine.db.connect() as conn:
        shown = {name: conn.exec_driver_sql(f"SHOW {name}").scalar()
                 for name in ("lock_timeout", "statement_timeout", "jit")}
    assert shown == {"lock_timeout": "2500ms", "statement_timeout": "1min", "jit": "off"}


def test_the_pool_keeps_pool_size_connections_and_opens_no_more_under_load(db_url, schema_copy):
    """Eight threads stepping at once on an engine whose ``[database] pool_size`` is 3 open
    at most three connections and keep them: a caller that finds them all busy waits for one
    instead of opening (and, when it is done, closing) one of its own. SQLAlchemy's default
    overflow did that, and under load a PostgreSQL backend was started for a quarter of the
    API's requests."""
    import threading

    with Engine(schema_copy(db_url), settings=Settings(pool_size=3)) as engine:
        cases = [open_case(engine).id for _ in range(16)]
        opened: list[object] = []

        def connected(dbapi_conn: object, _record: object) -> None:
            opened.append(dbapi_conn)

        event.listen(engine.db, "connect", connected)
        kept = engine.db.pool.checkedin()  # type: ignore[attr-defined]
        start = threading.Barrier(8)

        def clerk(mine: list[int]) -> None:
            start.wait()
            for case_id in mine:
                engine.attach_documents(case_id, ["id_card"], actor=DEST_CLERK)

        threads = [threading.Thread(target=clerk, args=(cases[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        event.remove(engine.db, "connect", connected)
        assert kept + len(opened) <= 3
        assert engine.db.pool.checkedin() == kept + len(opened)  # type: ignore[attr-defined]
        assert all(engine.get(c).version == 2 for c in cases)


def test_a_call_that_finds_every_pooled_connection_busy_past_the_lock_timeout_is_busy(
        db_url, schema_copy):
    """A step or a read waits for one of the pool's connections at most
    ``lock_timeout_seconds``, then is refused with ``StorageBusy`` saying so; the step
    writes nothing."""
    settings = Settings(pool_size=1, lock_timeout_seconds=0.3)
    with Engine(schema_copy(db_url), settings=settings) as engine:
        case = open_case(engine)
        before = snapshot(engine)
        held = engine.db.raw_connection()  # the pool's only connection, busy elsewhere
        try:
            with pytest.raises(StorageBusy, match=r"all 1 database connections of this "
                                                  r"process stayed busy for more than 0.3 s"):
                engine.attach_documents(case.id, ["id_card"], actor=DEST_CLERK)
            with pytest.raises(StorageBusy, match=r"raise \[database\] pool_size"):
                engine.history(case.id)
        finally:
            held.close()
        assert snapshot(engine) == before
        assert engine.attach_documents(case.id, ["id_card"], actor=DEST_CLERK).version == 2
