"""Tables (SQLModel) and the database connection; the only module that knows SQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine as SAEngine
from sqlmodel import Field, SQLModel

from .errors import InvalidInput, LeaseLost, SchemaMismatch

DEFAULT_URL = "sqlite:///sstransfer.db"
URL_ENV = "SSTRANSFER_DATABASE_URL"
UTC = dt.UTC


class AwareDateTime(sa.TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("timestamps must be timezone-aware")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _ts() -> sa.Column:
    return sa.Column(AwareDateTime(), nullable=False)


def _generation() -> sa.Column:
    return sa.Column(sa.Integer(), nullable=False, server_default="0")


def _json() -> sa.Column:
    return sa.Column(sa.JSON(), nullable=False)


class DefinitionRecord(SQLModel, table=True):
    """Each definition version cases may run on, with the text it was loaded from."""

    __tablename__ = "workflow_definition"
    name: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    content_hash: str
    source: str
    registered_at: dt.datetime = Field(sa_column=_ts())


class CaseRecord(SQLModel, table=True):
    __tablename__ = "transfer_case"
    __table_args__ = (
        # Cases by state, and newly continued cases for the different-place advisory.
        sa.Index("ix_case_insurance_state_last", "insurance", "state", "last_event_on"),
        sa.Index("ix_case_state", "state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    definition_name: str
    definition_version: int
    insurance: str
    state: str
    version: int
    person_id: str = Field(index=True)
    person_name: str
    origin: str = Field(index=True)
    destination: str = Field(index=True)
    scope: str
    applicant: str
    # Who applied: the actor id of the employer, agent or person who opened the case (None
    # when a clerk opened it for them). A ``self`` applicant is known by ``person_id``.
    applicant_id: str | None = None
    channel: str
    #: Medical insurance since 2021: the scheme at each end (urban_employee, urban_rural_resident).
    origin_scheme: str | None = None
    destination_scheme: str | None = None
    documents: list = Field(sa_column=_json())
    requested_documents: list = Field(sa_column=_json())
    opened_on: dt.date
    last_event_on: dt.date
    amount_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    contribution_months: int | None = None
    created_at: dt.datetime = Field(sa_column=_ts())
    updated_at: dt.datetime = Field(sa_column=_ts())


class HistoryRecord(SQLModel, table=True):
    __tablename__ = "case_history"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_history_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="transfer_case.id")
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    actor_agency: str | None
    business_date: dt.date
    recorded_at: dt.datetime = Field(sa_column=_ts())
    documents: list = Field(sa_column=_json())
    comment: str | None = None
    inputs: dict = Field(sa_column=_json())


class SpanRecord(SQLModel, table=True):
    __tablename__ = "span"
    __table_args__ = (
        # The overdue scan reads running spans by due date only.
        sa.Index("ix_span_running_due", "due_on",
                 sqlite_where=sa.text("ended_on IS NULL"),
                 postgresql_where=sa.text("ended_on IS NULL")),
        # On-time rates of spans closed in a period.
        sa.Index("ix_span_ended_on", "ended_on"),
        # The scan judges a span with a committed limit by its committed due date.
        sa.Index("ix_span_running_committed", "committed_due_on",
                 sqlite_where=sa.text("ended_on IS NULL"),
                 postgresql_where=sa.text("ended_on IS NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="transfer_case.id", index=True)
    name: str
    owner: str
    owner_agency: str
    limit_working_days: int | None = None
    limit_months: int | None = None
    started_on: dt.date
    due_on: dt.date  # the statutory due date
    ended_on: dt.date | None = None
    provisional: bool
    #: The agency's own shorter limit (承诺时限), where one applies, and its due date.
    committed_limit_working_days: int | None = None
    committed_due_on: dt.date | None = None
    #: How the due date was found, when a rule moved it (e.g. Civil Code art. 203).
    due_note: str | None = None
    #: The calendar schedules of the years the span's counting window touches, as computed.
    calendar_fingerprint: str | None = None


class IdempotencyRecord(SQLModel, table=True):
    """The first result of a call made with an idempotency key."""

    __tablename__ = "idempotency_key"
    key: str = Field(primary_key=True)
    case_id: int = Field(foreign_key="transfer_case.id")
    request_hash: str
    result: dict = Field(sa_column=_json())
    created_at: dt.datetime = Field(sa_column=_ts())


class SpanChangeRecord(SQLModel, table=True):
    """A due date recomputed when its year's official schedule became known."""

    __tablename__ = "span_change"
    id: int | None = Field(default=None, primary_key=True)
    span_id: int = Field(foreign_key="span.id", index=True)
    old_due_on: dt.date
    new_due_on: dt.date
    old_provisional: bool
    new_provisional: bool
    old_committed_due_on: dt.date | None = None
    new_committed_due_on: dt.date | None = None
    changed_at: dt.datetime = Field(sa_column=_ts())
    reason: str


