"""The engine: runs transfer cases on their definitions and stores every step.

This is the I/O edge around the pure core (:mod:`workflow.rules`, :mod:`workflow.calendar`):
it reads a case, asks the rules what the step changes, and writes the new state, the history
row and the span changes in one transaction with an optimistic version check.
"""

from __future__ import annotations

import contextlib
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

import sqlalchemy as sa
import structlog

from . import store
from ._views import _plain, _View
from .calendar import WorkingCalendar
from .deadlines import span_due
from .definitions import OPEN_EVENT, Definition, DefinitionSet, parse_definition
from .divisions import Divisions
from .errors import (
    CaseNotFound,
    ConcurrentUpdate,
    DefinitionChanged,
    InvalidInput,
    InvalidRow,
    NotPermitted,
)
from .errors import WorkflowError as _WorkflowError
from .rules import (
    CHINA,
    TEXT_MAX,
    Actor,
    CaseFacts,
    Step,
    check_actor,
    check_date,
    check_kinds,
    check_text,
    decide,
    decide_attach,
    decide_open,
    mask_person_id,
    normalise,
)
from .settings import Settings
from .store import cases_t, definitions_t, history_t, spans_t

OPEN_TRIGGER = "open"
CORRECT_TRIGGER = "correct_business_date"
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
    applicant_id: str | None = None  # the actor who applied (None: a clerk opened the case)
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
            person_id=r.person_id, applicant_id=r.applicant_id, origin_scheme=r.origin_scheme,
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
    ``extra_divisions``: agency division codes newer than the GB/T 2260 list (code → name),
    added to those of ``divisions_extra.yaml`` in the definitions folder.
    """

    def __init__(self, url: str | None = None, *, definitions: Path | str | None = None,
                 settings: Settings | None = None, auto_upgrade: bool | None = None,
                 extra_divisions: Mapping[str, str] | None = None, echo: bool = False) -> None:
        from .monitor import Monitor

        self.settings = settings or Settings.load()
        self.definitions = DefinitionSet(definitions)
        self.divisions = Divisions({**self.definitions.extra_divisions, **(extra_divisions or {})})
        self.calendar = WorkingCalendar(self.definitions.calendars_dir)
        self.url = store.database_url(url)
        self.db = store.connect(self.url, echo=echo,
                                lock_timeout=self.settings.lock_timeout_seconds,
                                statement_timeout=self.settings.statement_timeout_seconds)
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
            on = self._business_date(on)
            d = self._definition_named(definition)
            fields = decide_open(d, person_id=person_id, person_name=person_name, origin=origin,
                                 destination=destination, applicant=applicant, channel=channel,
                                 documents=documents, actor=actor, divisions=self.divisions,
                                 today=today(), origin_scheme=origin_scheme,
                                 destination_scheme=destination_scheme)
            stamp = store.now()
            row, spans = _new_case(d, fields, on, stamp)
            span_rows = self._span_rows(None, *spans, on)
            with self._tx(session) as conn:
                [case_id] = self._write_new_cases(conn, [row], [span_rows], actor, stamp)
        log.info("case_opened", case_id=case_id, definition=d.name, version=d.version,
                 state=d.initial, actor=actor.id, role=actor.role, agency=actor.agency,
                 origin=row["origin"], destination=row["destination"])
        return Case.from_row(SimpleNamespace(id=case_id, **row))

    def open_cases(self, applications: Iterable[Mapping[str, Any]], *, actor: Actor,
                   on: dt.date | None = None, first_line: int = 1,
                   progress: Callable[[int], None] | None = None) -> list[int]:
        """Open many cases in one transaction, with the same checks as :meth:`open_case`.

        Each application is a mapping of ``open_case``'s arguments plus ``definition`` (and
        optionally ``on``). A bad one is refused as :class:`InvalidRow` naming its line
        (``first_line`` is the line of the first application, or each application's
        ``line`` attribute, as :func:`workflow.importing.read_applications` gives it) and
        nothing is written.
        Returns the new case ids in order.
        """
        with self._refusals("open_cases", None, actor):
            check_actor(actor, self.divisions)
            default_on = self._business_date(on)
            if (isinstance(applications, (str, bytes, Mapping))
                    or not isinstance(applications, Iterable)):
                raise InvalidInput("applications must be a list of mappings of open_case's "
                                   "arguments")
            if isinstance(first_line, bool) or not isinstance(first_line, int):
                raise InvalidInput("first_line must be a line number (int)")
            if progress is not None and not callable(progress):
                raise InvalidInput("progress must be a function of the number of cases done")
        stamp, cases, spans_of, dues = store.now(), [], [], {}
        current = today()
        for position, app in enumerate(applications, first_line):
            line = getattr(app, "line", position)  # read from a file: the line it starts on
            try:
                if not isinstance(app, Mapping):
                    raise InvalidInput("an application must be a mapping of open_case's arguments")
                app = dict(app)
                unknown = sorted(map(str, set(app) - _APPLICATION_FIELDS))
                missing = sorted(_APPLICATION_FIELDS - _OPTIONAL_FIELDS - set(app))
                if unknown or missing:
                    raise InvalidInput("; ".join(
                        ([f"unknown field(s): {', '.join(unknown)}"] if unknown else [])
                        + ([f"missing field(s): {', '.join(missing)}"] if missing else [])))
                d = self._definition_named(app.pop("definition"))
                when = app.pop("on", None)
                when = default_on if when is None else self._business_date(when)
                app.setdefault("channel", "counter")
                app.setdefault("documents", ())
                fields = decide_open(d, actor=actor, divisions=self.divisions, today=current,
                                     **app)
                row, spans = _new_case(d, fields, when, stamp)
                # Due dates are computed here, so that a date the calendar cannot count from
                # is refused with its line.
                span_rows = self._span_rows(None, *spans, when, dues)
            except _WorkflowError as exc:
                error = InvalidRow(line, exc)
                log.info("refused", trigger="open_cases", error=type(exc).__name__,
                         reason=str(error), actor=actor.id, role=actor.role, agency=actor.agency)
                raise error from None
            cases.append(row)
            spans_of.append(span_rows)
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
        with self._refusals(trigger, case_id, actor):
            check_actor(actor, self.divisions)
            case_id = _case_id(case_id)
            _check_version(expected_version)
            documents = check_kinds(documents)
            if idempotency_key is not None:
                idempotency_key = check_text(idempotency_key, "idempotency_key", 200)
                request = _request_hash(case_id, trigger, actor, on, documents, inputs,
                                        expected_version)
            on = self._business_date(on)
            with self._tx(session) as conn:
                if request is not None:  # claimed before deciding: a duplicate waits here
                    first = self._idempotent(conn, idempotency_key, case_id, request)
                    if first is not None:
                        return first
                row = self._row(conn, case_id, expected_version, on)
                d = self.definition(row.definition_name, row.definition_version)
                step = decide(d, self._facts(row), trigger, actor, documents, inputs,
                              self.divisions)
                case = self._apply(conn, row, step, actor, on)
                if request is not None:
                    store.record_idempotent_result(conn, idempotency_key, _snapshot(case))
        log.info("transition", case_id=case_id, trigger=step.trigger, from_state=step.source,
                 to_state=step.dest, actor=actor.id, role=actor.role, agency=actor.agency)
        return case

    def attach_documents(self, case_id: int, documents: Iterable[str], *, actor: Actor,
                         on: dt.date | None = None, expected_version: int | None = None,
                         session: Any = None) -> Case:
        """Add documents to a running case without changing its state."""
        with self._refusals(ATTACH_TRIGGER, case_id, actor):
            check_actor(actor, self.divisions)
            case_id = _case_id(case_id)
            _check_version(expected_version)
            documents = check_kinds(documents)
            on = self._business_date(on)
            with self._tx(session) as conn:
                row = self._row(conn, case_id, expected_version, on)
                d = self.definition(row.definition_name, row.definition_version)
                step = decide_attach(d, self._facts(row), actor, documents, self.divisions)
                case = self._apply(conn, row, step, actor, on)
        log.info("documents_attached", case_id=case_id, documents=list(step.supplied),
                 actor=actor.id, role=actor.role, agency=actor.agency)
        return case

    def correct_business_date(self, case_id: int, new_date: dt.date, *, actor: Actor,
                              reason: str, expected_version: int | None = None) -> Case:
        """Correct a wrong business date of a case's last step (a supervisor's recorded act).

        Moves the step's date in its history row, the case's last-step date (and opening date
        if the step was the opening), recomputes the due dates of the spans the step started
        and moves the end of those it ended; a ``correct_business_date`` history row records
        the old and new dates, the step and the ``reason``. Only a supervisor of the case's
        origin or destination agency may do this; the new date is not before the step
        before it, nor after today (``settings.max_days_ahead``).
        """
        with self._refusals(CORRECT_TRIGGER, case_id, actor):
            check_actor(actor, self.divisions)
            case_id = _case_id(case_id)
            _check_version(expected_version)
            reason = check_text(reason, "the reason of a correction", TEXT_MAX, lines=True)
            new_date = self._business_date(new_date)
            with self._tx() as conn:
                row = conn.execute(_SELECT_FOR_STEP, {"_id": case_id}).first()
                if row is None:
                    raise CaseNotFound(case_id)
                if expected_version is not None and expected_version != row.version:
                    raise ConcurrentUpdate(case_id, expected_version)
                if actor.role != "supervisor" or actor.agency not in (row.origin, row.destination):
                    raise NotPermitted(
                        f"a business date of case {case_id} may be corrected by a supervisor of "
                        f"agency {row.origin} or {row.destination}; {actor.describe()} may not")
                steps = conn.execute(sa.select(history_t).where(
                    history_t.c.case_id == case_id, history_t.c.trigger != CORRECT_TRIGGER
                ).order_by(history_t.c.seq.desc()).limit(2)).all()
                last, before = steps[0], (steps[1] if len(steps) > 1 else None)
                old = last.business_date
                if new_date == old:
                    raise InvalidInput(f"case {case_id}'s last step ({last.trigger}) is already "
                                       f"dated {old}")
                if before is not None and new_date < before.business_date:
                    raise InvalidInput(
                        f"business date {new_date} is before the step before the last "
                        f"({before.trigger} on {before.business_date})")
                case = self._correct(conn, row, last, new_date, actor, reason)
        log.info("business_date_corrected", case_id=case_id, step=last.seq, trigger=last.trigger,
                 old_date=str(old), new_date=str(new_date), actor=actor.id, role=actor.role,
                 agency=actor.agency)
        return case

    def _correct(self, conn: sa.Connection, row: Any, last: Any, new_date: dt.date,
                 actor: Actor, reason: str) -> Case:
        d = self.definition(row.definition_name, row.definition_version)
        old = last.business_date
        event = OPEN_EVENT if last.seq == 1 else last.trigger
        started = {s.name for s in d.spans_started_by(event, row.applicant)}
        ended = set(d.spans_ended_by(event))
        spans = conn.execute(sa.select(spans_t).where(spans_t.c.case_id == row.id)
                             .order_by(spans_t.c.id.desc())).all()
        for span in spans:
            if span.name in started and span.started_on == old and span.ended_on is None:
                [due] = self._span_rows(row.id, d, row.origin, row.destination,
                                        [s for s in d.spans if s.name == span.name], new_date)
                conn.execute(sa.update(spans_t).where(spans_t.c.id == span.id).values(
                    {k: due[k] for k in ("started_on", *_DUE_COLUMNS)}))
        moved: set[str] = set()
        for span in spans:  # newest first: the span the step ended, not an older namesake
            final = last.to_state in d.final_states and last.seq > 1
            if (span.ended_on == old and span.name not in moved
                    and (span.name in ended or final)):
                moved.add(span.name)
                conn.execute(sa.update(spans_t).where(spans_t.c.id == span.id)
                             .values(ended_on=new_date))
        conn.execute(sa.update(history_t).where(history_t.c.id == last.id)
                     .values(business_date=new_date))
        stamp = store.now()
        values: dict[str, Any] = {"version": row.version + 1, "last_event_on": new_date,
                                  "updated_at": stamp}
        if last.seq == 1:
            values["opened_on"] = new_date
        if _UPDATE_CASE.run(conn, {"_id": row.id, "_version": row.version, **values}) != 1:
            raise ConcurrentUpdate(row.id, row.version)
        _INSERT_HISTORY.run(conn, self._history(
            row.id, row.version + 1, CORRECT_TRIGGER, row.state, row.state, actor,
            today(), stamp, (), reason,
            {"step": last.seq, "trigger": last.trigger, "from": old.isoformat(),
             "to": new_date.isoformat()}))
        return Case.from_row(SimpleNamespace(**{**row._mapping, **values}))

    def _write_new_cases(self, conn: sa.Connection, cases: list[dict[str, Any]],
                         spans_of: list[list[dict[str, Any]]], actor: Actor,
                         stamp: dt.datetime) -> list[int]:
        """Insert new cases with their opening history row and first spans (rows from
        :meth:`_span_rows` without their case id); the new cases' ids."""
        ids = _INSERT_CASE.insert_ids(conn, cases)
        _INSERT_HISTORY.run_many(conn, [self._history(
            case_id, 1, OPEN_TRIGGER, None, c["state"], actor, c["opened_on"], stamp,
            c["documents"], None, {}) for case_id, c in zip(ids, cases, strict=True)])
        span_rows = [{**r, "case_id": case_id}
                     for case_id, rows in zip(ids, spans_of, strict=True) for r in rows]
        if span_rows:
            _INSERT_SPAN.run_many(conn, span_rows)
        return ids

    @contextmanager
    def _refusals(self, trigger: str, case_id: int | None, actor: Actor) -> Iterator[None]:
        try:
            yield
        except _WorkflowError as exc:
            log.info("refused", case_id=_loggable(case_id), trigger=_loggable(trigger),
                     error=type(exc).__name__,
                     reason=str(exc), actor=getattr(actor, "id", None),
                     role=getattr(actor, "role", None), agency=getattr(actor, "agency", None))
            raise

    @staticmethod
    def _idempotent(conn: sa.Connection, key: str, case_id: int, request: str) -> Case | None:
        """Claim ``key`` for this call, or the first call's result if it was made already."""
        row = store.claim_idempotency_key(conn, key, case_id, request, store.now())
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
                         row.channel, frozenset(row.documents), tuple(row.requested_documents),
                         row.applicant_id, row.person_id)

    def _business_date(self, on: object) -> dt.date:
        """The business date of a step: a ``datetime.date`` (default today, China time), not
        more than ``settings.max_days_ahead`` days after today."""
        now = today()
        on = check_date(now if on is None else on)
        ahead = self.settings.max_days_ahead
        if on > now + dt.timedelta(days=ahead):
            allowed = f"more than {ahead} day(s) after today" if ahead else "after today"
            raise InvalidInput(f"business date {on} is {allowed} ({now}, China time): a step "
                               "is recorded on the day it happened")
        return on

    def _definition_named(self, name: object) -> Definition:
        name = normalise(name)
        if not isinstance(name, str) or not 0 < len(name) <= 64 or not name.isprintable():
            raise InvalidInput("definition must be the name of a workflow such as "
                               "'pension_transfer'")
        return self.definition(name)

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
        case_id = _case_id(case_id)
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
            agency = normalise(agency)
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
        return self.monitor.alerts(level=level, agency=normalise(agency), case_id=case_id,
                                   as_of=as_of, run_id=run_id, limit=limit)

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
            from apscheduler.jobstores.base import JobLookupError
            from apscheduler.triggers.date import DateTrigger

            # APScheduler 3 removes a one-off job after submitting it; if shutdown() has set the
            # scheduler's state first, that removal raises in its thread. Remove them first (a
            # removal waits for a submission under way, which then removed it itself).
            for job in self._scheduler.get_jobs():
                if isinstance(job.trigger, DateTrigger):
                    with contextlib.suppress(JobLookupError):
                        self._scheduler.remove_job(job.id)
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
            log.info("scheduler_stopped")


