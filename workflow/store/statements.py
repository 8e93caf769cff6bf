"""The write fast path: statements compiled once, run with ``Connection.exec_driver_sql``.

A transition writes four small statements. Building and compiling them on every call costs
more than running them, so each :class:`Statement` is compiled once per database kind and
set of columns (SQLAlchemy's public ``compile``), its values converted by the column types'
own ``bind_processor`` (dates and JSON as SQLAlchemy stores them), and run through
``exec_driver_sql``: inside the caller's transaction, with SQLAlchemy's error handling (typed
storage faults) and visible to ``echo=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from .fast import FastPath, content_key

_Processor = Callable[[Any], Any]


class Statement:
    """An INSERT or UPDATE compiled once per (dialect, columns given)."""

    def __init__(self, statement: sa.Insert | sa.Update) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]],
                             tuple[str, list[str], list[_Processor | None], bool]] = {}

    def _compile(self, dialect: sa.Dialect,
                 keys: tuple[str, ...]) -> tuple[str, list[str], list[_Processor | None], bool]:
        entry = self._compiled.get((dialect.name, keys))
        if entry is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
            types = {compiled.bind_names[b]: b.type for b in compiled.binds.values()}
            names = list(compiled.positiontup or ()) if compiled.positional else list(types)
            processors: list[_Processor | None] = [
                types[n].dialect_impl(dialect).bind_processor(dialect) for n in names]
            entry = (str(compiled), names, processors, compiled.positional)
            self._compiled[(dialect.name, keys)] = entry
        return entry

    def _parameters(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> tuple[
            str, list[tuple[Any, ...]] | list[dict[str, Any]]]:
        # The callers build their rows with their keys in one order: no need to sort them.
        sql, names, processors, positional = self._compile(conn.dialect, tuple(rows[0]))
        converted: list[tuple[Any, ...]] = []
        if len(rows) == 1:
            values = rows[0]
            converted.append(tuple([values[n] if p is None else p(values[n])
                                    for n, p in zip(names, processors, strict=True)]))
        else:
            # Rows share dates and document lists: convert each distinct value once, and
            # only in the columns that have a conversion.
            convert: list[tuple[int, _Processor, dict[Any, Any]]] = [
                (i, p, {}) for i, p in enumerate(processors) if p is not None]
            last: list[tuple[Any, Any]] = [(object(), None) for _ in convert]
            for values in rows:
                row = [values[n] for n in names]
                for c, (i, p, seen) in enumerate(convert):
                    v = row[i]
                    if v is last[c][0]:  # the very object of the row before (a shared stamp)
                        row[i] = last[c][1]
                        continue
                    try:
                        key = content_key(v)
                        row[i] = seen[key]
                    except KeyError:
                        row[i] = seen[key] = p(v)
                    except TypeError:  # unhashable (nested inputs)
                        row[i] = p(v)
                    last[c] = (v, row[i])
                converted.append(tuple(row))
        if positional:
            return sql, converted
        return sql, [dict(zip(names, r, strict=True)) for r in converted]

    def run(self, conn: sa.Connection, values: Mapping[str, Any]) -> int:
        """Execute with ``values`` (keyed by column and bind names); the row count."""
        sql, params = self._parameters(conn, [values])
        return conn.exec_driver_sql(sql, params[0]).rowcount

    def run_many(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Execute once per row (all rows have the same keys), as one executemany."""
        if not rows:
            return 0
        sql, params = self._parameters(conn, rows)
        if len(params) == 1:
            return conn.exec_driver_sql(sql, params[0]).rowcount
        return conn.exec_driver_sql(sql, params).rowcount