class AlertRecord(SQLModel, table=True):
    """An alert; ``key`` makes each (span, level) or advisory exist at most once."""

    __tablename__ = "alert"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    level: str = Field(index=True)
    case_id: int = Field(foreign_key="transfer_case.id", index=True)
    span_id: int | None = Field(default=None, foreign_key="span.id")
    subject: str
    owner: str
    owner_agency: str = Field(index=True)
    due_on: dt.date | None = None
    working_days_late: int | None = None
    provisional: bool = False
    as_of: dt.date
    raised_at: dt.datetime = Field(sa_column=_ts())
    run_id: int | None = Field(default=None, index=True)


class AlertSubscriberRecord(SQLModel, table=True):
    """A named alert callback; it is sent every alert after ``since_alert_id``."""

    __tablename__ = "alert_subscriber"
    name: str = Field(primary_key=True)
    since_alert_id: int
    registered_at: dt.datetime = Field(sa_column=_ts())


class AlertDeliveryRecord(SQLModel, table=True):
    """An alert claimed for a subscriber by the scan of lease ``generation``; delivered once
    ``delivered_at`` is set. A claim left undelivered by an older generation is taken again."""

    __tablename__ = "alert_delivery"
    alert_id: int = Field(foreign_key="alert.id", primary_key=True)
    subscriber: str = Field(primary_key=True)
    generation: int = Field(default=0, sa_column=_generation())
    delivered_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(AwareDateTime(), nullable=True))


class LeaseRecord(SQLModel, table=True):
    """Who may run a scheduled job now; a crashed holder's lease simply expires.

    ``generation`` grows with every take: a run's writes check it (the fence), so a holder
    whose lease was taken over stops instead of writing on.
    """

    __tablename__ = "scheduler_lease"
    job: str = Field(primary_key=True)
    holder: str
    generation: int = Field(default=0, sa_column=_generation())
    expires_at: dt.datetime = Field(sa_column=_ts())


class RunRecord(SQLModel, table=True):
    __tablename__ = "scheduler_run"
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(index=True)
    as_of: dt.date
    holder: str
    started_at: dt.datetime = Field(sa_column=_ts())
    finished_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(AwareDateTime(), nullable=True))
    status: str
    detail: str = ""


TABLES = [t.__table__ for t in (
    DefinitionRecord, CaseRecord, HistoryRecord, SpanRecord, SpanChangeRecord, AlertRecord,
    AlertSubscriberRecord, AlertDeliveryRecord, LeaseRecord, RunRecord, IdempotencyRecord)]
cases_t, history_t, spans_t, definitions_t = (
    CaseRecord.__table__, HistoryRecord.__table__, SpanRecord.__table__, DefinitionRecord.__table__
)
span_changes_t, alerts_t, subscribers_t, deliveries_t, leases_t, runs_t, idempotency_t = (
    SpanChangeRecord.__table__, AlertRecord.__table__, AlertSubscriberRecord.__table__,
    AlertDeliveryRecord.__table__, LeaseRecord.__table__, RunRecord.__table__,
    IdempotencyRecord.__table__,
)


