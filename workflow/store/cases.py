"""Cases, their history and spans, registered definitions and idempotency keys (all SQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ..core.alerts import SPAN_ENDED
from ..core.queries import AlertQuery, CaseQuery
from ..errors import InvalidInput
from ..ports import HostSession
from ..records import (
    AwareDateTime,
    CaseLink,
    CaseUpdate,
    HistoryEntry,
    IdempotentCall,
    JsonObject,
    NewCase,
    NewEvent,
    NewHistoryEntry,
    NewPaper,
    NewSpan,
    Paper,
    PrintedPaper,
    Span,
    SpanUpdate,
    StepCase,
    StoredCase,
    StoredSpan,
    StoredStep,
    to_fen,
)
from . import outbox, papers
from .connection import in_province, insert_ignoring_duplicates
from .fast import FastPath, Transaction, transaction
from .statements import insert_returning_ids
from .tables import alerts_t, cases_t, definitions_t, events_t, history_t, idempotency_t, spans_t

#: The columns of the read models (the table's own columns less the row's keys).
_HISTORY_FIELDS = [history_t.c[name] for name in HistoryEntry.model_fields]
_SPAN_FIELDS = [spans_t.c[name] for name in Span.model_fields]
_CASE_FIELDS = [cases_t.c[f.name] for f in dataclasses.fields(StoredCase)]
_SELECT_CASE = sa.select(*_CASE_FIELDS).where(cases_t.c.id == sa.bindparam("_id"))
# A case's views, each built once (a read's values are parameters, not new statements).
_SELECT_HISTORY = sa.select(*_HISTORY_FIELDS).where(
    history_t.c.case_id == sa.bindparam("_id")).order_by(history_t.c.seq)
_SELECT_SPANS = sa.select(*_SPAN_FIELDS).where(
    spans_t.c.case_id == sa.bindparam("_id")).order_by(spans_t.c.id)
_SELECT_LINKED = sa.select(
    cases_t.c.id, cases_t.c.definition_name, cases_t.c.definition_version, cases_t.c.state,
    cases_t.c.linked_case_id,
).where(sa.or_(cases_t.c.linked_case_id == sa.bindparam("_id"), cases_t.c.id == sa.select(
    cases_t.c.linked_case_id).where(cases_t.c.id == sa.bindparam("_id")).scalar_subquery())
).order_by(cases_t.c.id)
# The case read of a step (on the driver's cursor): :func:`_step_case` converts the few
# columns that need it. A step rewrites the timestamps: no need to read and parse them.
_STEP_COLUMNS = tuple(f.name for f in dataclasses.fields(StepCase))
_JSON_COLUMNS = tuple(_STEP_COLUMNS.index(n) for n in ("documents", "requested_documents"))
_DATE_COLUMNS = tuple(_STEP_COLUMNS.index(n) for n in ("opened_on", "last_event_on"))
_RECEIVING = _STEP_COLUMNS.index("receiving_employer")


def _step_case(values: Sequence[Any]) -> StepCase:
    """The case row of a step, with the JSON and date columns converted explicitly where the
    driver gives text (SQLite)."""
    row = list(values)
    for i in _JSON_COLUMNS:
        if isinstance(row[i], str):
            row[i] = json.loads(row[i])
    for i in _DATE_COLUMNS:
        if isinstance(row[i], str):
            row[i] = dt.date.fromisoformat(row[i])
    if row[_RECEIVING] is not None:  # SQLite's 0/1
        row[_RECEIVING] = bool(row[_RECEIVING])
    return StepCase(*row)


def _case_values(change: CaseUpdate) -> dict[str, Any]:
    """The columns a case update writes (always in the same order for the same change)."""
    values: dict[str, Any] = {}
    if change.state is not None:
        values["state"] = change.state
    if change.definition_version is not None:
        values["definition_version"] = change.definition_version
    values["version"] = change.version
    if change.documents is not None:
        values["documents"] = change.documents
    if change.requested_documents is not None:
        values["requested_documents"] = change.requested_documents
    if change.opened_on is not None:
        values["opened_on"] = change.opened_on
    values["last_event_on"] = change.last_event_on
    if change.amount is not None:
        values["amount_fen"] = to_fen(change.amount)
    if change.contribution_months is not None:
        values["contribution_months"] = change.contribution_months
    if change.running is not None:
        values["running"] = change.running
    values["updated_at"] = change.updated_at
    return values


def _span_values(change: SpanUpdate) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if change.started_on is not None:
        values["started_on"] = change.started_on
    if change.due is not None:
        values.update(change.due.columns())
    if change.ended_on is not None:
        values["ended_on"] = change.ended_on
    if change.limits is not None:
        values["limit_working_days"], values["limit_months"] = change.limits
    return values


def _resolve_ended(mark: str, q: Callable[[str], str]) -> str:
    """Resolve the open alerts of a case's ended spans: the case's open alerts are few (the
    index on ``alert.case_id``), and a step that raised none finds none."""
    return (f"UPDATE {q('alert')} SET {q('resolved_on')} = {mark}, {q('resolution')} = {mark} "
            f"WHERE {q('case_id')} = {mark} AND {q('resolved_on')} IS NULL "
            f"AND {q('span_id')} IN (SELECT {q('id')} FROM {q('span')} "
            f"WHERE {q('case_id')} = {mark} AND {q('ended_on')} IS NOT NULL)")


def applicant_scope(query: CaseQuery | AlertQuery) -> list[sa.ColumnElement[bool]]:
    """The conditions on the case of the applicant scope of ``query`` (its ``applicant``,
    ``applicant_id`` and ``person_id``, those that are set)."""
    c = cases_t.c
    return [column == value for column, value in (
        (c.applicant, query.applicant), (c.applicant_id, query.applicant_id),
        (c.person_id, query.person_id)) if value is not None]


class CaseTransaction:
    """The case writes of one transaction (ours, or a host session's). A step's read and
    writes run on the driver's cursor (:mod:`workflow.store.fast`), the rest through
    SQLAlchemy, all on the same connection and in the same transaction."""

    def __init__(self, tx: Transaction | sa.Connection) -> None:
        if isinstance(tx, sa.Connection):  # a host's session: its connection, as it is
            self._tx: Transaction | None = None
            self._conn = tx
            self.fast = FastPath(tx.engine, tx.connection)
        else:
            self._tx, self.fast = tx, tx.fast

    @property
    def conn(self) -> sa.Connection:
        """SQLAlchemy's connection of the transaction (ours: made when first asked for)."""
        return self._conn if self._tx is None else self._tx.conn

    def row_for_step(self, case_id: int) -> StepCase | None:
        row = self.fast.select_one(cases_t, _STEP_COLUMNS, "id", case_id)
        return None if row is None else _step_case(row)

    def update_case(self, case_id: int, version: int, change: CaseUpdate) -> bool:
        return self.fast.update(cases_t, _case_values(change),
                                {"id": case_id, "version": version}) == 1

    def insert_cases(self, cases: Sequence[NewCase],
                     spans: Sequence[Sequence[NewSpan]]) -> list[int]:
        ids = insert_returning_ids(self.conn, self.fast, cases_t, [vars(c) for c in cases])
        rows = [{**vars(span), "case_id": case_id}
                for case_id, of_case in zip(ids, spans, strict=True) for span in of_case]
        self.fast.insert(spans_t, rows)
        return ids

    def insert_history(self, entries: Sequence[NewHistoryEntry]) -> None:
        self.fast.insert(history_t, [vars(e) for e in entries])

    def insert_spans(self, case_id: int, spans: Sequence[NewSpan]) -> None:
        self.fast.insert(spans_t, [{**vars(s), "case_id": case_id} for s in spans])

    def end_spans(self, case_id: int, names: Iterable[str] | None, on: dt.date) -> None:
        """End the case's running spans ``names`` (None: all) on ``on``, and resolve their
        open alerts on that day in the same transaction (one statement for all of them)."""
        if names is None:
            ended = self.fast.update(spans_t, {"ended_on": on}, {"case_id": case_id},
                                     ("ended_on",))
        else:
            ended = sum(self.fast.update(spans_t, {"ended_on": on},
                                         {"case_id": case_id, "name": name}, ("ended_on",))
                        for name in names)
        if ended:
            self.fast.run("resolve_ended", _resolve_ended, alerts_t, (
                ("resolved_on", on), ("resolution", SPAN_ENDED), ("case_id", case_id),
                ("case_id", case_id)))

    def required_case(self, person_id: str, definition: str, destination: str,
                      states: Sequence[str]) -> int | None:
        c = cases_t.c
        found = self.conn.scalar(sa.select(sa.func.max(c.id)).where(
            c.person_id == person_id, c.definition_name == definition,
            c.destination == destination, c.state.in_(states)))
        return None if found is None else int(found)

    # --- business date corrections ---------------------------------------------------------
    def last_steps(self, case_id: int, skip_trigger: str, count: int) -> list[StoredStep]:
        h = history_t.c
        return [StoredStep._make(r) for r in self.conn.execute(
            sa.select(h.id, h.seq, h.trigger, h.to_state, h.business_date)
            .where(h.case_id == case_id, h.trigger != skip_trigger)
            .order_by(h.seq.desc()).limit(count))]

    def spans_newest_first(self, case_id: int) -> list[StoredSpan]:
        s = spans_t.c
        return [StoredSpan._make(r) for r in self.conn.execute(
            sa.select(s.id, s.name, s.started_on, s.ended_on).where(s.case_id == case_id)
            .order_by(s.id.desc()))]

    def update_span(self, span_id: int, change: SpanUpdate) -> None:
        self.conn.execute(sa.update(spans_t).where(spans_t.c.id == span_id)
                          .values(**_span_values(change)))
        if change.ended_on is not None:  # a corrected end: its alerts were resolved that day
            a = alerts_t.c
            self.conn.execute(sa.update(alerts_t).where(
                a.span_id == span_id, a.resolution == SPAN_ENDED).values(
                resolved_on=change.ended_on))

    def redate_step(self, history_id: int, on: dt.date) -> None:
        self.conn.execute(sa.update(history_t).where(history_t.c.id == history_id)
                          .values(business_date=on))

    # --- papers ----------------------------------------------------------------------------
    def next_paper_seq(self, agency: str, kind: str, year: int) -> int:
        return papers.next_seq(self.fast, agency, kind, year)

    def insert_paper(self, paper: NewPaper) -> int:
        return papers.insert_paper(self.fast, paper)

    def paper(self, paper_id: int) -> PrintedPaper | None:
        return papers.paper(self.conn, paper_id)

    def insert_events(self, events: Sequence[NewEvent]) -> None:
        self.fast.insert(events_t, outbox.event_rows(events))

    def insert_contacts(self, contacts: Sequence[tuple[int, str | None, str | None]]) -> None:
        outbox.insert_contacts(self.conn, contacts)

    # --- idempotency keys ------------------------------------------------------------------
    def claim_idempotency_key(self, key: str, case_id: int, request_hash: str,
                              stamp: dt.datetime) -> IdempotentCall | None:
        """The insert waits while another transaction holds the same key (PostgreSQL's
        unique index, SQLite's write lock), so a concurrent duplicate sees the first call's
        committed result instead of deciding again."""
        conn = self.conn
        claim = insert_ignoring_duplicates(conn, idempotency_t).from_select(
            ["key", "case_id", "request_hash", "result", "created_at"],
            sa.select(sa.literal(key), cases_t.c.id, sa.literal(request_hash),
                      sa.literal({}, sa.JSON()), sa.literal(stamp, AwareDateTime()))
            .where(cases_t.c.id == case_id)).returning(idempotency_t.c.key)
        if conn.execute(claim).first() is not None:
            return None
        first = conn.execute(sa.select(idempotency_t.c.request_hash, idempotency_t.c.result)
                             .where(idempotency_t.c.key == key)).first()
        return None if first is None else IdempotentCall._make(first)

    def record_idempotent_result(self, key: str, result: JsonObject) -> None:
        self.conn.execute(sa.update(idempotency_t).where(idempotency_t.c.key == key)
                          .values(result=dict(result)))


class CaseRepository:
    """Reads and transactions on cases, over one SQLAlchemy engine."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    @contextmanager
    def transaction(self, session: HostSession | None = None) -> Iterator[CaseTransaction]:
        """One transaction: ours (committed here), or the host's session (it commits)."""
        if session is not None:
            conn = session.connection()
            if not isinstance(conn, sa.Connection):
                raise InvalidInput("session must be a SQLAlchemy or SQLModel session")
            yield CaseTransaction(conn)
            return
        with transaction(self.db) as tx:
            yield CaseTransaction(tx)

    # --- definitions -----------------------------------------------------------------------
    def stored_definitions(self) -> dict[tuple[str, int], str]:
        d = definitions_t.c
        with self.db.connect() as conn:
            return {(name, version): content_hash for name, version, content_hash in
                    conn.execute(sa.select(d.name, d.version, d.content_hash))}

    def register_definition(self, name: str, version: int, content_hash: str, source: str,
                            stamp: dt.datetime, *, replace: bool) -> int:
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
    def case(self, case_id: int) -> StoredCase | None:
        with self.db.connect() as conn:
            row = conn.execute(_SELECT_CASE, {"_id": case_id}).first()
        return None if row is None else StoredCase(*row)

    def case_id_of(self, public_number: str) -> int | None:
        with self.db.connect() as conn:
            found = conn.scalar(sa.select(cases_t.c.id).where(
                cases_t.c.public_number == public_number))
        return None if found is None else int(found)

    def running_cases(self, people: Iterable[tuple[str, str]]
                      ) -> dict[tuple[str, str], StoredCase]:
        c, found = cases_t.c, {}
        wanted = set(people)
        by_person = sorted({person for person, _ in wanted})
        with self.db.connect() as conn:
            for start in range(0, len(by_person), 500):
                for row in conn.execute(sa.select(*_CASE_FIELDS).where(
                        c.person_id.in_(by_person[start:start + 500]), c.running)):
                    case = StoredCase(*row)
                    if (case.person_id, case.insurance) in wanted:
                        found[case.person_id, case.insurance] = case
        return found

    def history(self, case_id: int) -> list[HistoryEntry]:
        with self.db.connect() as conn:
            return [HistoryEntry(**r._mapping) for r in conn.execute(
                _SELECT_HISTORY, {"_id": case_id})]

    def spans(self, case_id: int) -> list[Span]:
        with self.db.connect() as conn:
            return [Span(**r._mapping) for r in conn.execute(_SELECT_SPANS, {"_id": case_id})]

    def linked_cases(self, case_id: int) -> list[CaseLink]:
        with self.db.connect() as conn:
            return [CaseLink(r.id, r.definition_name, r.definition_version, r.state,
                             "opened_after" if r.linked_case_id == case_id else "required")
                    for r in conn.execute(_SELECT_LINKED, {"_id": case_id})]

    def papers(self, case_id: int) -> list[Paper]:
        with self.db.connect() as conn:
            return papers.papers(conn, case_id)

    def paper(self, paper_id: int) -> PrintedPaper | None:
        with self.db.connect() as conn:
            return papers.paper(conn, paper_id)

    def cases(self, query: CaseQuery) -> list[StoredCase]:
        """Cases in id order (or the query's ``sort``, the id breaking ties); every filter of
        the query applied (:func:`case_filters`)."""
        column, descending = _sort_column(query.sort)
        order = column.desc() if descending else column.asc()
        if query.sort.removeprefix("-") == "due_on":
            order = order.nulls_last()  # cases with no running span last, either way
        select = (sa.select(*_CASE_FIELDS).where(*case_filters(query))
                  .order_by(order, cases_t.c.id.desc() if descending else cases_t.c.id)
                  .limit(query.limit).offset(query.offset or None))
        with self.db.connect() as conn:
            return [StoredCase(*r) for r in conn.execute(select)]

    def count_cases(self, query: CaseQuery) -> int:
        """How many cases the query's filters match (its page and sort left aside).

        A query for one place (an agency, agencies or a province: the origin *or* the
        destination) is counted as two disjoint counts, the cases whose origin is there and
        those whose destination is there but not their origin: on PostgreSQL each is read
        from one index alone (``ix_case_origin_state``, ``ix_case_destination_origin_state``,
        migration 0016), where the OR would visit every matching row of the table (a
        province's cases at national scale)."""
        places = _place_filters(query)
        rest = [*_case_filters(query), *_span_filters(query)]
        count = sa.select(sa.func.count()).select_from(cases_t)
        if len(places) == 1:
            (origin, destination), = places
            total: sa.ColumnElement[Any] = (
                count.where(*rest, origin).scalar_subquery()
                + count.where(*rest, destination, sa.not_(origin)).scalar_subquery())
            statement = sa.select(total)
        else:
            statement = count.where(*rest, *(sa.or_(o, d) for o, d in places))
        with self.db.connect() as conn:
            return int(conn.scalar(statement) or 0)


#: The soonest due date of a case's running spans (the committed one where there is one).
_JUDGED_BY = sa.func.coalesce(spans_t.c.committed_due_on, spans_t.c.due_on)
_NEXT_DUE = (sa.select(sa.func.min(_JUDGED_BY))
             .where(spans_t.c.case_id == cases_t.c.id, spans_t.c.ended_on.is_(None))
             .scalar_subquery())


def _sort_column(sort: str) -> tuple[sa.ColumnElement[Any], bool]:
    name = sort.removeprefix("-")
    column = _NEXT_DUE if name == "due_on" else cases_t.c[name]
    return column, sort.startswith("-")


def case_filters(q: CaseQuery) -> list[sa.ColumnElement[bool]]:
    """The conditions of a case query: ``agency`` matches either the origin or the
    destination; ``overdue_on``: a span running on that day is past its (committed, else
    statutory) due date; ``province``: the origin or destination is in it (2-digit prefix);
    ``person_id_ending``: the whole ID number (an index look-up) or its last characters;
    ``level``: a stored alert of that level for a running span (or an advisory);
    ``due_from``/``due_to``: a running span due in the range (the committed date where there is
    one)."""
    return [*_case_filters(q), *(sa.or_(o, d) for o, d in _place_filters(q)),
            *_span_filters(q)]


def _place_filters(q: CaseQuery) -> list[tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]]:
    """The query's places (``agency``, ``agencies``, ``province``): each the condition on the
    origin and the one on the destination, of which a case must meet either."""
    c = cases_t.c
    places = []
    if q.agency is not None:
        places.append((c.origin == q.agency, c.destination == q.agency))
    if q.agencies is not None:
        places.append((c.origin.in_(q.agencies), c.destination.in_(q.agencies)))
    if q.province is not None:
        places.append((in_province(c.origin, q.province),
                       in_province(c.destination, q.province)))
    return places


