"""Tables (SQLModel) and the database connection; the only module that knows SQL."""

from __future__ import annotations

import datetime as dt
import os

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine as SAEngine
from sqlmodel import Field, SQLModel

from .errors import InvalidInput, SchemaMismatch

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
    __tablename__ = "alert_delivery"
    alert_id: int = Field(foreign_key="alert.id", primary_key=True)
    subscriber: str = Field(primary_key=True)
    delivered_at: dt.datetime = Field(sa_column=_ts())


class LeaseRecord(SQLModel, table=True):
    """Who may run a scheduled job now; a crashed holder's lease simply expires."""

    __tablename__ = "scheduler_lease"
    job: str = Field(primary_key=True)
    holder: str
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
        finally:
            cursor.close()


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


def database_url(url: str | None) -> str:
    return url or os.environ.get(URL_ENV) or DEFAULT_URL


def connect(url: str | None = None, *, echo: bool = False) -> SAEngine:
    """An SQLAlchemy engine; SQLite files run in WAL mode with a busy timeout."""
    url = database_url(url)
    try:
        db = sa.create_engine(url, echo=echo)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise InvalidInput(f"database URL {url!r} is not usable: {exc}") from None
    if db.dialect.name == "sqlite":
        @event.listens_for(db, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no branch
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    return db


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


def upgrade(db: SAEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the code's)."""
    from alembic import command

    with db.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def ensure_schema(db: SAEngine, *, auto_upgrade: bool | None = None) -> None:
    """Create the schema in an empty database; refuse one at another revision.

    ``auto_upgrade`` (default: on for SQLite files) upgrades an older schema instead.
    """
    current, head = current_revision(db), head_revision()
    if current == head:
        return
    from alembic.script import ScriptDirectory

    known = {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}
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