class Prepared:
    """A write statement compiled once per dialect and set of columns, run on the DBAPI cursor
    of a SQLAlchemy connection (inside its transaction), with SQLAlchemy's own bind processing.

    The transition hot path uses it to skip SQLAlchemy's per-call execution overhead.
    """

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple, tuple] = {}

    def _compile(self, dialect: sa.Dialect, keys: tuple[str, ...]) -> tuple:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
        processors = {}
        for name, bind in compiled.binds.items():
            proc = bind.type._cached_bind_processor(dialect)
            if proc is not None:
                processors[compiled.bind_names.get(bind, name)] = proc
        order = compiled.positiontup if compiled.positional else None
        return str(compiled), processors, order

    def run(self, conn: sa.Connection, values: dict) -> int:
        """Execute with ``values``; returns the row count."""
        return self.run_many(conn, [values])

    def _params(self, conn: sa.Connection, rows: list[dict]) -> tuple[str, list]:
        """The SQL for these rows' keys and the rows' parameters, bind-processed."""
        dialect = conn.dialect
        key = (dialect.name, tuple(sorted(rows[0])))
        entry = self._compiled.get(key)
        if entry is None:
            entry = self._compiled[key] = self._compile(dialect, tuple(rows[0]))
        sql, processors, order = entry
        keys = list(order) if order is not None else list(rows[0])
        if len(rows) == 1:  # one step of one case: nothing to share
            values = rows[0]
            row = [processors[k](values[k]) if k in processors else values[k] for k in keys]
            return sql, [row if order is not None else dict(zip(keys, row, strict=True))]
        # Rows share dates, timestamps and document lists: process each distinct value once.
        processed = [(i, processors[k], {}) for i, k in enumerate(keys) if k in processors]
        params = []
        for values in rows:
            row = [values[k] for k in keys]
            for i, proc, memo in processed:
                v = row[i]
                key = tuple(v) if type(v) is list else v
                try:
                    row[i] = memo[key]
                except KeyError:
                    row[i] = memo[key] = proc(v)
                except TypeError:  # unhashable (a dict)
                    row[i] = proc(v)
            params.append(row)
        if order is None:
            params = [dict(zip(keys, p, strict=True)) for p in params]
        return sql, params

    def run_many(self, conn: sa.Connection, rows: list[dict]) -> int:
        """Execute once per row (all rows have the same keys); returns the row count."""
        sql, params = self._params(conn, rows)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            if len(params) == 1:
                cursor.execute(sql, params[0])
            else:
                cursor.executemany(sql, params)
            return cursor.rowcount
        except conn.dialect.loaded_dbapi.Error as exc:
            _raise_typed(conn, exc)
            raise
        finally:
            cursor.close()

    def insert_ids(self, conn: sa.Connection, rows: list[dict]) -> list[int]:
        """Insert the rows (an ``INSERT ... RETURNING id``); their new ids, in order."""
        sql, params = self._params(conn, rows)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            if conn.dialect.name == "postgresql":
                cursor.executemany(sql, params, returning=True)
                ids = []
                while True:
                    ids.append(cursor.fetchone()[0])
                    if not cursor.nextset():
                        return ids
            # SQLite: the first row takes the write lock; while it is held, each new row gets
            # the largest rowid plus one, so the rest follow on. Checked, not assumed.
            cursor.execute(sql, params[0])
            first = cursor.fetchone()[0]
            plain = sql.rsplit(" RETURNING ", 1)[0]
            if len(params) > 1:
                cursor.executemany(plain, params[1:])
            last = cursor.execute(f"SELECT max(rowid) FROM {self.statement.table.name}").fetchone()[0]
            if last != first + len(params) - 1:
                raise RuntimeError("rowids were not assigned in sequence; nothing was kept")
            return list(range(first, last + 1))
        except conn.dialect.loaded_dbapi.Error as exc:
            _raise_typed(conn, exc)
            raise
        finally:
            cursor.close()


def _raise_typed(conn: sa.Connection, exc: Exception) -> None:
    """Raise the typed error of a driver exception met outside SQLAlchemy's execution."""
    typed = storage_error(exc, conn.get_execution_options().get("sstransfer_lock_timeout", 10))
    if typed is not None:
        raise typed from exc


def insert_ignoring_duplicates(conn: sa.Connection, table: sa.Table) -> sa.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


_PREPARED_IGNORING: dict[tuple[str, str], Prepared] = {}


def prepared_insert_ignoring_duplicates(conn: sa.Connection, table: sa.Table) -> Prepared:
    key = (conn.dialect.name, table.name)
    if key not in _PREPARED_IGNORING:
        _PREPARED_IGNORING[key] = Prepared(insert_ignoring_duplicates(conn, table))
    return _PREPARED_IGNORING[key]


# --- leases of scheduled jobs, fenced by their generation -----------------------------------

