"""Cases: open, fire, attach documents, correct a business date, read.

Reads a case, asks the pure rules (:mod:`workflow.core.rules`) what the step changes, and
writes the new state, the history row and the span changes in one transaction of the
:class:`~workflow.store.port.CaseStore` with an optimistic version check.
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
from types import SimpleNamespace
from typing import Any

import structlog

from ..core.calendar import WorkingDays
from ..core.commitments import CommittedLimits
from ..core.deadlines import SpanDue, span_due
from ..core.definitions import Definition
from ..core.divisions import Divisions
from ..core.inputs import (
    APPLICATION_FIELDS,
    OPTIONAL_APPLICATION_FIELDS,
    TEXT_MAX,
    Actor,
    check_actor,
    check_date,
    check_kinds,
    check_name,
    check_person_id,
    check_text,
    normalise,
    today,
)
from ..core.rules import CaseFacts, Step, decide, decide_attach, decide_open
from ..core.schema import OPEN_EVENT, SpanSpec
from ..core.views import Case, _plain
from ..errors import (
    CaseNotFound,
    ConcurrentUpdate,
    InvalidInput,
    InvalidRow,
    NotPermitted,
)
from ..errors import WorkflowError as _WorkflowError
from ..settings import Settings
from ..store.connection import now
from ..store.port import CaseStore, CaseTransactionPort
from ..store.tables import HistoryEntry, Span
from .definitions import DefinitionRegistry

OPEN_TRIGGER = "open"
CORRECT_TRIGGER = "correct_business_date"
ATTACH_TRIGGER = "attach_documents"
log = structlog.get_logger("sstransfer")


class CaseService:
    """Opens, steps and reads cases, given what it needs: the case store, the definitions,
    the calendar, the divisions and the settings (never the whole engine)."""

    def __init__(self, store: CaseStore, definitions: DefinitionRegistry,
                 calendar: WorkingDays, divisions: Divisions, settings: Settings,
                 commitments: CommittedLimits) -> None:
        self.store, self.definitions, self.calendar = store, definitions, calendar
        self.divisions, self.settings, self.commitments = divisions, settings, commitments

    def definition(self, name: str, version: int | None = None) -> Definition:
        return self.definitions.get(name, version)

    # --- writing ---------------------------------------------------------------------------
    def open_case(self, definition: str, *, person_id: str, person_name: str, origin: str,
                  destination: str, applicant: str, channel: str = "counter",
                  documents: Iterable[str] = (), actor: Actor, on: dt.date | None = None,
                  origin_scheme: str | None = None, destination_scheme: str | None = None,
                  session: Any = None) -> Case:
        """See :meth:`workflow.Engine.open_case`."""
        with self._refusals(OPEN_TRIGGER, None, actor):
            on = self._business_date(on)
            d = self._definition_named(definition)
            fields = decide_open(d, person_id=person_id, person_name=person_name, origin=origin,
                                 destination=destination, applicant=applicant, channel=channel,
                                 documents=documents, actor=actor, divisions=self.divisions,
                                 today=today(), origin_scheme=origin_scheme,
                                 destination_scheme=destination_scheme)
            stamp = now()
            row, spans = _new_case(d, fields, on, stamp)
            span_rows = self._span_rows(None, *spans, on)
            with self.store.transaction(session) as tx:
                [case_id] = self._write_new_cases(tx, [row], [span_rows], actor, stamp)
        log.info("case_opened", case_id=case_id, definition=d.name, version=d.version,
                 state=d.initial, actor=actor.id, role=actor.role, agency=actor.agency,
                 origin=row["origin"], destination=row["destination"])
        return Case.from_row(SimpleNamespace(id=case_id, **row))

    def open_cases(self, applications: Iterable[Mapping[str, Any]], *, actor: Actor,
                   on: dt.date | None = None, first_line: int = 1,
                   progress: Callable[[int], None] | None = None) -> list[int]:
        """See :meth:`workflow.Engine.open_cases`."""
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
        stamp, cases, spans_of = now(), [], []
        dues: dict[tuple[dt.date, tuple[str, int], str, str], SpanDue] = {}
        current = today()
        # What an application's checks and spans depend on besides the person repeats across
        # a file: (definition, agencies, applicant, channel, documents, schemes). The first
        # application of each such key runs all of decide_open; the next ones only check
        # their ID number and name (checked first by decide_open too) and reuse the rest.
        # (Not for a person applying for themselves: decide_open also checks who they are.)
        checked: dict[tuple[Any, ...], dict[str, Any]] = {}
        spans_on: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        memoise = actor.role != "self"
        dates: dict[dt.date, dt.date] = {}
        for position, app in enumerate(applications, first_line):
            line = getattr(app, "line", position)  # read from a file: the line it starts on
            try:
                if not isinstance(app, Mapping):
                    raise InvalidInput("an application must be a mapping of open_case's arguments")
                app = dict(app)
                if not (app.keys() <= _APPLICATION_FIELDS and app.keys() >= _REQUIRED_FIELDS):
                    unknown = sorted(map(str, set(app) - _APPLICATION_FIELDS))
                    missing = sorted(_REQUIRED_FIELDS - set(app))
                    raise InvalidInput("; ".join(
                        ([f"unknown field(s): {', '.join(unknown)}"] if unknown else [])
                        + ([f"missing field(s): {', '.join(missing)}"] if missing else [])))
                d = self._definition_named(app.pop("definition"))
                when = app.pop("on", None)
                if when is None:
                    when = default_on
                elif type(when) is dt.date:  # the same day, checked once
                    when = dates[when] if when in dates else dates.setdefault(
                        when, self._business_date(when))
                else:
                    when = self._business_date(when)
                app.setdefault("channel", "counter")
                app.setdefault("documents", ())
                key = _same_checks(d, app) if memoise else None
                known = checked.get(key) if key is not None else None
                if known is not None:
                    fields = {**known, "person_id": check_person_id(app["person_id"], current),
                              "person_name": check_name(app["person_name"])}
                else:
                    fields = decide_open(d, actor=actor, divisions=self.divisions,
                                         today=current, **app)
                    if key is not None:
                        checked[key] = fields
                row, spans = _new_case(d, fields, when, stamp)
                # Due dates are computed here, so that a date the calendar cannot count from
                # is refused with its line; the same spans from the same day are the same rows.
                span_key = (key, when) if key is not None else None
                span_rows = spans_on.get(span_key) if span_key is not None else None
                if span_rows is None:
                    span_rows = self._span_rows(None, *spans, when, dues)
                    if span_key is not None:
                        spans_on[span_key] = span_rows
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
        with self.store.transaction() as tx:
            ids = self._write_new_cases(tx, cases, spans_of, actor, stamp)
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
        """See :meth:`workflow.Engine.fire`."""
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
            with self.store.transaction(session) as tx:
                # claimed before deciding: a duplicate waits here (request: only with a key)
                if request is not None and idempotency_key is not None:
                    first = self._idempotent(tx, idempotency_key, case_id, request)
                    if first is not None:
                        return first
                row = self._row(tx, case_id, expected_version, on)
                d = self.definition(row.definition_name, row.definition_version)
                step = decide(d, CaseFacts.of(row), trigger, actor, documents, inputs,
                              self.divisions)
                case = self._apply(tx, row, step, actor, on)
                if request is not None and idempotency_key is not None:
                    tx.record_idempotent_result(idempotency_key, _snapshot(case))
        log.info("transition", case_id=case_id, trigger=step.trigger, from_state=step.source,
                 to_state=step.dest, actor=actor.id, role=actor.role, agency=actor.agency)
        return case

    def attach_documents(self, case_id: int, documents: Iterable[str], *, actor: Actor,
                         on: dt.date | None = None, expected_version: int | None = None,
                         session: Any = None) -> Case:
        """See :meth:`workflow.Engine.attach_documents`."""
        with self._refusals(ATTACH_TRIGGER, case_id, actor):
            check_actor(actor, self.divisions)
            case_id = _case_id(case_id)
            _check_version(expected_version)
            documents = check_kinds(documents)
            on = self._business_date(on)
            with self.store.transaction(session) as tx:
                row = self._row(tx, case_id, expected_version, on)
                d = self.definition(row.definition_name, row.definition_version)
                step = decide_attach(d, CaseFacts.of(row), actor, documents, self.divisions)
                case = self._apply(tx, row, step, actor, on)
        log.info("documents_attached", case_id=case_id, documents=list(step.supplied),
                 actor=actor.id, role=actor.role, agency=actor.agency)
        return case

    def correct_business_date(self, case_id: int, new_date: dt.date, *, actor: Actor,
                              reason: str, expected_version: int | None = None) -> Case:
        """See :meth:`workflow.Engine.correct_business_date`."""
        with self._refusals(CORRECT_TRIGGER, case_id, actor):
            check_actor(actor, self.divisions)
            case_id = _case_id(case_id)
            _check_version(expected_version)
            reason = check_text(reason, "the reason of a correction", TEXT_MAX, lines=True)
            new_date = self._business_date(new_date)
            with self.store.transaction() as tx:
                row = tx.row_for_step(case_id)
                if row is None:
                    raise CaseNotFound(case_id)
                if expected_version is not None and expected_version != row.version:
                    raise ConcurrentUpdate(case_id, expected_version)
                if actor.role != "supervisor" or actor.agency not in (row.origin, row.destination):
                    raise NotPermitted(
                        f"a business date of case {case_id} may be corrected by a supervisor of "
                        f"agency {row.origin} or {row.destination}; {actor.describe()} may not",
                        may_act=[("supervisor", row.origin), ("supervisor", row.destination)])
                steps = tx.last_steps(case_id, CORRECT_TRIGGER, 2)
                last, before = steps[0], (steps[1] if len(steps) > 1 else None)
                old = last.business_date
                if new_date == old:
                    raise InvalidInput(f"case {case_id}'s last step ({last.trigger}) is already "
                                       f"dated {old}")
                if before is not None and new_date < before.business_date:
                    raise InvalidInput(
                        f"business date {new_date} is before the step before the last "
                        f"({before.trigger} on {before.business_date})")
                case = self._correct(tx, row, last, new_date, actor, reason)
        log.info("business_date_corrected", case_id=case_id, step=last.seq, trigger=last.trigger,
                 old_date=str(old), new_date=str(new_date), actor=actor.id, role=actor.role,
                 agency=actor.agency)
        return case

    def _correct(self, tx: CaseTransactionPort, row: Any, last: Any, new_date: dt.date,
                 actor: Actor, reason: str) -> Case:
        d = self.definition(row.definition_name, row.definition_version)
        old = last.business_date
        event = OPEN_EVENT if last.seq == 1 else last.trigger
        started = {s.name for s in d.spans_started_by(event, row.applicant)}
        ended = set(d.spans_ended_by(event))
        spans = tx.spans_newest_first(row.id)
        for span in spans:
            if span.name in started and span.started_on == old and span.ended_on is None:
                [due] = self._span_rows(row.id, d, row.origin, row.destination,
                                        [s for s in d.spans if s.name == span.name], new_date)
                tx.update_span(span.id, {k: due[k] for k in ("started_on", *_DUE_COLUMNS)})
        moved: set[str] = set()
        for span in spans:  # newest first: the span the step ended, not an older namesake
            final = last.to_state in d.final_states and last.seq > 1
            if (span.ended_on == old and span.name not in moved
                    and (span.name in ended or final)):
                moved.add(span.name)
                tx.update_span(span.id, {"ended_on": new_date})
        tx.redate_step(last.id, new_date)
        stamp = now()
        values: dict[str, Any] = {"version": row.version + 1, "last_event_on": new_date,
                                  "updated_at": stamp}
        if last.seq == 1:
            values["opened_on"] = new_date
        if not tx.update_case(row.id, row.version, values):
            raise ConcurrentUpdate(row.id, row.version)
        tx.insert_history([self._history(
            row.id, row.version + 1, CORRECT_TRIGGER, row.state, row.state, actor,
            today(), stamp, (), reason,
            {"step": last.seq, "trigger": last.trigger, "from": old.isoformat(),
             "to": new_date.isoformat()})])
        return Case.from_row(SimpleNamespace(**{**row._mapping, **values}))

    def _write_new_cases(self, tx: CaseTransactionPort, cases: list[dict[str, Any]],
                         spans_of: list[list[dict[str, Any]]], actor: Actor,
                         stamp: dt.datetime) -> list[int]:
        """Insert new cases with their opening history row and first spans (rows from
        :meth:`_span_rows` without their case id); the new cases' ids."""
        ids = tx.insert_cases(cases)
        tx.insert_history([self._history(
            case_id, 1, OPEN_TRIGGER, None, c["state"], actor, c["opened_on"], stamp,
            c["documents"], None, {}) for case_id, c in zip(ids, cases, strict=True)])
        span_rows = [{**r, "case_id": case_id}
                     for case_id, rows in zip(ids, spans_of, strict=True) for r in rows]
        if span_rows:
            tx.insert_spans(span_rows)
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
    def _idempotent(tx: CaseTransactionPort, key: str, case_id: int,
                    request: str) -> Case | None:
        """Claim ``key`` for this call, or the first call's result if it was made already."""
        row = tx.claim_idempotency_key(key, case_id, request, now())
        if row is None:
            return None
        if row.request_hash != request:
            raise InvalidInput(f"idempotency key {key!r} was already used for a different call")
        return _from_snapshot(row.result)

    @staticmethod
    def _row(tx: CaseTransactionPort, case_id: int, expected_version: int | None,
             on: dt.date) -> Any:
        row = tx.row_for_step(case_id)
        if row is None:
            raise CaseNotFound(case_id)
        if expected_version is not None and expected_version != row.version:
            raise ConcurrentUpdate(case_id, expected_version)
        if on < row.last_event_on:
            raise InvalidInput(f"business date {on} is before case {case_id}'s last step "
                               f"on {row.last_event_on}")
        return row

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

    def _apply(self, tx: CaseTransactionPort, row: Any, step: Step, actor: Actor,
               on: dt.date) -> Case:
        """Write one step: the case (version-checked), its history row, its span changes."""
        stamp = now()
        values: dict[str, Any] = {
            "state": step.dest, "version": row.version + 1, "documents": list(step.documents),
            "requested_documents": list(step.requested), "last_event_on": on,
            "updated_at": stamp,
        }
        if "amount" in step.inputs:
            values["amount_fen"] = int(Decimal(step.inputs["amount"]).scaleb(2))
        if "contribution_months" in step.inputs:
            values["contribution_months"] = step.inputs["contribution_months"]
        if not tx.update_case(row.id, row.version, values):
            raise ConcurrentUpdate(row.id, row.version)
        inputs = {k: v for k, v in step.inputs.items() if k != "explanation"}
        tx.insert_history([self._history(
            row.id, row.version + 1, step.trigger, step.source, step.dest, actor, on, stamp,
            step.supplied, step.inputs.get("explanation"), inputs)])
        tx.end_spans(row.id, step.spans_ended, on)
        if step.spans_started:
            d = self.definition(row.definition_name, row.definition_version)
            rows = self._span_rows(row.id, d, row.origin, row.destination,
                                   step.spans_started, on)
            if rows:
                tx.insert_spans(rows)
        return Case.from_row(SimpleNamespace(**{**row._mapping, **values}))

    @staticmethod
    def _history(case_id: int, seq: int, trigger: str, source: str | None, dest: str,
                 actor: Actor, on: dt.date, stamp: dt.datetime, documents: Iterable[str],
                 comment: str | None, inputs: dict[str, Any]) -> dict[str, Any]:
        return dict(case_id=case_id, seq=seq, trigger=trigger, from_state=source, to_state=dest,
                    actor_id=actor.id, actor_role=actor.role, actor_agency=actor.agency,
                    business_date=on, recorded_at=stamp, documents=list(documents),
                    comment=comment, inputs=inputs)

    def _span_rows(self, case_id: int | None, d: Definition, origin: str, destination: str,
                   specs: Iterable[SpanSpec], on: dt.date,
                   dues: dict[tuple[dt.date, tuple[str, int], str, str], SpanDue] | None = None,
                   ) -> list[dict[str, Any]]:
        rows = []
        for spec in specs:
            # The person's own limits are chased by the destination agency.
            agency = origin if spec.owner == "origin" else destination
            key = (on, d.key, spec.name, agency)
            due = dues.get(key) if dues is not None else None
            if due is None:
                due = span_due(self.calendar.for_agency(agency), d, spec, on, agency,
                               self.commitments)
                if dues is not None:
                    dues[key] = due
            rows.append({
                "case_id": case_id, "name": spec.name, "owner": spec.owner,
                "owner_agency": agency, "limit_working_days": spec.limit_working_days,
                "limit_months": spec.limit_months, "started_on": on, "ended_on": None,
                **due.columns(),
            })
        return rows

    # --- reading ---------------------------------------------------------------------------
    def get(self, case_id: int) -> Case:
        row = self.store.case(_case_id(case_id))
        if row is None:
            raise CaseNotFound(case_id)
        return Case.from_row(row)

    def history(self, case_id: int) -> list[HistoryEntry]:
        self.get(case_id)
        return self.store.history(case_id)

    def spans(self, case_id: int) -> list[Span]:
        self.get(case_id)
        return self.store.spans(case_id)

    def cases(self, *, state: str | None = None, agency: str | None = None,
              definition: str | None = None, limit: int | None = None,
              insurance: str | None = None, overdue_on: dt.date | None = None,
              offset: int = 0, agencies: Sequence[str] | None = None,
              province: str | None = None, applicant: str | None = None,
              applicant_id: str | None = None, person_id: str | None = None) -> list[Case]:
        """See :meth:`workflow.Engine.cases`."""
        agency = normalise(agency) if agency is not None else None
        if overdue_on is not None:
            overdue_on = check_date(overdue_on, "overdue_on")
        for name, number in (("limit", limit), ("offset", offset)):
            if number is not None and (isinstance(number, bool) or not isinstance(number, int)
                                       or number < 0):
                raise InvalidInput(f"{name} must be a whole number >= 0, not {number!r}")
        return [Case.from_row(r) for r in self.store.cases(
            state=state, agency=agency, definition=definition, limit=limit,
            insurance=insurance, overdue_on=overdue_on, offset=offset, agencies=agencies,
            province=province, applicant=applicant, applicant_id=applicant_id,
            person_id=person_id)]