def insert_returning_ids(conn: sa.Connection, fast: FastPath, table: sa.Table,
                         rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows and return their new ids in the rows' order.

    PostgreSQL: SQLAlchemy's insertmanyvalues (batched ``INSERT ... VALUES ... RETURNING``,
    sorted by parameter order). SQLite cannot promise the order of a multi-row ``RETURNING``,
    so SQLAlchemy would insert one row per statement there; instead the first row is inserted
    alone, which makes this transaction SQLite's one writer until it ends, and the other rows
    are given the ids after the largest one in the table, inserted as one executemany on the
    driver's cursor (:mod:`workflow.store.fast`).
    """
    if conn.dialect.name != "sqlite" or len(rows) < 2:
        statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(conn.execute(statement, list(rows)).scalars())
    first = conn.execute(sa.insert(table).returning(table.c.id), [rows[0]]).scalar_one()
    top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar_one()
    ids = [first, *range(top + 1, top + len(rows))]
    fast.insert(table, [{"id": id_, **row} for id_, row in zip(ids[1:], rows[1:], strict=True)])
    return ids


#: From this many rows, PostgreSQL's are written by COPY (fewer: a pipelined statement a row).
COPY_FROM = 500
#: Rows in one multi-row INSERT on SQLite, and values at most (it allows 32,766 parameters).
_ROWS_PER_INSERT, _VALUES_PER_INSERT = 1000, 30_000
_MULTI_ROW: dict[tuple[Any, ...], str] = {}


def insert_values(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *,
                  skip_duplicates: bool = False,
                  returning: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (all with the same keys, column names) in the caller's transaction, the
    fastest way each database has (a scan's alerts and their events), measured on the national
    bench:

    - **SQLite**: multi-row ``INSERT ... VALUES (...), (...), ...`` statements of up to 1,000
      rows (a third faster than a row a statement); ``returning``: those columns of the rows
      inserted, as the driver gives them (in no promised order).
    - **PostgreSQL**: with ``returning``, or from :data:`COPY_FROM` rows, ``COPY`` (a
      quarter faster than a statement a row at 10,000 rows on the national bench; the
      server's own work per row, the indexes and foreign-key checks, is the rest), straight
      into the table, or with ``skip_duplicates`` or ``returning`` into a temporary table
      dropped at commit (the role needs PostgreSQL's ``TEMPORARY`` privilege, which every
      role has by default) and then one ``INSERT ... SELECT``; fewer rows and no
      ``returning``: one prepared statement a row, sent by ``psycopg``'s pipelined
      ``executemany``. ``returning``: those columns of the rows inserted.

    ``skip_duplicates``: ``ON CONFLICT DO NOTHING`` (a row whose unique key exists already is
    not inserted). Run with ``exec_driver_sql``, so SQLAlchemy's error mapping, ``echo`` and
    event listeners see each statement (COPY runs on the driver's cursor, its errors typed
    and its statements logged with ``echo`` as the fast path's); values are converted by
    column type as the fast path converts them (:meth:`FastPath.values`).
    """
    if not rows:
        return []
    fast = FastPath(conn.engine, conn.connection)
    columns = tuple(rows[0])
    params = fast.values(table, columns, rows)
    postgresql = conn.dialect.name == "postgresql"
    if postgresql and (returning or len(params) >= COPY_FROM):
        return fast.copy(table, columns, params, skip_duplicates=skip_duplicates,
                         returning=returning)
    per = len(params) if postgresql else max(1, min(_ROWS_PER_INSERT,
                                                    _VALUES_PER_INSERT // len(columns)))
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(params), per):
        batch = params[start:start + per]
        count = 1 if postgresql else len(batch)
        key = (conn.dialect.name, table.name, columns, count, skip_duplicates, returning)
        text = _MULTI_ROW.get(key)
        if text is None:
            mark, quote = fast.sql.mark, fast.sql.quote
            one = f"({', '.join([mark] * len(columns))})"
            text = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "
                    f"VALUES {', '.join([one] * count)}"
                    + (" ON CONFLICT DO NOTHING" if skip_duplicates else "")
                    + (f" RETURNING {', '.join(map(quote, returning))}" if returning else ""))
            if len(_MULTI_ROW) < 256:  # the full batches and a few remainders
                _MULTI_ROW[key] = text
        if postgresql:
            conn.exec_driver_sql(text, batch)
            continue
        result = conn.exec_driver_sql(text, tuple(value for row in batch for value in row))
        if returning:
            out.extend(tuple(r) for r in result)
    return out