@dataclasses.dataclass(frozen=True)
class Lease:
    """A take of a job's lease: ``generation`` fences every write of the run made under it."""

    job: str
    holder: str
    generation: int


def take_lease(conn: sa.Connection, job: str, holder: str,
               seconds: float) -> tuple[Lease | None, list[Any]]:
    """Take ``job``'s lease if it is free or has expired; with it, the runs it abandons.

    A run still ``running`` when its job's lease can be taken belongs to a holder that was
    killed or stopped renewing: it is marked ``abandoned``.
    """
    stamp = now()
    conn.execute(insert_ignoring_duplicates(conn, leases_t).values(
        job=job, holder="", generation=0, expires_at=stamp - dt.timedelta(seconds=1)))
    generation = conn.execute(
        sa.update(leases_t).where(leases_t.c.job == job, leases_t.c.expires_at < stamp)
        .values(holder=holder, generation=leases_t.c.generation + 1,
                expires_at=stamp + dt.timedelta(seconds=seconds))
        .returning(leases_t.c.generation)).scalar()
    if generation is None:
        return None, []
    abandoned = conn.execute(
        sa.update(runs_t).where(runs_t.c.job == job, runs_t.c.status == "running")
        .values(status="abandoned", finished_at=stamp,
                detail="its instance stopped renewing the lease (killed or stalled)")
        .returning(runs_t.c.id, runs_t.c.holder)).all()
    return Lease(job, holder, generation), abandoned


# Built once (building SQLAlchemy statements costs more than running them): the delivery loop
# runs them twice per alert.
_HELD = sa.update(leases_t).where(leases_t.c.job == sa.bindparam("_job"),
                                  leases_t.c.holder == sa.bindparam("_holder"),
                                  leases_t.c.generation == sa.bindparam("_generation"))
_FENCE = _HELD.values(holder=leases_t.c.holder)
_SET_EXPIRY = _HELD.values(expires_at=sa.bindparam("_expires_at"))


def _held(lease: Lease, **values: Any) -> dict[str, Any]:
    return {"_job": lease.job, "_holder": lease.holder, "_generation": lease.generation,
            **values}


def renew_lease(conn: sa.Connection, lease: Lease, seconds: float) -> bool:
    """Extend a held lease by ``seconds`` from now; False if it was taken over."""
    expires_at = now() + dt.timedelta(seconds=seconds)
    return conn.execute(_SET_EXPIRY, _held(lease, _expires_at=expires_at)).rowcount == 1


def fence(conn: sa.Connection, lease: Lease) -> None:
    """Check, first in a write transaction, that ``lease`` is still held; else LeaseLost.

    The check is a write on the lease row, so it holds that row (PostgreSQL) or the write
    lock (SQLite) until the transaction ends: no takeover can slip in before the commit.
    """
    if conn.execute(_FENCE, _held(lease)).rowcount != 1:
        raise LeaseLost(f"the {lease.job} lease was taken over by another instance; "
                        "this run stopped")


def release_lease(conn: sa.Connection, lease: Lease) -> None:
    conn.execute(_SET_EXPIRY, _held(lease, _expires_at=now()))


def lease_expiry(conn: sa.Connection, job: str) -> dt.datetime | None:
    return conn.scalar(sa.select(leases_t.c.expires_at).where(leases_t.c.job == job))


def start_run(conn: sa.Connection, lease: Lease, as_of: dt.date) -> int:
    fence(conn, lease)
    return conn.execute(sa.insert(runs_t).values(
        job=lease.job, as_of=as_of, holder=lease.holder, started_at=now(),
        status="running")).inserted_primary_key[0]


def finish_run(conn: sa.Connection, lease: Lease, run_id: int, status: str, detail: str) -> None:
    fence(conn, lease)
    conn.execute(sa.update(runs_t).where(runs_t.c.id == run_id).values(
        status=status, detail=detail[:2000], finished_at=now()))


# --- alert deliveries: claimed before the callback, recorded after ---------------------------

def undelivered(subscriber: str, generation: int) -> sa.ColumnElement[bool]:
    """Alerts ``subscriber`` has not had, nor claimed under this lease generation."""
    return ~sa.select(deliveries_t.c.alert_id).where(
        deliveries_t.c.alert_id == alerts_t.c.id, deliveries_t.c.subscriber == subscriber,
        sa.or_(deliveries_t.c.delivered_at.is_not(None),
               deliveries_t.c.generation >= generation)).exists()


