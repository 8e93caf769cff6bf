"""The engine: runs transfer cases on their definitions and stores every step.

This is the I/O edge around the pure core (:mod:`workflow.rules`, :mod:`workflow.calendar`):
it reads a case, asks the rules what the step changes, and writes the new state, the history
row and the span changes in one transaction with an optimistic version check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog

from . import store
from ._views import _plain, _View
from .calendar import WorkingCalendar
from .deadlines import span_due
from .definitions import Definition, DefinitionSet, parse_definition
from .errors import CaseNotFound, ConcurrentUpdate, DefinitionChanged, InvalidInput, InvalidRow
from .errors import WorkflowError as _WorkflowError
from .rules import (
    Actor,
    CaseFacts,
    Step,
    check_date,
    decide,
    decide_attach,
    decide_open,
    mask_person_id,
)
from .settings import Settings
from .store import cases_t, definitions_t, history_t, idempotency_t, spans_t

CHINA = ZoneInfo("Asia/Shanghai")
OPEN_TRIGGER = "open"
ATTACH_TRIGGER = "attach_documents"
log = structlog.get_logger("sstransfer")


def today() -> dt.date:
    """Today's business date in China time."""
    return dt.datetime.now(CHINA).date()


@dataclasses.dataclass(frozen=True)
class Case(_View):
    """A transfer case as stored. ``person_id`` is left out of ``repr`` and ``to_dict``."""

    id: int
    definition: str
    definition_version: int
    insurance: str
    state: str
    version: int
    person_name: str
    person_id_masked: str
    origin: str
    destination: str
    scope: str
    applicant: str
    channel: str
    documents: tuple[str, ...]
    requested_documents: tuple[str, ...]
    opened_on: dt.date
    last_event_on: dt.date
    amount: Decimal | None
    contribution_months: int | None
    updated_at: dt.datetime
    person_id: str = dataclasses.field(repr=False)
    #: Medical insurance since 2021: the scheme at each end (None where not recorded).
    origin_scheme: str | None = None
    destination_scheme: str | None = None

    @classmethod
    def from_row(cls, r: Any) -> Case:
        return cls(
            id=r.id, definition=r.definition_name, definition_version=r.definition_version,
            insurance=r.insurance, state=r.state, version=r.version, person_name=r.person_name,
            person_id_masked=mask_person_id(r.person_id), origin=r.origin,
            destination=r.destination, scope=r.scope, applicant=r.applicant, channel=r.channel,
            documents=tuple(r.documents), requested_documents=tuple(r.requested_documents),
            opened_on=r.opened_on, last_event_on=r.last_event_on,
            amount=None if r.amount_fen is None else Decimal(r.amount_fen).scaleb(-2),
            contribution_months=r.contribution_months, updated_at=r.updated_at,
            person_id=r.person_id, origin_scheme=r.origin_scheme,
            destination_scheme=r.destination_scheme,
        )


@dataclasses.dataclass(frozen=True)
class HistoryEntry(_View):
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    actor_agency: str | None
    business_date: dt.date
    recorded_at: dt.datetime
    documents: tuple[str, ...]
    comment: str | None
    inputs: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Span(_View):
    """One agency time limit of a case: running while ``ended_on`` is None.

    ``due_on`` is the statutory due date; ``committed_due_on`` the one of the owner agency's
    own shorter limit (承诺时限), where it has one; ``due_note`` says how a rule moved a date.
    """

    name: str
    owner: str
    owner_agency: str
    limit_working_days: int | None
    limit_months: int | None
    started_on: dt.date
    due_on: dt.date
    ended_on: dt.date | None
    provisional: bool
    committed_limit_working_days: int | None = None
    committed_due_on: dt.date | None = None
    due_note: str | None = None


