"""Cases, their history and spans, registered definitions and idempotency keys (all SQL)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from .connection import insert_ignoring_duplicates
from .statements import Statement, insert_returning_ids
from .tables import (
    AwareDateTime,
    CaseRecord,
    HistoryEntry,
    Span,
    cases_t,
    definitions_t,
    history_t,
    idempotency_t,
    spans_t,
)

#: The columns of the read models (the table's own columns less the row's keys).
_HISTORY_FIELDS = [history_t.c[name] for name in HistoryEntry.model_fields]
_SPAN_FIELDS = [spans_t.c[name] for name in Span.model_fields]
_SELECT_CASE = sa.select(cases_t).where(cases_t.c.id == sa.bindparam("_id"))
# The case read of a step: plain text with untyped columns, so SQLAlchemy compiles it once
# (its cache key is the text) and applies no result processors; :class:`StepRow` converts the
# few columns that need it. A step rewrites the timestamps: no need to read and parse them.
_STEP_COLUMNS = tuple(c.name for c in cases_t.c if c.name not in ("created_at", "updated_at"))
_SELECT_FOR_STEP = sa.text(
    f"SELECT {', '.join(_STEP_COLUMNS)} FROM {cases_t.name} WHERE id = :id"
).columns(*(sa.column(name) for name in _STEP_COLUMNS))
_JSON_COLUMNS = frozenset(("documents", "requested_documents"))
_DATE_COLUMNS = frozenset(("opened_on", "last_event_on"))
_UPDATE_CASE = Statement(sa.update(cases_t).where(
    cases_t.c.id == sa.bindparam("_id"), cases_t.c.version == sa.bindparam("_version")))
_INSERT_HISTORY = Statement(sa.insert(history_t))
_INSERT_SPAN = Statement(sa.insert(spans_t))
_END_ALL_SPANS = Statement(sa.update(spans_t).where(
    spans_t.c.case_id == sa.bindparam("_case"), spans_t.c.ended_on.is_(None)))
_END_SPAN = Statement(sa.update(spans_t).where(
    spans_t.c.case_id == sa.bindparam("_case"), spans_t.c.ended_on.is_(None),
    spans_t.c.name == sa.bindparam("_name")))


class StepRow:
    """The case row a step decides on: its columns as attributes (and ``_mapping``), with the
    JSON and date columns converted explicitly where the driver gives text (SQLite)."""

    __slots__ = ("_mapping",)

    def __init__(self, names: Sequence[str], values: Sequence[Any]) -> None:
        mapping = dict(zip(names, values, strict=True))
        for name in _JSON_COLUMNS:
            if isinstance(mapping[name], str):
                mapping[name] = json.loads(mapping[name])
        for name in _DATE_COLUMNS:
            if isinstance(mapping[name], str):
                mapping[name] = dt.date.fromisoformat(mapping[name])
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


class CaseTransaction:
    """The case writes of one transaction (ours, or a host session's)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def row_for_step(self, case_id: int) -> Any | None:
        """The case row a step decides on (without its timestamps), or None."""
        row = self.conn.execute(_SELECT_FOR_STEP, {"id": case_id}).first()
        return None if row is None else StepRow(_STEP_COLUMNS, row)

    def update_case(self, case_id: int, version: int, values: Mapping[str, Any]) -> bool:
        """Write the case if it is still at ``version`` (the optimistic check)."""
        return _UPDATE_CASE.run(self.conn, {"_id": case_id, "_version": version, **values}) == 1

    def insert_cases(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        return insert_returning_ids(self.conn, cases_t, rows)

    def insert_history(self, rows: Sequence[Mapping[str, Any]]) -> None:
        _INSERT_HISTORY.run_many(self.conn, rows)

    def insert_spans(self, rows: Sequence[Mapping[str, Any]]) -> None:
        _INSERT_SPAN.run_many(self.conn, rows)

    def end_spans(self, case_id: int, names: Iterable[str] | None, on: dt.date) -> None:
        """End the case's running spans called ``names`` (None: all of them) on ``on``."""
        if names is None:
            _END_ALL_SPANS.run(self.conn, {"_case": case_id, "ended_on": on})
            return
        for name in names:
            _END_SPAN.run(self.conn, {"_case": case_id, "_name": name, "ended_on": on})

    # --- business date corrections ---------------------------------------------------------
    def last_steps(self, case_id: int, skip_trigger: str, count: int) -> list[Any]:
        """The case's last ``count`` history rows, newest first, leaving out ``skip_trigger``."""
        return list(self.conn.execute(sa.select(history_t).where(
            history_t.c.case_id == case_id, history_t.c.trigger != skip_trigger
        ).order_by(history_t.c.seq.desc()).limit(count)))

    def spans_newest_first(self, case_id: int) -> list[Any]:
        return list(self.conn.execute(sa.select(spans_t).where(spans_t.c.case_id == case_id)
                                      .order_by(spans_t.c.id.desc())))

    def update_span(self, span_id: int, values: Mapping[str, Any]) -> None:
        self.conn.execute(sa.update(spans_t).where(spans_t.c.id == span_id).values(**values))

    def redate_step(self, history_id: int, on: dt.date) -> None:
        self.conn.execute(sa.update(history_t).where(history_t.c.id == history_id)
                          .values(business_date=on))

    # --- idempotency keys ------------------------------------------------------------------
    def claim_idempotency_key(self, key: str, case_id: int, request_hash: str,
                              stamp: dt.datetime) -> Any | None:
        """Claim an idempotency key in this transaction; the row of the call that used it first.

        The insert waits while another transaction holds the same key (PostgreSQL's unique
        index, SQLite's write lock), so a concurrent duplicate sees the first call's committed
        result instead of deciding again. Returns None when the key is ours (or the case does
        not exist: nothing was claimed, the caller's own lookup refuses it).
        """
        conn = self.conn
        claim = insert_ignoring_duplicates(conn, idempotency_t).from_select(
            ["key", "case_id", "request_hash", "result", "created_at"],
            sa.select(sa.literal(key), cases_t.c.id, sa.literal(request_hash),
                      sa.literal({}, sa.JSON()), sa.literal(stamp, AwareDateTime()))
            .where(cases_t.c.id == case_id)).returning(idempotency_t.c.key)
        if conn.execute(claim).first() is not None:
            return None
        return conn.execute(sa.select(idempotency_t).where(idempotency_t.c.key == key)).first()

    def record_idempotent_result(self, key: str, result: Mapping[str, Any]) -> None:
        """Store the result of the call that claimed ``key`` (in the claiming transaction)."""
        self.conn.execute(sa.update(idempotency_t).where(idempotency_t.c.key == key)
                          .values(result=dict(result)))


class CaseRepository:
    """Reads and transactions on cases, over one SQLAlchemy engine."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    @contextmanager
    def transaction(self, session: Any = None) -> Iterator[CaseTransaction]:
        """One transaction: ours (committed here), or the host's session (it commits)."""
        if session is not None:
            yield CaseTransaction(session.connection())
            return
        with self.db.connect() as conn, conn.begin():
            yield CaseTransaction(conn)

    # --- definitions -----------------------------------------------------------------------
    def stored_definitions(self) -> dict[tuple[str, int], Any]:
        with self.db.connect() as conn:
            return {(r.name, r.version): r for r in conn.execute(sa.select(definitions_t))}

    def register_definition(self, name: str, version: int, content_hash: str, source: str,
                            stamp: dt.datetime, *, replace: bool) -> int:
        """Store a definition version (``replace``: its edited text); with ``replace``, the
        number of cases already running on it is returned instead when there are any, and
        nothing is changed."""
        with self.db.begin() as conn:
            if not replace:
                conn.execute(sa.insert(definitions_t).values(
                    name=name, version=version, content_hash=content_hash, source=source,
                    registered_at=stamp))
                return 0
            in_use = conn.scalar(sa.select(sa.func.count()).select_from(cases_t).where(
                cases_t.c.definition_name == name, cases_t.c.definition_version == version))
            if in_use:
                return int(in_use)
            conn.execute(sa.update(definitions_t).where(
                definitions_t.c.name == name, definitions_t.c.version == version
            ).values(content_hash=content_hash, source=source))
            return 0

    def definition_source(self, name: str, version: int) -> str | None:
        with self.db.connect() as conn:
            return conn.scalar(sa.select(definitions_t.c.source).where(
                definitions_t.c.name == name, definitions_t.c.version == version))

    # --- reading ---------------------------------------------------------------------------
    def case(self, case_id: int) -> CaseRecord | None:
        with self.db.connect() as conn:
            row = conn.execute(_SELECT_CASE, {"_id": case_id}).first()
        return None if row is None else CaseRecord(**row._mapping)

    def history(self, case_id: int) -> list[HistoryEntry]:
        with self.db.connect() as conn:
            return [HistoryEntry(**r._mapping) for r in conn.execute(
                sa.select(*_HISTORY_FIELDS).where(history_t.c.case_id == case_id)
                .order_by(history_t.c.seq))]

    def spans(self, case_id: int) -> list[Span]:
        with self.db.connect() as conn:
            return [Span(**r._mapping) for r in conn.execute(
                sa.select(*_SPAN_FIELDS).where(spans_t.c.case_id == case_id)
                .order_by(spans_t.c.id))]

    def cases(self, *, state: str | None = None, agency: str | None = None,
              definition: str | None = None, limit: int | None = None,
              insurance: str | None = None, overdue_on: dt.date | None = None,
              offset: int = 0, agencies: Sequence[str] | None = None,
              province: str | None = None, applicant: str | None = None,
              applicant_id: str | None = None, person_id: str | None = None,
              ) -> list[CaseRecord]:
        """Cases in id order; ``agency`` matches either the origin or the destination.

        ``overdue_on``: only cases with a span running on that day past its (committed, else
        statutory) due date. ``agencies``/``province``: only cases whose origin or destination
        is one of those agencies / in that province (2-digit prefix). ``applicant``,
        ``applicant_id``, ``person_id``: only cases with that applicant kind, applying actor,
        person."""
        query = sa.select(cases_t).order_by(cases_t.c.id)
        c = cases_t.c
        for column, value in ((c.state, state), (c.definition_name, definition),
                              (c.insurance, insurance), (c.applicant, applicant),
                              (c.applicant_id, applicant_id), (c.person_id, person_id)):
            if value is not None:
                query = query.where(column == value)
        if agency is not None:
            query = query.where(sa.or_(c.origin == agency, c.destination == agency))
        if agencies is not None:
            query = query.where(sa.or_(c.origin.in_(agencies), c.destination.in_(agencies)))
        if province is not None:
            query = query.where(sa.or_(sa.func.substr(c.origin, 1, 2) == province,
                                       sa.func.substr(c.destination, 1, 2) == province))
        if overdue_on is not None:
            judged_by = sa.func.coalesce(spans_t.c.committed_due_on, spans_t.c.due_on)
            query = query.where(sa.exists().where(
                spans_t.c.case_id == c.id, spans_t.c.started_on <= overdue_on,
                sa.or_(spans_t.c.ended_on.is_(None), spans_t.c.ended_on > overdue_on),
                judged_by < overdue_on))
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with self.db.connect() as conn:
            return [CaseRecord(**r._mapping) for r in conn.execute(query)]
