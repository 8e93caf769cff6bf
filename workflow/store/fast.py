"""The step's fast path: its read and writes on the driver's own cursor (issue 22).

A step reads one case and writes four or five small rows, and the papers it issues with
their numbers. SQLAlchemy's execution path (the statement's context, result set-up, the
types' bind processors) costs more than SQLite spends running them, so these few
statements run on the DB-API cursor of the transaction's connection (``sqlite3`` or
``psycopg``), in the same transaction as everything else the step writes through
SQLAlchemy (idempotency keys, contacts). What SQLAlchemy would do for them is done here
explicitly:

- **SQL written once.** Each statement's text is built once per database kind and set of
  columns from the table's own column names; the drivers keep it prepared (``sqlite3``'s
  statement cache per connection, ``psycopg``'s prepared statements after a few runs).
- **Conversions by column type** (:func:`_converters`): dates as ISO text on SQLite,
  timestamps in UTC (naive text with microseconds on SQLite, as SQLAlchemy writes them),
  JSON through ``json.dumps`` (``psycopg``'s ``Json`` on PostgreSQL), booleans as 0/1 on SQLite.
  ``tests/test_store_contract.py`` checks that they equal SQLAlchemy's own bind processors.
- **SQL logging** when the engine was made with ``echo=True``: each statement on the
  engine's own SQLAlchemy logger (the one ``echo`` shows), with the number of rows, never
  the values (a case's values hold ID numbers).
- **Typed storage errors** through :func:`workflow.store.connection.storage_error`, as the
  engine's ``handle_error`` listener maps SQLAlchemy's; any other driver error is raised
  as SQLAlchemy's ``DBAPIError`` subclass (``IntegrityError``, ...), as it would have been.

- **The store's own transaction on the pooled DB-API connection** (:func:`transaction`):
  taken from SQLAlchemy's pool and given back to it (its events, recycling and checks run
  as for any checkout), committed or rolled back here. SQLAlchemy's ``Connection`` costs
  about as much again as the pool's checkout, so it is made only when a statement of the
  transaction needs it (idempotency keys, contacts, corrections), on the same
  DB-API connection and in the same transaction. A host's session (``session=``) keeps its
  own connection and transaction: the fast path only uses its cursor.

Everything else in the storage layer keeps SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import PoolProxiedConnection

from .connection import storage_error

_Convert = Callable[[Any], Any]
#: Writes a statement's SQL from the dialect's parameter mark and its quoting of names.
_Build = Callable[[str, Callable[[str], str]], str]
_UTC = dt.UTC


# --- conversions -----------------------------------------------------------------------------
def _sqlite_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(_UTC)


def _sqlite_stamp(value: dt.datetime | None) -> str | None:
    utc = _utc(value)
    # SQLAlchemy's SQLite DATETIME text: always six digits of microseconds.
    return None if utc is None else utc.replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _sqlite_json(value: Any) -> str:
    if not value and type(value) in (list, dict):  # most steps' requested documents, inputs
        return "[]" if type(value) is list else "{}"
    return json.dumps(value)


def _pg_json(value: Any) -> Any:
    from psycopg.types.json import Json  # PostgreSQL only: never imported on SQLite

    return Json(value)


def _converters(table: sa.Table, dialect: str) -> dict[str, _Convert]:
    """The conversion of each column of ``table`` that needs one, by column name."""
    sqlite = dialect == "sqlite"
    out: dict[str, _Convert] = {}
    for column in table.c:
        kind = column.type
        if isinstance(kind, sa.JSON):
            out[column.name] = _sqlite_json if sqlite else _pg_json
        elif isinstance(kind, sa.TypeDecorator) and isinstance(kind.impl, sa.DateTime):
            out[column.name] = _sqlite_stamp if sqlite else _utc
        elif isinstance(kind, sa.DateTime):  # pragma: no cover - every timestamp is aware
            raise TypeError(f"{table.name}.{column.name}: timestamps are AwareDateTime")
        elif isinstance(kind, sa.Date) and sqlite:
            out[column.name] = _sqlite_date
        elif isinstance(kind, sa.Boolean) and sqlite:
            out[column.name] = _sqlite_flag
    return out


# --- statements ------------------------------------------------------------------------------
class _Dialect:
    """What the statements of one database kind need: the parameter mark, the quoting of
    names, the conversions of each table's columns, and the texts built so far."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self.name = dialect.name
        if dialect.paramstyle not in ("qmark", "format", "pyformat"):  # pragma: no cover
            raise TypeError(f"no fast path for the {dialect.driver} driver's parameters")
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.quote = dialect.identifier_preparer.quote
        self.texts: dict[tuple[Any, ...], str] = {}
        self.conversions: dict[str, dict[str, _Convert]] = {}

    def converters(self, table: sa.Table) -> dict[str, _Convert]:
        found = self.conversions.get(table.name)
        if found is None:
            found = self.conversions[table.name] = _converters(table, self.name)
        return found

    def insert(self, table: sa.Table, columns: tuple[str, ...]) -> str:
        key = ("insert", table.name, columns)
        text = self.texts.get(key)
        if text is None:
            text = self.texts[key] = (
                f"INSERT INTO {self.quote(table.name)} "
                f"({', '.join(self.quote(c) for c in columns)}) "
                f"VALUES ({', '.join([self.mark] * len(columns))})")
        return text

    def update(self, table: sa.Table, columns: tuple[str, ...], where: tuple[str, ...],
               null: tuple[str, ...] = ()) -> str:
        """``UPDATE table SET columns WHERE where = each AND null IS NULL``."""
        key = ("update", table.name, columns, where, null)
        text = self.texts.get(key)
        if text is None:
            text = self.texts[key] = (
                f"UPDATE {self.quote(table.name)} "
                f"SET {', '.join(f'{self.quote(c)} = {self.mark}' for c in columns)} WHERE "
                + " AND ".join([*(f"{self.quote(c)} = {self.mark}" for c in where),
                                *(f"{self.quote(c)} IS NULL" for c in null)]))
        return text

    def select(self, table: sa.Table, columns: tuple[str, ...], where: str) -> str:
        key = ("select", table.name, columns, where)
        text = self.texts.get(key)
        if text is None:
            text = self.texts[key] = (
                f"SELECT {', '.join(self.quote(c) for c in columns)} "
                f"FROM {self.quote(table.name)} WHERE {self.quote(where)} = {self.mark}")
        return text


