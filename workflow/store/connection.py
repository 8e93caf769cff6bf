"""The database connection: URLs, SQLite pragmas, PostgreSQL timeouts, typed storage faults."""

from __future__ import annotations

import os
import select
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.pool import ConnectionPoolEntry

from ..errors import InvalidInput, StorageBusy, StorageUnavailable, TransferAlreadyRunning
from .tables import on_postgresql

DEFAULT_URL = "sqlite:///sstransfer.db"
#: The connections a process keeps open to its database (``[database] pool_size``).
POOL_SIZE = 10
URL_ENV = "SSTRANSFER_DATABASE_URL"


def in_province(column: sa.ColumnElement[str], province: str) -> sa.ColumnElement[bool]:
    """An agency code of ``province`` (its 2 digits): a range of 6-digit codes, no LIKE
    pattern, so that nothing a caller gives is read as a wildcard. A province that is not two
    ASCII digits is refused, never widened."""
    if not (isinstance(province, str) and len(province) == 2 and province.isascii()
            and province.isdigit()):
        raise InvalidInput(f"a province is the 2-digit start of its division codes, "
                           f"not {province!r}")
    return column.between(f"{province}0000", f"{province}9999")


def insert_ignoring_duplicates(conn: sa.Connection, table: sa.Table) -> sa.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql
        return postgresql.insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite
    return sqlite.insert(table).on_conflict_do_nothing()



def database_url(url: str | None) -> str:
    return url or os.environ.get(URL_ENV) or DEFAULT_URL


def sqlite_file(url: str | None) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    try:
        parsed = sa.engine.make_url(database_url(url))
    except sa.exc.ArgumentError as exc:
        raise InvalidInput(f"database URL {database_url(url)!r} is not usable: {exc}") from None
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" \
            or name.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return Path(name)