def claim_delivery(conn: sa.Connection, lease: Lease, alert_id: int, subscriber: str) -> bool:
    """Claim an alert for a subscriber before calling it: True if this run may deliver it.

    A claim an older generation left undelivered (its holder was killed) is taken over.
    """
    fence(conn, lease)
    claim = _CLAIM.get(conn.dialect.name)
    if claim is None:
        claim = _CLAIM[conn.dialect.name] = _claim_statement(conn)
    return conn.execute(claim, {"alert_id": alert_id, "subscriber": subscriber,
                                "generation": lease.generation}).first() is not None


_CLAIM: dict[str, sa.Insert] = {}


def _claim_statement(conn: sa.Connection) -> sa.Insert:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    claim = insert(deliveries_t).values(alert_id=sa.bindparam("alert_id"),
                                        subscriber=sa.bindparam("subscriber"),
                                        generation=sa.bindparam("generation"), delivered_at=None)
    return claim.on_conflict_do_update(
        index_elements=[deliveries_t.c.alert_id, deliveries_t.c.subscriber],
        set_={"generation": claim.excluded.generation},
        where=deliveries_t.c.delivered_at.is_(None)
        & (deliveries_t.c.generation < claim.excluded.generation),
    ).returning(deliveries_t.c.alert_id)


_CLAIMED = sa.and_(deliveries_t.c.alert_id == sa.bindparam("_alert"),
                   deliveries_t.c.subscriber == sa.bindparam("_subscriber"),
                   deliveries_t.c.generation == sa.bindparam("_generation"))
_RECORD = sa.update(deliveries_t).where(_CLAIMED).values(delivered_at=sa.bindparam("_at"))
_DROP = sa.delete(deliveries_t).where(_CLAIMED, deliveries_t.c.delivered_at.is_(None))


def record_delivery(conn: sa.Connection, lease: Lease, alert_id: int, subscriber: str) -> None:
    fence(conn, lease)
    conn.execute(_RECORD, {"_alert": alert_id, "_subscriber": subscriber,
                           "_generation": lease.generation, "_at": now()})


def drop_claim(conn: sa.Connection, lease: Lease, alert_id: int, subscriber: str) -> None:
    """Give a claim back after its callback failed: the next scan tries it again."""
    fence(conn, lease)
    conn.execute(_DROP, {"_alert": alert_id, "_subscriber": subscriber,
                         "_generation": lease.generation})


def claim_idempotency_key(conn: sa.Connection, key: str, case_id: int, request_hash: str,
                          stamp: dt.datetime) -> Any | None:
    """Claim an idempotency key in this transaction; the row of the call that used it first.

    The insert waits while another transaction holds the same key (PostgreSQL's unique index,
    SQLite's write lock), so a concurrent duplicate sees the first call's committed result
    instead of deciding again. Returns None when the key is ours (or the case does not exist:
    nothing was claimed, the caller's own lookup refuses it).
    """
    claim = insert_ignoring_duplicates(conn, idempotency_t).from_select(
        ["key", "case_id", "request_hash", "result", "created_at"],
        sa.select(sa.literal(key), cases_t.c.id, sa.literal(request_hash),
                  sa.literal({}, sa.JSON()), sa.literal(stamp, AwareDateTime()))
        .where(cases_t.c.id == case_id)).returning(idempotency_t.c.key)
    if conn.execute(claim).first() is not None:
        return None
    return conn.execute(sa.select(idempotency_t).where(idempotency_t.c.key == key)).first()