class Engine:
    """Runs transfer cases against one database.

    ``Engine()`` uses ``$SSTRANSFER_DATABASE_URL``, else the SQLite file ``./sstransfer.db``.
    ``definitions`` is a folder of workflow definitions (default: the ones shipped).
    """

    def __init__(self, url: str | None = None, *, definitions: Path | str | None = None,
                 settings: Settings | None = None, auto_upgrade: bool | None = None,
                 echo: bool = False) -> None:
        from .monitor import Monitor

        self.settings = settings or Settings.load()
        self.definitions = DefinitionSet(definitions)
        self.calendar = WorkingCalendar(self.definitions.calendars_dir)
        self.url = store.database_url(url)
        self.db = store.connect(self.url, echo=echo)
        try:
            store.ensure_schema(self.db, auto_upgrade=auto_upgrade)
        except BaseException:
            self.db.dispose()
            raise
        self._by_key: dict[tuple[str, int], Definition] = dict(self.definitions.by_key)
        self._register_definitions()
        self.monitor = Monitor(self, self.settings)
        self._scheduler = None

    def close(self) -> None:
        self.shutdown()
        self.db.dispose()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- definitions -----------------------------------------------------------------------
    def _register_definitions(self) -> None:
        with self.db.begin() as conn:
            stored = {(r.name, r.version): r for r in conn.execute(sa.select(definitions_t))}
            for d in self.definitions:
                old = stored.get(d.key)
                if old is None:
                    conn.execute(sa.insert(definitions_t).values(
                        name=d.name, version=d.version, content_hash=d.content_hash,
                        source=d.source, registered_at=store.now()))
                elif old.content_hash != d.content_hash:
                    in_use = conn.scalar(sa.select(sa.func.count()).select_from(cases_t).where(
                        cases_t.c.definition_name == d.name,
                        cases_t.c.definition_version == d.version))
                    if in_use:
                        raise DefinitionChanged(
                            f"{d.path}: {d.name} version {d.version} was edited, but {in_use} "
                            f"case(s) already run on it; put the change in a new version "
                            f"(version: {d.version + 1}) instead of editing this one"
                        )
                    conn.execute(sa.update(definitions_t).where(
                        definitions_t.c.name == d.name, definitions_t.c.version == d.version
                    ).values(content_hash=d.content_hash, source=d.source))

    def definition(self, name: str, version: int | None = None) -> Definition:
        """A definition version; one no longer in the folder is read back from the database."""
        if version is None:
            return self.definitions.latest(name)
        key = (name, version)
        if key not in self._by_key:
            with self.db.connect() as conn:
                row = conn.execute(sa.select(definitions_t).where(
                    definitions_t.c.name == name, definitions_t.c.version == version)).first()
            if row is None:
                raise InvalidInput(f"no definition {name} version {version}")
            self._by_key[key] = parse_definition(f"<stored {name} v{version}>",
                                                 self.definitions.catalogue, row.source)
        return self._by_key[key]

    # --- writing ---------------------------------------------------------------------------
    @contextmanager
    def _tx(self, session: Any = None) -> Iterator[sa.Connection]:
        """One transaction: ours (committed here), or the host's session (it commits)."""
        if session is not None:
            yield session.connection()
            return
        with self.db.connect() as conn, conn.begin():
            yield conn

    def open_case(self, definition: str, *, person_id: str, person_name: str, origin: str,
                  destination: str, applicant: str, channel: str = "counter",
                  documents: Iterable[str] = (), actor: Actor, on: dt.date | None = None,
                  origin_scheme: str | None = None, destination_scheme: str | None = None,
                  session: Any = None) -> Case:
        """Open a transfer case in the definition's initial state; starts its first spans.

        ``origin_scheme``/``destination_scheme``: the medical insurance scheme at each end
        (``urban_employee`` or ``urban_rural_resident``), required by definitions that record
        them (medical_transfer since version 2) and refused by the others.

        ``session``: a SQLAlchemy/SQLModel session of the host application; the case is then
        written in its transaction and committed (or rolled back) with the host's own writes.
        """
        with self._refusals(OPEN_TRIGGER, None, actor):
            on = check_date(today() if on is None else on)
            d = self.definition(definition)
            fields = decide_open(d, person_id=person_id, person_name=person_name, origin=origin,
                                 destination=destination, applicant=applicant, channel=channel,
                                 documents=documents, actor=actor, origin_scheme=origin_scheme,
                                 destination_scheme=destination_scheme)
            stamp = store.now()
            row, spans = _new_case(d, fields, on, stamp)
            with self._tx(session) as conn:
                [case_id] = self._write_new_cases(conn, [row], [spans], actor, stamp)
        log.info("case_opened", case_id=case_id, definition=d.name, version=d.version,
                 state=d.initial, actor=actor.id, role=actor.role, agency=actor.agency,
                 origin=origin, destination=destination)
        return Case.from_row(SimpleNamespace(id=case_id, **row))

    def open_cases(self, applications: Iterable[Mapping[str, Any]], *, actor: Actor,
                   on: dt.date | None = None, first_line: int = 1,
                   progress: Callable[[int], None] | None = None) -> list[int]:
        """Open many cases in one transaction, with the same checks as :meth:`open_case`.

        Each application is a mapping of ``open_case``'s arguments plus ``definition`` (and
        optionally ``on``). A bad one is refused as :class:`InvalidRow` naming its line
        (``first_line`` is the line of the first application) and nothing is written.
        Returns the new case ids in order.
        """
        default_on = check_date(today() if on is None else on)
        stamp, cases, spans_of = store.now(), [], []
        for line, app in enumerate(applications, first_line):
            try:
                app = dict(app)
                unknown = sorted(set(app) - _APPLICATION_FIELDS)
                missing = sorted(_APPLICATION_FIELDS - _OPTIONAL_FIELDS - set(app))
                if unknown or missing:
                    raise InvalidInput("; ".join(
                        ([f"unknown field(s): {', '.join(unknown)}"] if unknown else [])
                        + ([f"missing field(s): {', '.join(missing)}"] if missing else [])))
                d = self.definition(app.pop("definition"))
                when = check_date(app.pop("on", None) or default_on)
                app.setdefault("channel", "counter")
                app.setdefault("documents", ())
                fields = decide_open(d, actor=actor, **app)
            except _WorkflowError as exc:
                error = InvalidRow(line, exc)
                log.info("refused", trigger="open_cases", error=type(exc).__name__,
                         reason=str(error), actor=actor.id, role=actor.role, agency=actor.agency)
                raise error from None
            row, spans = _new_case(d, fields, when, stamp)
            cases.append(row)
            spans_of.append(spans)
            if progress and len(cases) % 1000 == 0:
                progress(len(cases))
        if not cases:
            return []
        with self._tx() as conn:
            ids = self._write_new_cases(conn, cases, spans_of, actor, stamp)
        if progress:
            progress(len(cases))
        log.info("cases_opened", count=len(ids), first_case_id=ids[0], last_case_id=ids[-1],
                 actor=actor.id, role=actor.role, agency=actor.agency)
        return ids

    def fire(self, case_id: int, trigger: str, *, actor: Actor, on: dt.date | None = None,
             documents: Iterable[str] = (), expected_version: int | None = None,
             explanation: str | None = None, documents_needed: Sequence[str] | None = None,
             amount: Decimal | int | str | None = None, contribution_months: int | None = None,
             idempotency_key: str | None = None, session: Any = None) -> Case:
        """Fire ``trigger`` on a case; raises a :class:`WorkflowError` and writes nothing if refused.

        ``expected_version``: the case version the caller decided on (from :meth:`get`); if
        the case has moved on since, :class:`ConcurrentUpdate` is raised.
        ``idempotency_key``: a retried call with the same key returns the first result and
        writes nothing; the same key with different arguments is refused.
        ``session``: the host application's SQLAlchemy/SQLModel session (see :meth:`open_case`).
        """
        inputs = {"explanation": explanation, "documents_needed": documents_needed,
                  "amount": amount, "contribution_months": contribution_months}
        request = None
        if idempotency_key is not None:
            request = _request_hash(case_id, trigger, actor, on, documents, inputs,
                                    expected_version)
        with self._refusals(trigger, case_id, actor):
            on = check_date(today() if on is None else on)
            try:
                with self._tx(session) as conn:
                    if request is not None:
                        first = self._idempotent(conn, idempotency_key, request)
                        if first is not None:
                            return first
                    row = self._row(conn, case_id, expected_version, on)
                    d = self.definition(row.definition_name, row.definition_version)
                    step = decide(d, self._facts(row), trigger, actor, documents, inputs)
                    case = self._apply(conn, row, step, actor, on)
                    if request is not None:
                        conn.execute(sa.insert(idempotency_t).values(
                            key=idempotency_key, case_id=case_id, request_hash=request,
                            result=_snapshot(case), created_at=case.updated_at))
            except sa.exc.IntegrityError:
                if request is None or session is not None:
                    raise
                with self.db.connect() as conn:  # a concurrent call with the same key won
                    first = self._idempotent(conn, idempotency_key, request)
                if first is None:
                    raise
                return first
        log.info("transition", case_id=case_id, trigger=trigger, from_state=step.source,
                 to_state=step.dest, actor=actor.id, role=actor.role, agency=actor.agency)
        return case

    def attach_documents(self, case_id: int, documents: Iterable[str], *, actor: Actor,
                         on: dt.date | None = None, expected_version: int | None = None,
                         session: Any = None) -> Case:
        """Add documents to a running case without changing its state."""
        with self._refusals(ATTACH_TRIGGER, case_id, actor):
            on = check_date(today() if on is None else on)
            with self._tx(session) as conn:
                row = self._row(conn, case_id, expected_version, on)
                d = self.definition(row.definition_name, row.definition_version)
                step = decide_attach(d, self._facts(row), actor, documents)
                case = self._apply(conn, row, step, actor, on)
        log.info("documents_attached", case_id=case_id, documents=list(step.supplied),
                 actor=actor.id, role=actor.role, agency=actor.agency)
        return case

    def _write_new_cases(self, conn: sa.Connection, cases: list[dict[str, Any]],
                         spans_of: list[tuple], actor: Actor, stamp: dt.datetime) -> list[int]:
        """Insert new cases with their opening history row and first spans; their ids."""
        ids = _INSERT_CASE.insert_ids(conn, cases)
        _INSERT_HISTORY.run_many(conn, [self._history(
            case_id, 1, OPEN_TRIGGER, None, c["state"], actor, c["opened_on"], stamp,
            c["documents"], None, {}) for case_id, c in zip(ids, cases, strict=True)])
        dues: dict = {}
        span_rows = [r for case_id, c, (d, origin, destination, started)
                     in zip(ids, cases, spans_of, strict=True)
                     for r in self._span_rows(case_id, d, origin, destination, started,
                                              c["opened_on"], dues)]
        if span_rows:
            _INSERT_SPAN.run_many(conn, span_rows)
        return ids

    @contextmanager
    def _refusals(self, trigger: str, case_id: int | None, actor: Actor) -> Iterator[None]:
        try:
            yield
        except _WorkflowError as exc:
            log.info("refused", case_id=case_id, trigger=trigger, error=type(exc).__name__,
                     reason=str(exc), actor=getattr(actor, "id", None),
                     role=getattr(actor, "role", None), agency=getattr(actor, "agency", None))
            raise

    @staticmethod
    def _idempotent(conn: sa.Connection, key: str, request: str) -> Case | None:
        row = conn.execute(sa.select(idempotency_t).where(idempotency_t.c.key == key)).first()
        if row is None:
            return None
        if row.request_hash != request:
            raise InvalidInput(f"idempotency key {key!r} was already used for a different call")
        return _from_snapshot(row.result)

    @staticmethod
    def _row(conn: sa.Connection, case_id: int, expected_version: int | None, on: dt.date) -> Any:
        row = conn.execute(_SELECT_FOR_STEP, {"_id": case_id}).first()
        if row is None:
            raise CaseNotFound(case_id)
        if expected_version is not None and expected_version != row.version:
            raise ConcurrentUpdate(case_id, expected_version)
        if on < row.last_event_on:
            raise InvalidInput(f"business date {on} is before case {case_id}'s last step "
                               f"on {row.last_event_on}")
        return row

    @staticmethod
    def _facts(row: Any) -> CaseFacts:
        return CaseFacts(row.id, row.state, row.origin, row.destination, row.applicant,
                         row.channel, frozenset(row.documents), tuple(row.requested_documents))

    def _apply(self, conn: sa.Connection, row: Any, step: Step, actor: Actor, on: dt.date) -> Case:
        """Write one step: the case (version-checked), its history row, its span changes."""
        stamp = store.now()
        values: dict[str, Any] = {
            "state": step.dest, "version": row.version + 1, "documents": list(step.documents),
            "requested_documents": list(step.requested), "last_event_on": on,
            "updated_at": stamp,
        }
        if "amount" in step.inputs:
            values["amount_fen"] = int(Decimal(step.inputs["amount"]).scaleb(2))
        if "contribution_months" in step.inputs:
            values["contribution_months"] = step.inputs["contribution_months"]
        if _UPDATE_CASE.run(conn, {"_id": row.id, "_version": row.version, **values}) != 1:
            raise ConcurrentUpdate(row.id, row.version)
        inputs = {k: v for k, v in step.inputs.items() if k != "explanation"}
        _INSERT_HISTORY.run(conn, self._history(
            row.id, row.version + 1, step.trigger, step.source, step.dest, actor, on, stamp,
            step.supplied, step.inputs.get("explanation"), inputs))
        if step.spans_ended is None:
            _END_ALL_SPANS.run(conn, {"_case": row.id, "ended_on": on})
        else:
            for name in step.spans_ended:
                _END_SPAN.run(conn, {"_case": row.id, "_name": name, "ended_on": on})
        if step.spans_started:
            d = self.definition(row.definition_name, row.definition_version)
            self._start_spans(
                conn, [(row.id, d, row.origin, row.destination, step.spans_started)], on)
        return Case.from_row(SimpleNamespace(**{**row._mapping, **values}))

    @staticmethod
    def _history(case_id: int, seq: int, trigger: str, source: str | None, dest: str,
                 actor: Actor, on: dt.date, stamp: dt.datetime, documents: Iterable[str],
                 comment: str | None, inputs: dict[str, Any]) -> dict[str, Any]:
        return dict(case_id=case_id, seq=seq, trigger=trigger, from_state=source, to_state=dest,
                    actor_id=actor.id, actor_role=actor.role, actor_agency=actor.agency,
                    business_date=on, recorded_at=stamp, documents=list(documents),
                    comment=comment, inputs=inputs)

    def _span_rows(self, case_id: int, d: Definition, origin: str, destination: str,
                   specs: Iterable[Any], on: dt.date,
                   dues: dict | None = None) -> list[dict[str, Any]]:
        rows = []
        for spec in specs:
            # The person's own limits are chased by the destination agency.
            agency = origin if spec.owner == "origin" else destination
            key = (on, d.key, spec.name, agency)
            due = dues.get(key) if dues is not None else None
            if due is None:
                due = span_due(self.calendar.for_agency(agency), d, spec, on, agency,
                               self.definitions.commitments)
                if dues is not None:
                    dues[key] = due
            rows.append({
                "case_id": case_id, "name": spec.name, "owner": spec.owner,
                "owner_agency": agency, "limit_working_days": spec.limit_working_days,
                "limit_months": spec.limit_months, "started_on": on, "ended_on": None,
                **due.columns(),
            })
        return rows

    def _start_spans(self, conn: sa.Connection, cases: Iterable[tuple], on: dt.date) -> None:
        rows = [r for case_id, d, origin, destination, specs in cases
                for r in self._span_rows(case_id, d, origin, destination, specs, on)]
        if rows:
            _INSERT_SPAN.run_many(conn, rows)

    # --- reading ---------------------------------------------------------------------------
    def get(self, case_id: int) -> Case:
        with self.db.connect() as conn:
            row = conn.execute(_SELECT_CASE, {"_id": case_id}).first()
        if row is None:
            raise CaseNotFound(case_id)
        return Case.from_row(row)

    def history(self, case_id: int) -> list[HistoryEntry]:
        self.get(case_id)
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(history_t).where(history_t.c.case_id == case_id)
                                .order_by(history_t.c.seq)).all()
        return [HistoryEntry.from_row(r, documents=tuple(r.documents), inputs=dict(r.inputs))
                for r in rows]

    def spans(self, case_id: int) -> list[Span]:
        self.get(case_id)
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(spans_t).where(spans_t.c.case_id == case_id)
                                .order_by(spans_t.c.id)).all()
        return [_span(r) for r in rows]

    def cases(self, *, state: str | None = None, agency: str | None = None,
              definition: str | None = None, limit: int | None = None) -> list[Case]:
        """Cases in id order; ``agency`` matches either the origin or the destination."""
        query = sa.select(cases_t).order_by(cases_t.c.id)
        if state is not None:
            query = query.where(cases_t.c.state == state)
        if agency is not None:
            query = query.where(sa.or_(cases_t.c.origin == agency,
                                       cases_t.c.destination == agency))
        if definition is not None:
            query = query.where(cases_t.c.definition_name == definition)
        if limit is not None:
            query = query.limit(limit)
        with self.db.connect() as conn:
            return [Case.from_row(r) for r in conn.execute(query)]

    # --- deadlines: alerts, reports, the scheduler ----------------------------------------------
    def scan(self, as_of: dt.date | None = None):
        """Raise the alerts due on ``as_of`` (default today); returns a ``ScanResult``."""
        return self.monitor.scan(check_date(today() if as_of is None else as_of, "as_of"))

    def alerts(self, *, level: str | None = None, agency: str | None = None,
               case_id: int | None = None, as_of: dt.date | None = None,
               run_id: int | None = None, limit: int | None = None):
        """Stored alerts, oldest first; ``run_id`` picks those one scan raised."""
        return self.monitor.alerts(level=level, agency=agency, case_id=case_id, as_of=as_of,
                                   run_id=run_id, limit=limit)

    def on_alert(self, callback, name: str | None = None) -> str:
        """Call ``callback(alert)`` for each new alert; a failure is retried on the next scan."""
        return self.monitor.on_alert(callback, name)

    def recompute_due_dates(self) -> list[dict[str, Any]]:
        """Recompute the due dates of running spans whose counting window touches a year whose
        holiday schedule changed since they were computed (e.g. after adding next year's)."""
        return self.monitor.recompute()

    def overdue_report(self, as_of: dt.date | None = None, *, since: dt.date | None = None,
                       progress=None):
        from .reports import build_overdue_report

        as_of = check_date(today() if as_of is None else as_of, "as_of")
        return build_overdue_report(self, as_of, since=since, progress=progress)

    def start_scheduler(self) -> None:
        """Run the daily scan and weekly report in this process (China time), catching up first."""
        from .scheduler import build_scheduler

        if self._scheduler is None:
            self._scheduler = build_scheduler(self)
            self._scheduler.start()
            log.info("scheduler_started", scan_at=str(self.settings.scan_at),
                     report=f"{self.settings.report_day} {self.settings.report_at}")

    def shutdown(self) -> None:
        """Stop the scheduler, letting a running job finish."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
            log.info("scheduler_stopped")


def _new_case(d: Definition, fields: dict[str, Any], on: dt.date,
              stamp: dt.datetime) -> tuple[dict[str, Any], tuple]:
    """The row of a case opened on ``on`` (from :func:`decide_open`'s fields), and what its
    spans need: (origin, destination, span specs)."""
    fields = dict(fields)
    spans = (d, fields["origin"], fields["destination"], fields.pop("spans_started"))
    row = dict(definition_name=d.name, definition_version=d.version, insurance=d.insurance,
               state=d.initial, version=1, requested_documents=[], opened_on=on,
               last_event_on=on, amount_fen=None, contribution_months=None, created_at=stamp,
               updated_at=stamp, **fields)
    row["documents"] = list(row["documents"])
    return row, spans


_APPLICATION_FIELDS = {"definition", "on", "person_id", "person_name", "origin", "destination",
                       "applicant", "channel", "documents", "origin_scheme", "destination_scheme"}
_OPTIONAL_FIELDS = {"on", "channel", "documents", "origin_scheme", "destination_scheme"}
_SELECT_CASE = sa.select(cases_t).where(cases_t.c.id == sa.bindparam("_id"))
# A step rewrites the timestamps: no need to read and parse them.
_SELECT_FOR_STEP = sa.select(*(c for c in cases_t.c if c.name not in ("created_at", "updated_at"))
                             ).where(cases_t.c.id == sa.bindparam("_id"))
# The transition hot path: compiled once per database kind, run on the driver's cursor.
_UPDATE_CASE = store.Prepared(sa.update(cases_t).where(
    cases_t.c.id == sa.bindparam("_id"), cases_t.c.version == sa.bindparam("_version")))
_INSERT_HISTORY = store.Prepared(sa.insert(history_t))
_INSERT_CASE = store.Prepared(sa.insert(cases_t).returning(cases_t.c.id))
_INSERT_SPAN = store.Prepared(sa.insert(spans_t))
_END_ALL_SPANS = store.Prepared(sa.update(spans_t).where(
    spans_t.c.case_id == sa.bindparam("_case"), spans_t.c.ended_on.is_(None)))
_END_SPAN = store.Prepared(sa.update(spans_t).where(
    spans_t.c.case_id == sa.bindparam("_case"), spans_t.c.ended_on.is_(None),
    spans_t.c.name == sa.bindparam("_name")))


def _request_hash(case_id: int, trigger: str, actor: Actor, on: dt.date | None,
                  documents: Iterable[str], inputs: Mapping[str, Any],
                  expected_version: int | None) -> str:
    """What identifies a call for its idempotency key."""
    if isinstance(documents, str):
        raise InvalidInput("documents must be a list of document kinds")
    documents = list(documents)
    body = [case_id, trigger, actor.id, actor.role, actor.agency, _plain(on),
            sorted(map(str, documents)), expected_version,
            {k: _plain(v) for k, v in sorted(inputs.items()) if v is not None}]
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _snapshot(case: Case) -> dict[str, Any]:
    data = {f.name: _plain(getattr(case, f.name)) for f in dataclasses.fields(case)}
    return data


def _from_snapshot(data: Mapping[str, Any]) -> Case:
    data = dict(data)
    for name in ("opened_on", "last_event_on"):
        data[name] = dt.date.fromisoformat(data[name])
    data["updated_at"] = dt.datetime.fromisoformat(data["updated_at"])
    data["amount"] = None if data["amount"] is None else Decimal(data["amount"])
    data["documents"] = tuple(data["documents"])
    data["requested_documents"] = tuple(data["requested_documents"])
    return Case(**data)


def retry_on_conflict(call: Callable[[], Any], *, attempts: int = 5, delay: float = 0.02) -> Any:
    """Run ``call()``; on :class:`ConcurrentUpdate` wait a little and run it again.

    For calls that decide afresh on each attempt (no ``expected_version``): the retry reads
    the case again, so it may then be refused for a real reason (e.g. InvalidTransition).
    """
    for attempt in range(attempts):
        try:
            return call()
        except ConcurrentUpdate:
            if attempt == attempts - 1:
                raise
            time.sleep(delay * (2 ** attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


def _span(r: Any) -> Span:
    return Span.from_row(r, provisional=bool(r.provisional))


__all__ = ["CHINA", "Case", "Engine", "HistoryEntry", "Span", "retry_on_conflict", "today"]