def _case_filters(q: CaseQuery) -> list[sa.ColumnElement[bool]]:
    """The query's conditions on the case's own columns, its places aside."""
    c = cases_t.c
    where = [*applicant_scope(q), *[
        column == value for column, value in (
            (c.state, q.state), (c.definition_name, q.definition), (c.insurance, q.insurance),
            (c.public_number, q.public_number)) if value is not None]]
    if q.insurances is not None:  # a department's scope
        where.append(c.insurance.in_(q.insurances))
    if q.person_id_ending is not None:
        ending = q.person_id_ending  # digits and X only (checked): no LIKE wildcard in it
        where.append(c.person_id == ending if len(ending) == 18
                     else c.person_id.endswith(ending, autoescape=True))
    if q.person_name is not None:
        where.append(c.person_name.contains(q.person_name, autoescape=True))
    return where


def _span_filters(q: CaseQuery) -> list[sa.ColumnElement[bool]]:
    """The conditions of a case query on the case's spans and alerts."""
    c, judged = cases_t.c, _JUDGED_BY
    where: list[sa.ColumnElement[bool]] = []
    if q.overdue_on is not None:
        where.append(sa.exists().where(
            spans_t.c.case_id == c.id, spans_t.c.started_on <= q.overdue_on,
            sa.or_(spans_t.c.ended_on.is_(None), spans_t.c.ended_on > q.overdue_on),
            judged < q.overdue_on))
    if q.due_from is not None or q.due_to is not None:
        due = [spans_t.c.case_id == c.id, spans_t.c.ended_on.is_(None)]
        if q.due_from is not None:
            due.append(judged >= q.due_from)
        if q.due_to is not None:
            due.append(judged <= q.due_to)
        where.append(sa.exists().where(*due))
    if q.level is not None:
        a, s = alerts_t.c, spans_t.alias("alerted")
        where.append(sa.exists().where(
            a.case_id == c.id, a.level == q.level,
            sa.or_(a.span_id.is_(None), sa.exists().where(s.c.id == a.span_id,
                                                         s.c.ended_on.is_(None)))))
    return where