def connect(url: str | None = None, *, echo: bool = False, lock_timeout: float = 10,
            statement_timeout: float = 300, pool_size: int = POOL_SIZE) -> SAEngine:
    """An SQLAlchemy engine whose storage faults are typed errors (:func:`storage_error`).

    SQLite files run in WAL mode and wait ``lock_timeout`` seconds for another writer. PostgreSQL
    waits at most ``lock_timeout`` for a lock and ``statement_timeout`` for a statement (0: no
    limit), and compiles no statement to machine code (``jit = off``). A pooled PostgreSQL
    connection is not pinged before use (a round trip per checkout): one the server has closed
    (a restart, ``pg_terminate_backend``, an idle timeout) has its socket readable, which is
    checked without a round trip, and is replaced by a new one before the call uses it;
    connections older than ``POOL_RECYCLE_SECONDS`` are replaced too, before a firewall's or
    proxy's idle limit could cut them unseen. A connection that dies between that check and a
    transaction's first statement is replaced once more by the store's transaction
    (:class:`workflow.store.fast.FastPath`): nothing had been sent on it.

    The pool keeps ``pool_size`` connections and opens no more: a caller that finds them all
    busy waits for one, at most ``lock_timeout`` (then ``StorageBusy``). SQLAlchemy's default
    overflow opened up to ten more and closed each when it came back, so under load a
    PostgreSQL backend was started for a quarter of the API's requests.
    """
    url = database_url(url)
    try:
        parsed = sa.engine.make_url(url)
        dialect: Any = parsed.get_dialect()  # its pool: SQLite's in-memory one is not queued
        pooled = issubclass(dialect.get_pool_class(parsed), sa.pool.QueuePool)
        # hide_parameters: echo=True and SQLAlchemy's errors show statements, never their
        # values (a case's values hold ID numbers), as the fast path does.
        db = sa.create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=False,
                              pool_recycle=POOL_RECYCLE_SECONDS,
                              **({"poolclass": _Pool, "pool_size": pool_size, "max_overflow": 0,
                                  "pool_timeout": lock_timeout} if pooled else {}))
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise InvalidInput(f"database URL {url!r} is not usable: {exc}") from None
    db.update_execution_options(sstransfer_lock_timeout=lock_timeout)
    if db.dialect.name == "sqlite":
        @event.listens_for(db, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # pragma: no branch
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    elif db.dialect.name == "postgresql":
        on_postgresql()

        @event.listens_for(db, "connect")
        def _timeouts(dbapi_conn: Any, _record: Any) -> None:  # pragma: no branch
            autocommit, dbapi_conn.autocommit = dbapi_conn.autocommit, True
            with dbapi_conn.cursor() as cur:  # session settings, kept across transactions
                # jit off: sstransfer's statements are short, and compiling them cost more
                # than it saved (270 ms of a 540 ms scan statement at 5 million cases).
                cur.execute(f"SET lock_timeout = {int(lock_timeout * 1000)}; "
                            f"SET statement_timeout = {int(statement_timeout * 1000)}; "
                            "SET jit = off")
            dbapi_conn.autocommit = autocommit

        @event.listens_for(db, "checkout")
        def _alive(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:  # pragma: no branch
            if closed_by_server(dbapi_conn):  # the pool opens a new one and checks it again
                raise sa.exc.DisconnectionError("the server closed this pooled connection")

    @event.listens_for(db, "handle_error")
    def _typed(context: sa.engine.ExceptionContext) -> None:  # pragma: no branch
        typed = storage_error(context.original_exception, lock_timeout)
        if typed is not None:
            raise typed from context.original_exception
    return db


#: A pooled connection older than this is closed and replaced at its next checkout.
POOL_RECYCLE_SECONDS = 1800


class _Pool(sa.pool.QueuePool):
    """SQLAlchemy's queue pool, whose caller that waited past the timeout for a connection
    (every one busy) gets ``StorageBusy`` saying so, whatever the call (a step, a read)."""

    def _do_get(self) -> ConnectionPoolEntry:
        try:
            return super()._do_get()
        except sa.exc.TimeoutError:
            raise StorageBusy(
                f"all {self.size()} database connections of this process stayed busy for "
                f"more than {self.timeout():g} s; nothing was written: try again (or raise "
                "[database] pool_size)") from None


def closed_by_server(dbapi_conn: Any) -> bool:
    """Whether a psycopg connection waiting in the pool is dead: closed, or its socket
    readable. An idle connection is sent nothing (sstransfer does not LISTEN), so anything to
    read is the server's goodbye (the FATAL message of a terminated backend, or end of file).
    A system call, no round trip to the server."""
    if getattr(dbapi_conn, "closed", True):
        return True
    try:
        fd = dbapi_conn.pgconn.socket
    except Exception:  # the connection is no longer usable at all
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    readable, _, failed = select.select([fd], [], [fd], 0)  # pragma: no cover - Windows
    return bool(readable or failed)


# SQLite result codes (the primary code, the low byte of sqlite_errorcode).
_SQLITE_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_UNAVAILABLE = {
    13: "the database disk is full: free some space and try again",
    8: "the database is read-only: give this process write access to the file and its folder",
    14: "the database file cannot be opened: check that its folder exists and is writable",
    10: "the database file could not be written (disk I/O error: the disk or the process's "
        "file size limit may be full): free some space or check the disk and try again",
    3: "the database file is not accessible: check its permissions",
    23: "the database file is not accessible: check its permissions",
}


#: The unique index of the running cases of a person and insurance (migration 0012).
RUNNING_INDEX = "ux_case_running_person"


def _running_twice(exc: BaseException) -> bool:
    """Whether the driver error is the database refusing a second running transfer of one
    insurance for one person (its unique index of running cases). The message is not kept:
    PostgreSQL's details quote the key, an ID number."""
    if getattr(exc, "sqlite_errorcode", None) == 2067:  # SQLITE_CONSTRAINT_UNIQUE
        return "transfer_case.person_id, transfer_case.insurance" in str(exc)
    diag = getattr(exc, "diag", None)
    return (getattr(exc, "sqlstate", None) == "23505"
            and getattr(diag, "constraint_name", None) == RUNNING_INDEX)


def storage_error(exc: BaseException, lock_timeout: float = 10) -> Exception | None:
    """The typed error for a driver exception that is a storage fault, else None.

    ``StorageBusy`` when the database stayed locked past the timeout; ``StorageUnavailable``
    when it cannot be written or reached (disk full, read-only, server away). The messages
    say what to do; the call that met them wrote nothing (its transaction rolled back).
    """
    exc = getattr(exc, "orig", None) or exc
    if _running_twice(exc):
        return TransferAlreadyRunning(None)
    busy = (f"the database stayed locked by another writer for more than {lock_timeout:g} s; "
            "nothing was written: try again (or raise lock_timeout_seconds)")
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        if code & 0xFF in _SQLITE_BUSY:
            return StorageBusy(busy)
        what = _SQLITE_UNAVAILABLE.get(code & 0xFF)
        return StorageUnavailable(f"{what}; nothing was written") if what else None
    if type(exc).__module__.split(".")[0] != "psycopg":
        return None
    state = getattr(exc, "sqlstate", None) or ""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if state == "55P03":
        return StorageBusy(busy)
    if state == "57014":
        return StorageBusy(f"a database statement ran longer than statement_timeout_seconds "
                           f"({first}); nothing was written: try again later")
    if state in ("40P01", "40001"):
        return StorageBusy(f"the database gave up a conflicting transaction ({first}); nothing "
                           "was written: try again")
    if state == "25006":
        return StorageUnavailable("the database is read-only (default_transaction_read_only or "
                                  "a standby server); nothing was written: point sstransfer at "
                                  "the primary")
    if state.startswith(("08", "53", "57P")) or (not state and "OperationalError" in
                                                     type(exc).__name__):
        return StorageUnavailable(f"the database server is not available ({first}); nothing "
                                  "was written: check that it is running and reachable, then "
                                  "try again")
    return None