def _new_case(d: Definition, fields: dict[str, Any], on: dt.date,
              stamp: dt.datetime) -> tuple[dict[str, Any],
                                           tuple[Definition, str, str, tuple[SpanSpec, ...]]]:
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


def _same_checks(d: Definition, app: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The key under which applications share their checks and spans (all but the person),
    or None when a value is not plain text (it is then checked on its own)."""
    documents = app["documents"]
    if type(documents) not in (list, tuple):
        return None
    key = (d.key, *documents, None, *[app.get(name) for name in _SHARED_FIELDS])
    for value in key[1:]:
        if value is not None and type(value) is not str:
            return None
    return key


#: The fields of an application that its checks and spans depend on, besides the person's.
_SHARED_FIELDS = ("origin", "destination", "applicant", "channel", "origin_scheme",
                  "destination_scheme")


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
_DUE_COLUMNS = tuple(f.name for f in dataclasses.fields(SpanDue))
_APPLICATION_FIELDS = set(APPLICATION_FIELDS)
_OPTIONAL_FIELDS = set(OPTIONAL_APPLICATION_FIELDS)
_REQUIRED_FIELDS = _APPLICATION_FIELDS - _OPTIONAL_FIELDS
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


__all__ = ["CaseService", "retry_on_conflict"]