_DIALECTS: dict[tuple[str, str], _Dialect] = {}


def _dialect(dialect: sa.Dialect) -> _Dialect:
    key = (dialect.name, dialect.driver)
    found = _DIALECTS.get(key)
    if found is None:
        found = _DIALECTS[key] = _Dialect(dialect)
    return found


class FastPath:
    """The driver's cursor of one pooled DB-API connection of ``db``, inside its current
    transaction."""

    def __init__(self, db: sa.Engine, raw: PoolProxiedConnection,
                 reconnect: Callable[[], PoolProxiedConnection] | None = None) -> None:
        self.db, self.raw = db, raw
        self.sql = _dialect(db.dialect)
        self._cursor: Any = None
        # Until a statement has run, a dead connection is replaced once (nothing was sent on
        # it, so nothing is lost): what ``reconnect`` gives (the transaction's own checkout).
        self.reconnect = reconnect
        # SQLAlchemy's own logger of this engine: on with echo=True (or logging's level).
        logger = db.logger
        self._log = logger if logger.isEnabledFor(logging.INFO) else None

    @property
    def cursor(self) -> Any:
        if self._cursor is None:
            self._cursor = self.raw.dbapi_connection.cursor()  # type: ignore[union-attr]
        return self._cursor

    def end(self, word: str) -> None:
        """``COMMIT`` or ``ROLLBACK`` the DB-API connection's transaction."""
        if self._log is not None:
            self._log.info("%s [driver's connection]", word)
        dbapi_conn: Any = self.raw.dbapi_connection
        try:
            if word == "COMMIT":
                dbapi_conn.commit()
            else:
                dbapi_conn.rollback()
        except Exception as exc:
            raise self._error(exc, word, (), False) from exc

    def _execute(self, text: str, params: Sequence[Any] | list[Sequence[Any]],
                 many: bool = False) -> Any:
        if self._log is not None:
            self._log.info("%s [driver's cursor, %s]", text,
                           f"{len(params)} rows" if many else "1 row")
        cursor = self.cursor
        try:
            if many:
                cursor.executemany(text, params)
            else:
                cursor.execute(text, params)
        except Exception as exc:
            if not self._dead(exc):
                raise self._error(exc, text, params, many) from exc
            return self._execute(text, params, many)  # once: ``reconnect`` is now None
        self.reconnect = None
        return cursor

    def _dead(self, exc: Exception) -> bool:
        """Whether the transaction's first statement met a connection the server had closed
        (a restart, an idle timeout, a killed backend: a connection can die between its
        checkout's check and its first statement); if so the connection is invalidated, a
        new one is taken from the pool for the statement, and True is returned (once)."""
        reconnect, self.reconnect = self.reconnect, None
        if reconnect is None or not self.db.dialect.is_disconnect(
                exc, self.raw.dbapi_connection, self._cursor):  # type: ignore[arg-type]
            return False
        self.raw.invalidate(exc)
        self.raw, self._cursor = reconnect(), None
        if self._log is not None:
            self._log.info("the connection was closed by the server: reconnected [%s]",
                           type(exc).__name__)
        return True

    def _error(self, exc: Exception, text: str, params: Any, many: bool) -> BaseException:
        return driver_error(self.db, exc, text, params, many)

    # --- the statements ----------------------------------------------------------------------
    def select_one(self, table: sa.Table, columns: tuple[str, ...], where: str,
                   value: Any) -> tuple[Any, ...] | None:
        """The ``columns`` of the row whose ``where`` column is ``value``, as the driver
        gives them (text for SQLite's dates and JSON), or None."""
        row = self._execute(self.sql.select(table, columns, where), (value,)).fetchone()
        return None if row is None else tuple(row)

    def insert(self, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (all with the same keys, column names) as one executemany."""
        if not rows:
            return
        columns = tuple(rows[0])
        params = self.values(table, columns, rows)
        text = self.sql.insert(table, columns)
        if len(params) == 1:
            self._execute(text, params[0])
        else:
            self._execute(text, params, many=True)

    def insert_one(self, table: sa.Table, row: Mapping[str, Any], returning: str) -> Any:
        """Insert one row; the value of its ``returning`` column (its new id)."""
        columns = tuple(row)
        [params] = self.values(table, columns, [row])
        text = f"{self.sql.insert(table, columns)} RETURNING {self.sql.quote(returning)}"
        [(value,)] = self._execute(text, params).fetchall()  # all: SQLite ends it then
        return value

    def update(self, table: sa.Table, values: Mapping[str, Any], where: Mapping[str, Any],
               null: tuple[str, ...] = ()) -> int:
        """``UPDATE`` the rows matching ``where`` (column = value) and whose ``null``
        columns are NULL; the number of rows changed."""
        columns, keys = tuple(values), tuple(where)
        [params] = self.values(table, columns, [values])
        text = self.sql.update(table, columns, keys, null)
        return int(self._execute(text, (*params, *where.values())).rowcount)

    def copy(self, table: sa.Table, columns: tuple[str, ...], rows: Sequence[Sequence[Any]], *,
             skip_duplicates: bool = False,
             returning: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
        """PostgreSQL: ``rows`` (converted, in ``columns`` order) by ``COPY``: into the table,
        or with ``skip_duplicates`` (``ON CONFLICT DO NOTHING``) or ``returning`` into a
        temporary table dropped at commit, then one ``INSERT ... SELECT``; the new rows'
        ``returning`` columns (none asked: [])."""
        q, cursor = self.sql.quote, self.cursor
        names, target = ", ".join(map(q, columns)), q(table.name)
        staged = skip_duplicates or bool(returning)
        into = q(f"{table.name}_in") if staged else target
        statements = [  # (anew, should a transaction copy twice into one table)
            f"DROP TABLE IF EXISTS pg_temp.{into}",
            f"CREATE TEMPORARY TABLE {into} ON COMMIT DROP AS SELECT {names} FROM {target} "
            "WITH NO DATA"] if staged else []
        copy = f"COPY {into} ({names}) FROM STDIN"
        insert = (f"INSERT INTO {target} ({names}) SELECT {names} FROM {into}"
                  + (" ON CONFLICT DO NOTHING" if skip_duplicates else "")
                  + (f" RETURNING {', '.join(map(q, returning))}" if returning else ""))
        try:
            for text in statements:
                self._execute(text, ())
            if self._log is not None:
                self._log.info("%s [driver's cursor, %d rows]", copy, len(rows))
            with cursor.copy(copy) as out:
                for row in rows:
                    out.write_row(row)
        except Exception as exc:
            raise self._error(exc, copy, (), True) from exc
        if not staged:
            return []
        found = self._execute(insert, ())
        return [tuple(r) for r in found.fetchall()] if returning else []

    def run(self, key: str, build: _Build, table: sa.Table,
            params: Sequence[tuple[str, Any]]) -> int:
        """Run the statement ``build`` writes (once per kind of database, cached by ``key``,
        from the dialect's ``mark`` and ``quote``) with ``params``, each a (column of
        ``table``, value) converted as that column stores it; the number of rows changed."""
        return int(self._run(key, build, table, params).rowcount)

    def run_returning(self, key: str, build: _Build, table: sa.Table,
                      params: Sequence[tuple[str, Any]]) -> tuple[Any, ...]:
        """As :meth:`run`, for a statement that changes one row and returns it
        (``RETURNING``): the row returned."""
        [row] = self._run(key, build, table, params).fetchall()  # all: SQLite ends it then
        return tuple(row)

    def _run(self, key: str, build: _Build, table: sa.Table,
             params: Sequence[tuple[str, Any]]) -> Any:
        text = self.sql.texts.get(("run", key))
        if text is None:
            text = self.sql.texts[("run", key)] = build(self.sql.mark, self.sql.quote)
        convert = self.sql.converters(table)
        return self._execute(text, tuple(v if c not in convert else convert[c](v)
                                         for c, v in params))

    def values(self, table: sa.Table, columns: tuple[str, ...],
                rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """The rows' values in ``columns`` order, each converted as its column stores it."""
        convert = self.sql.converters(table)
        if len(rows) == 1:  # a step's row
            values = rows[0]
            return [tuple([values[c] if c not in convert else convert[c](values[c])
                           for c in columns])]
        # Many rows (a bulk opening): taken out column by column, and each distinct value of a
        # column converted once. Rows share dates, stamps and document lists: the same object
        # (all are alive during the call, so ``id`` tells them apart), or equal contents.
        get = operator.itemgetter(*columns)
        out: list[tuple[Any, ...]] = [get(values) for values in rows]
        if len(columns) == 1:
            out = [(v,) for v in out]
        if not any(c in convert for c in columns):
            return out
        by_column = list(zip(*out, strict=True))
        for i, column in enumerate(columns):
            if column in convert:
                by_column[i] = _converted(by_column[i], convert[column])
        return list(zip(*by_column, strict=True))


def driver_error(db: sa.Engine, exc: Exception, text: str, params: Any = (),
                 many: bool = False) -> BaseException:
    """What a driver error on ``db`` is raised as: the typed storage error of
    :func:`~workflow.store.connection.storage_error` (as the engine's ``handle_error``
    listener maps SQLAlchemy's), else SQLAlchemy's ``DBAPIError`` subclass (values hidden);
    anything else as it is."""
    dbapi = db.dialect.loaded_dbapi
    if not isinstance(exc, dbapi.Error):
        return exc
    typed = storage_error(exc, db.get_execution_options().get("sstransfer_lock_timeout", 10))
    if typed is not None:
        return typed
    return sa.exc.DBAPIError.instance(text, params, exc, dbapi.Error, hide_parameters=True,
                                      dialect=db.dialect, ismulti=many)


class Transaction:
    """One transaction of the store on a DB-API connection from ``db``'s pool: the fast
    path's cursor, and SQLAlchemy's ``Connection`` on the same connection when a statement
    first needs one (:attr:`conn`)."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db
        self.fast = FastPath(db, self._checkout(), self._checkout)
        self._conn: sa.Connection | None = None

    @property
    def raw(self) -> PoolProxiedConnection:
        """The transaction's pooled DB-API connection."""
        return self.fast.raw

    def _checkout(self) -> PoolProxiedConnection:
        try:
            return self.db.raw_connection()
        except Exception as exc:  # the server away, the file not openable: typed
            raise driver_error(self.db, exc, "connect") from exc

    @property
    def conn(self) -> sa.Connection:
        """SQLAlchemy's connection on this transaction's DB-API connection. Its first
        statement begins SQLAlchemy's transaction, which for both drivers is the one the
        DB-API connection is in already (neither sends a BEGIN of its own)."""
        if self._conn is None:
            self.fast.reconnect = None  # SQLAlchemy's statements are not run again
            self._conn = sa.Connection(self.db, connection=self.raw)
        return self._conn

    def commit(self) -> None:
        conn = self._conn
        if conn is not None and conn.in_transaction():
            conn.commit()
        else:
            self.fast.end("COMMIT")

    def rollback(self) -> None:
        """Roll back, never raising over the error that asked for it: a connection that
        cannot roll back is invalidated by the pool when it is given back."""
        conn = self._conn
        try:
            if conn is not None and conn.in_transaction():
                conn.rollback()
            else:
                self.fast.end("ROLLBACK")
        except Exception:  # the caller's error is the one to raise
            pass

    def close(self) -> None:
        """Give the connection back to the pool (SQLAlchemy's connection, if made, does)."""
        if self._conn is not None:
            self._conn.close()
        else:
            self.raw.close()


@contextmanager
def transaction(db: sa.Engine) -> Iterator[Transaction]:
    """A :class:`Transaction` of ``db``, committed when the block ends, rolled back when it
    raises; its connection back in the pool either way."""
    tx = Transaction(db)
    try:
        yield tx
        tx.commit()
    except BaseException:
        tx.rollback()
        raise
    finally:
        tx.close()


def content_key(v: Any) -> Any:
    """What a converted value depends on, as a dictionary key: a list or dict by its items.
    1 and True are equal keys but not the same JSON, so the types are in the key (a nested,
    unhashable value raises ``TypeError`` when the key is used)."""
    kind = type(v)
    if kind is list:
        return kind, tuple(v), tuple(map(type, v))
    if kind is dict:
        return kind, tuple(v.items()), tuple(map(type, v.values()))
    return kind, v


def _converted(values: Sequence[Any], convert: _Convert) -> tuple[Any, ...]:
    """``convert`` applied to each of ``values``, once per distinct object and contents."""
    objects = dict(zip(map(id, values), values, strict=True))
    done: dict[int, Any] = {}
    seen: dict[Any, Any] = {}
    for key, v in objects.items():
        content = content_key(v)
        try:
            done[key] = seen[content]
        except KeyError:
            done[key] = seen[content] = convert(v)
        except TypeError:  # unhashable (nested inputs)
            done[key] = convert(v)
    return tuple(map(done.__getitem__, map(id, values)))


__all__ = ["FastPath", "Transaction", "content_key", "driver_error", "transaction"]