def record_idempotent_result(conn: sa.Connection, key: str, result: dict) -> None:
    """Store the result of the call that claimed ``key`` (in the claiming transaction)."""
    conn.execute(sa.update(idempotency_t).where(idempotency_t.c.key == key).values(result=result))


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
            statement_timeout: float = 300) -> SAEngine:
    """An SQLAlchemy engine whose storage faults are typed errors (:func:`storage_error`).

    SQLite files run in WAL mode and wait ``lock_timeout`` seconds for another writer.
    PostgreSQL waits at most ``lock_timeout`` for a lock and ``statement_timeout`` for a
    statement (0: no limit), and checks a pooled connection before use, so the first call
    after a server restart does not fail.
    """
    url = database_url(url)
    try:
        db = sa.create_engine(url, echo=echo, pool_pre_ping=not url.startswith("sqlite"))
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise InvalidInput(f"database URL {url!r} is not usable: {exc}") from None
    db.update_execution_options(sstransfer_lock_timeout=lock_timeout)
    if db.dialect.name == "sqlite":
        @event.listens_for(db, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no branch
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    elif db.dialect.name == "postgresql":
        @event.listens_for(db, "connect")
        def _timeouts(dbapi_conn, _record):  # pragma: no branch
            autocommit, dbapi_conn.autocommit = dbapi_conn.autocommit, True
            with dbapi_conn.cursor() as cur:  # a session setting, kept across transactions
                cur.execute(f"SET lock_timeout = {int(lock_timeout * 1000)}")
                cur.execute(f"SET statement_timeout = {int(statement_timeout * 1000)}")
            dbapi_conn.autocommit = autocommit

    @event.listens_for(db, "handle_error")
    def _typed(context):  # pragma: no branch
        if context.is_pre_ping:  # a dead pooled connection: the pool replaces it
            return
        typed = storage_error(context.original_exception, lock_timeout)
        if typed is not None:
            raise typed from context.original_exception
    return db


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


def storage_error(exc: BaseException, lock_timeout: float = 10) -> Exception | None:
    """The typed error for a driver exception that is a storage fault, else None.

    ``StorageBusy`` when the database stayed locked past the timeout; ``StorageUnavailable``
    when it cannot be written or reached (disk full, read-only, server away). The messages
    say what to do; the call that met them wrote nothing (its transaction rolled back).
    """
    from .errors import StorageBusy, StorageUnavailable

    exc = getattr(exc, "orig", None) or exc
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


# --- schema migrations (Alembic, shipped in workflow/migrations) -----------------------------

def _alembic_config(conn: sa.Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "workflow:migrations")
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(db: SAEngine) -> str | None:
    """The schema revision the database is at; None for a database without our tables."""
    with db.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        if "alembic_version" in names:
            return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    if "transfer_case" in names:
        raise SchemaMismatch(
            "the database has sstransfer tables but no schema revision (made by a development "
            "build before migrations): recreate it")
    return None


_SCHEMA_LOCK = 0x5573_7472  # PostgreSQL advisory lock taken while the schema is changed


def upgrade(db: SAEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the code's), all or nothing."""
    from alembic import command
    from alembic.util import CommandError

    check_revision(revision)
    try:
        with db.connect() as conn:
            if conn.dialect.name == "sqlite":
                # pysqlite runs DDL outside any transaction unless the connection manages it, so
                # a killed start left half a schema: take the write lock and run it all in one.
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            with conn.begin():
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:  # one creator at a time; the others then find the schema made
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
                command.upgrade(_alembic_config(conn), revision)
    except CommandError as exc:  # e.g. a target older than the database
        raise InvalidInput(f"cannot upgrade the schema to {revision!r}: {exc}") from None


def check_revision(revision: str) -> None:
    """Refuse a schema revision this sstransfer does not ship (before touching a database)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        if revision.strip():
            ScriptDirectory.from_config(_alembic_config()).get_revisions(revision)
            return
    except CommandError:
        pass
    raise InvalidInput(f"no schema revision {revision!r}: give `head` or one of "
                       f"{', '.join(sorted(_known_revisions()))}")


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def ensure_schema(db: SAEngine, *, auto_upgrade: bool | None = None) -> None:
    """Create the schema in an empty database; refuse one at another revision.

    ``auto_upgrade`` (default: on for SQLite files) upgrades an older schema instead.
    """
    current, head = current_revision(db), head_revision()
    if current == head:
        return
    known = _known_revisions()
    if current is not None and current not in known:
        raise SchemaMismatch(
            f"the database schema is at revision {current}, newer than this sstransfer "
            f"({head}): upgrade the sstransfer package")
    if current is None or (auto_upgrade if auto_upgrade is not None
                           else db.dialect.name == "sqlite"):
        upgrade(db)
        return
    raise SchemaMismatch(
        f"the database schema is at revision {current} but this sstransfer needs {head}: "
        f"run `sstransfer --db URL db upgrade`")


def now() -> dt.datetime:
    return dt.datetime.now(UTC)