def _new_case(d: Definition, fields: dict[str, Any], on: dt.date,
              stamp: dt.datetime) -> tuple[dict[str, Any], tuple]:
    """The row of a case opened on ``on`` (from :func:`decide_open`'s fields), and what its
    spans need: (definition, origin, destination, span specs)."""
    fields = dict(fields)
    spans = (d, fields["origin"], fields["destination"], fields.pop("spans_started"))
    row = dict(definition_name=d.name, definition_version=d.version, insurance=d.insurance,
               state=d.initial, version=1, requested_documents=[], opened_on=on,
               last_event_on=on, amount_fen=None, contribution_months=None, created_at=stamp,
               updated_at=stamp, **fields)
    row["documents"] = list(row["documents"])
    return row, spans


def _loggable(value: object) -> object:
    """A refused call's case id or trigger as a log event may carry it: malformed ones (a
    surrogate, a control character, a long text that might be an ID number) by type only."""
    if value is None or type(value) is int:
        return value
    if isinstance(value, str) and len(value) <= 40 and value.isprintable():
        return value
    return f"<{type(value).__name__}>"


def _case_id(case_id: object) -> int:
    """A case number; one that cannot be in the database is simply not found."""
    if isinstance(case_id, bool) or not isinstance(case_id, int):
        raise InvalidInput(f"a case id is a whole number, not {type(case_id).__name__}")
    if not 1 <= case_id < 2 ** 31:  # the id column's range
        raise CaseNotFound(case_id)
    return case_id


def _check_version(version: object) -> None:
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise InvalidInput(f"expected_version must be a case version (int), "
                           f"not {type(version).__name__}")


#: The columns of a span that :func:`workflow.deadlines.span_due` computes.
_DUE_COLUMNS = ("due_on", "provisional", "committed_limit_working_days", "committed_due_on",
                "due_note", "calendar_fingerprint")
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
    # Keys are in order already; a malformed input (refused later) may hold keys JSON has not.
    return hashlib.sha256(json.dumps(body, default=str, skipkeys=True).encode()).hexdigest()


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
