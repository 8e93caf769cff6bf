"""Cases: open, fire, attach documents, correct a business date, read.

Reads a case, asks the pure rules (:mod:`workflow.core.rules`) what the step changes, and
writes the new state, the history row and the span changes in one transaction of the
:class:`~workflow.ports.CaseStore` with an optimistic version check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import random
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar, cast

from ..core.access import check_date_correction
from ..core.calendar import WorkingDays
from ..core.commitments import CommittedLimits
from ..core.deadlines import SpanDue, span_due
from ..core.definitions import Definition
from ..core.divisions import Divisions
from ..core.inputs import (
    APPLICATION_FIELDS,
    OPTIONAL_APPLICATION_FIELDS,
    PUBLIC_NUMBER_DIGITS,
    TEXT_MAX,
    Actor,
    birth_date,
    check_actor,
    check_date,
    check_kinds,
    check_name,
    check_person_id,
    check_text,
    normalise,
    public_number_from,
    today,
)
from ..core.migration import (
    MIGRATED,
    CaseMigration,
    MigrationPlan,
    RecordedStep,
    RunningSpan,
    check_mapping,
    plan_migration,
)
from ..core.notify import (
    check_contact_email,
    check_contact_phone,
    opened_data,
    step_data,
    step_event,
)
from ..core.queries import CaseQuery
from ..core.rules import CaseFacts, Step, check_department, decide, decide_attach, decide_open
from ..core.schema import OPEN_EVENT, SpanSpec
from ..core.views import Case, _plain
from ..errors import (
    CaseNotFound,
    ConcurrentUpdate,
    InvalidInput,
    InvalidRow,
    MigrationRefused,
    RequiredCaseMissing,
    TransferAlreadyRunning,
)
from ..errors import WorkflowError as _WorkflowError
from ..logs import get_logger
from ..ports import CaseStore, CaseTransactionPort, HostSession
from ..records import (
    CaseLink,
    CaseUpdate,
    HistoryEntry,
    JsonObject,
    NewCase,
    NewEvent,
    NewHistoryEntry,
    NewSpan,
    Span,
    SpanUpdate,
    StepCase,
    StoredSpan,
    StoredStep,
    event_ids,
    now,
)
from ..settings import Settings
from .definitions import DefinitionRegistry
from .papers import PaperService

OPEN_TRIGGER = "open"
CORRECT_TRIGGER = "correct_business_date"
ATTACH_TRIGGER = "attach_documents"
log = get_logger("sstransfer")
#: Due dates computed already, by (start, definition, span, agency).
_Dues = dict[tuple[dt.date, tuple[str, int], str, str], SpanDue]
_T = TypeVar("_T")


class CaseService:
    """Opens, steps and reads cases, given what it needs: the case store, the definitions,
    the calendar, the divisions and the settings (never the whole engine)."""

    def __init__(self, store: CaseStore, definitions: DefinitionRegistry,
                 calendar: WorkingDays, divisions: Divisions, settings: Settings,
                 commitments: CommittedLimits, papers: PaperService) -> None:
        self.store, self.definitions, self.calendar = store, definitions, calendar
        self.divisions, self.settings, self.commitments = divisions, settings, commitments
        self.papers = papers

    def definition(self, name: str, version: int | None = None) -> Definition:
        return self.definitions.get(name, version)

    # --- writing ---------------------------------------------------------------------------
    def open_case(self, definition: str, *, person_id: str, person_name: str,
                  origin: str | None = None,
                  destination: str, applicant: str, channel: str = "counter",
                  documents: Iterable[str] = (), actor: Actor, on: dt.date | None = None,
                  origin_scheme: str | None = None, destination_scheme: str | None = None,
                  contact_phone: str | None = None, contact_email: str | None = None,
                  receiving_employer: bool | None = None, agent_name: str | None = None,
                  agent_id_number: str | None = None,
                  session: HostSession | None = None) -> Case:
        """See :meth:`workflow.Engine.open_case`."""
        with self._refusals(OPEN_TRIGGER, None, actor):
            contact = (check_contact_phone(contact_phone), check_contact_email(contact_email))
            on = self._business_date(on)
            d = self._definition_named(definition)
            fields = decide_open(d, person_id=person_id, person_name=person_name, origin=origin,
                                 destination=destination, applicant=applicant, channel=channel,
                                 documents=documents, actor=actor, divisions=self.divisions,
                                 today=today(), origin_scheme=origin_scheme,
                                 destination_scheme=destination_scheme,
                                 receiving_employer=receiving_employer, agent_name=agent_name,
                                 agent_id_number=agent_id_number)
            _check_born(fields["person_id"], on)
            stamp = now()
            case, specs = _new_case(d, fields, on, stamp)
            spans = self._span_rows(d, case.origin, case.destination, specs, on)
            try:
                with self.store.transaction(session) as tx:
                    case.linked_case_id = self._required_case(tx, d, case)
                    [case_id] = self._write_new_cases(tx, [case], [spans], actor, stamp,
                                                      [contact])
            except TransferAlreadyRunning:  # the database's unique index of running cases
                raise self._running_refusal(case.person_id, case.insurance) from None
        log.info("case_opened", case_id=case_id, definition=d.name, version=d.version,
                 state=d.initial, actor=actor.id, role=actor.role, agency=actor.agency,
                 origin=case.origin, destination=case.destination)
        return Case.from_row(case.stored(case_id))

    def open_cases(self, applications: Iterable[Mapping[str, Any]], *, actor: Actor,
                   on: dt.date | None = None, first_line: int = 1,
                   progress: Callable[[int], None] | None = None) -> list[int]:
        """See :meth:`workflow.Engine.open_cases`."""
        with self._refusals("open_cases", None, actor):
            check_actor(actor, self.divisions)
            batch = _Batch(self, actor, self._business_date(on))
            _check_batch(applications, first_line, progress)
        lines: list[int] = []
        for position, app in enumerate(applications, first_line):
            line = getattr(app, "line", position)  # read from a file: the line it starts on
            try:
                batch.add(app, line)
            except _WorkflowError as exc:
                raise self._refused_row(line, exc, actor) from None
            lines.append(line)
            if progress and len(batch.cases) % 1000 == 0:
                progress(len(batch.cases))
        if not batch.cases:
            return []
        with self._refusals("open_cases", None, actor):
            batch.check_running()
        with self.store.transaction() as tx:
            for line, case, d in zip(lines, batch.cases, batch.definitions, strict=True):
                try:
                    case.linked_case_id = self._required_case(tx, d, case)
                except _WorkflowError as exc:
                    raise self._refused_row(line, exc, actor) from None
            ids = self._write_new_cases(tx, batch.cases, batch.spans, actor, batch.stamp,
                                        batch.contacts)
        if progress:
            progress(len(ids))
        log.info("cases_opened", count=len(ids), first_case_id=ids[0], last_case_id=ids[-1],
                 actor=actor.id, role=actor.role, agency=actor.agency)
        return ids

    def fire(self, case_id: int, trigger: str, *, actor: Actor | ActorOf,
             on: dt.date | None = None,
             documents: Iterable[str] = (), expected_version: int | None = None,
             explanation: str | None = None, documents_needed: Sequence[str] | None = None,
             amount: Decimal | int | str | None = None, contribution_months: int | None = None,
             information_form: Mapping[str, Any] | None = None,
             months_at_destination: int | None = None,
             idempotency_key: str | None = None, session: HostSession | None = None) -> Case:
        """See :meth:`workflow.Engine.fire`.

        ``actor`` may be a function of the case's row (:data:`ActorOf`, a desk's): it is
        called on the row read in the step's own transaction, before anything else is
        checked (the inputs too, as when the desk read the case first), and refuses by
        raising (the transaction then writes nothing). One read of the case serves the
        scope and the step."""
        inputs = {"explanation": explanation, "documents_needed": documents_needed,
                  "amount": amount, "contribution_months": contribution_months,
                  "information_form": information_form,
                  "months_at_destination": months_at_destination}
        acting = _Acting(actor)
        asked_on = on  # an idempotency key's hash takes the date as asked
        with self._refusals(trigger, case_id, acting):
            if acting.given:
                check_actor(acting.actor, self.divisions)
            case_id = _case_id(case_id)
            if acting.given:
                documents, idempotency_key, on = self._step_inputs(
                    expected_version, documents, idempotency_key, on)
            with self.store.transaction(session) as tx:
                found = None
                if not acting.given:  # the scope's read is the step's read
                    found = tx.row_for_step(case_id)
                    if found is None:
                        raise CaseNotFound(case_id)
                    check_actor(acting.of(found), self.divisions)
                    documents, idempotency_key, on = self._step_inputs(
                        expected_version, documents, idempotency_key, on)
                assert acting.actor is not None and on is not None
                request = None
                if idempotency_key is not None:
                    request = _request_hash(case_id, trigger, acting.actor, asked_on,
                                            documents, inputs, expected_version)
                    # claimed before deciding: a duplicate waits here, then reads anew
                    first = self._idempotent(tx, idempotency_key, case_id, request)
                    if first is not None:
                        return first
                    found = None
                row = self._row(tx, case_id, expected_version, on, found)
                d = self.definition(row.definition_name, row.definition_version)
                step = decide(d, CaseFacts.of(row), trigger, acting.actor, documents, inputs,
                              self.divisions)
                case = self._apply(tx, row, step, acting.actor, on)
                if request is not None and idempotency_key is not None:
                    tx.record_idempotent_result(idempotency_key, _snapshot(case))
        actor = acting.actor
        log.info("transition", case_id=case_id, trigger=step.trigger, from_state=step.source,
                 to_state=step.dest, actor=actor.id, role=actor.role, agency=actor.agency)
        return case

    def attach_documents(self, case_id: int, documents: Iterable[str], *, actor: Actor,
                         on: dt.date | None = None, expected_version: int | None = None,
                         session: HostSession | None = None) -> Case:
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
                check_date_correction(actor, case_id, row.origin, row.destination)
                check_department(actor, row.insurance, case_id)
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

    def _correct(self, tx: CaseTransactionPort, row: StepCase, last: StoredStep,
                 new_date: dt.date, actor: Actor, reason: str) -> Case:
        d = self.definition(row.definition_name, row.definition_version)
        old = last.business_date
        spans = tx.spans_newest_first(row.id)
        self._restart_spans(tx, d, row, last, spans, new_date)
        moved: set[str] = set()
        ended = set(d.spans_ended_by(OPEN_EVENT if last.seq == 1 else last.trigger))
        final = last.to_state in d.final_states and last.seq > 1
        for span in spans:  # newest first: the span the step ended, not an older namesake
            if (span.ended_on == old and span.name not in moved
                    and (span.name in ended or final)):
                moved.add(span.name)
                tx.update_span(span.id, SpanUpdate(ended_on=new_date))
        tx.redate_step(last.id, new_date)
        stamp = now()
        change = CaseUpdate(row.version + 1, new_date, stamp,
                            opened_on=new_date if last.seq == 1 else None)
        if not tx.update_case(row.id, row.version, change):
            raise ConcurrentUpdate(row.id, row.version)
        tx.insert_history([self._history(
            row.id, row.version + 1, CORRECT_TRIGGER, row.state, row.state, actor,
            today(), stamp, (), reason,
            {"step": last.seq, "trigger": last.trigger, "from": old.isoformat(),
             "to": new_date.isoformat()})])
        return Case.from_row(change.applied_to(row))

    def _restart_spans(self, tx: CaseTransactionPort, d: Definition, row: StepCase,
                       last: StoredStep, spans: Sequence[StoredSpan], new_date: dt.date) -> None:
        """Move the start of the running spans the corrected step started, and their due
        dates with it."""
        started = {s.name for s in d.spans_started_by(
            OPEN_EVENT if last.seq == 1 else last.trigger, row.applicant,
            row.receiving_employer)}
        for span in spans:
            spec = d.span(span.name)
            if (spec is not None and span.name in started
                    and span.started_on == last.business_date and span.ended_on is None):
                agency = row.origin if spec.owner == "origin" else row.destination
                tx.update_span(span.id, SpanUpdate(
                    started_on=new_date, due=self._due(d, spec, agency, new_date)))

    def _write_new_cases(self, tx: CaseTransactionPort, cases: Sequence[NewCase],
                         spans: Sequence[Sequence[NewSpan]], actor: Actor,
                         stamp: dt.datetime,
                         contacts: Sequence[tuple[str | None, str | None]]) -> list[int]:
        """Insert new cases with their first spans, opening history row, the applicant's
        contact details and the ``case.opened`` event; their ids."""
        ids = tx.insert_cases(cases, spans)
        tx.insert_history([
            NewHistoryEntry(case_id, 1, OPEN_TRIGGER, None, c.state, actor.id, actor.role,
                            actor.agency, c.opened_on, stamp, c.documents, None, {})
            for case_id, c in zip(ids, cases, strict=True)])
        tx.insert_contacts([(case_id, phone, email) for case_id, (phone, email)
                            in zip(ids, contacts, strict=True) if phone or email])
        tx.insert_events([
            NewEvent(event_id, "case.opened", case_id, c.opened_on, stamp, None,
                     opened_data(c.definition_name, c.definition_version, c.insurance,
                                 c.origin, c.destination, c.state))
            for event_id, case_id, c in zip(event_ids(len(ids)), ids, cases, strict=True)])
        return ids

    @staticmethod
    def _refused_row(line: int, exc: _WorkflowError, actor: Actor) -> InvalidRow:
        error = InvalidRow(line, exc)
        log.info("refused", trigger="open_cases", error=type(exc).__name__,
                 reason=str(error), actor=actor.id, role=actor.role, agency=actor.agency)
        return error

    @staticmethod
    def _required_case(tx: CaseTransactionPort, d: Definition, case: NewCase) -> int | None:
        """The case a new case of ``d`` needs (``requires_case``), linked to it: the newest
        of the person's cases of the named definition to the same destination agency in
        one of the named states; refused when there is none."""
        required = d.requires_case
        if required is None:
            return None
        found = tx.required_case(case.person_id, required.definition, case.destination,
                                 required.states)
        if found is None:
            raise RequiredCaseMissing(
                f"{d.name} can be opened only for a person whose {required.definition} to "
                f"agency {case.destination} is {' or '.join(required.states)}; this person "
                "has none", field="person_id", reason="required_case_missing",
                agency=case.destination)
        return found

    def _running_refusal(self, person_id: str, insurance: str) -> TransferAlreadyRunning:
        """The refusal of a second running transfer, naming the running case."""
        running = self.store.running_cases([(person_id, insurance)]).get((person_id, insurance))
        if running is None:  # closed again since: still refused, this call wrote nothing
            return TransferAlreadyRunning(insurance)
        return TransferAlreadyRunning(insurance, running.public_number, running.state,
                                      running.origin, running.destination)

    def _step_inputs(self, expected_version: int | None, documents: Iterable[str],
                     idempotency_key: str | None,
                     on: dt.date | None) -> tuple[list[str], str | None, dt.date]:
        """A step's inputs checked: the version, the document kinds, the key, the date."""
        _check_version(expected_version)
        kinds = check_kinds(documents)
        if idempotency_key is not None:
            idempotency_key = check_text(idempotency_key, "idempotency_key", 200)
        return kinds, idempotency_key, self._business_date(on)

    @contextmanager
    def _refusals(self, trigger: str, case_id: int | None,
                  actor: Actor | _Acting) -> Iterator[None]:
        try:
            yield
        except _WorkflowError as exc:
            who = actor.actor if isinstance(actor, _Acting) else actor  # None: not found yet
            log.info("refused", case_id=_loggable(case_id), trigger=_loggable(trigger),
                     error=type(exc).__name__,
                     reason=str(exc), actor=getattr(who, "id", None),
                     role=getattr(who, "role", None), agency=getattr(who, "agency", None))
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
             on: dt.date, row: StepCase | None = None) -> StepCase:
        """The case a step decides on (``row``: read already in this transaction)."""
        row = row or tx.row_for_step(case_id)
        if row is None:
            raise CaseNotFound(case_id)
        if expected_version is not None and expected_version != row.version:
            raise ConcurrentUpdate(case_id, expected_version)
        if on < row.last_event_on:
            raise InvalidInput(f"business date {on} is before case {case_id}'s last step "
                               f"on {row.last_event_on}", field="on", reason="before_last_step",
                               last=row.last_event_on.isoformat())
        return row

    def _business_date(self, on: object) -> dt.date:
        """The business date of a step: a ``datetime.date`` (default today, China time), not
        more than ``settings.max_days_ahead`` days after today, and not before
        ``settings.earliest_business_date``."""
        now = today()
        on = check_date(now if on is None else on)
        if on < self.settings.earliest_business_date:
            raise InvalidInput(f"business date {on} is before "
                               f"{self.settings.earliest_business_date}, the earliest this "
                               "service records ([cases] earliest_business_date)", field="on",
                               reason="before_earliest",
                               earliest=self.settings.earliest_business_date.isoformat())
        ahead = self.settings.max_days_ahead
        if on > now + dt.timedelta(days=ahead):
            allowed = f"more than {ahead} day(s) after today" if ahead else "after today"
            raise InvalidInput(f"business date {on} is {allowed} ({now}, China time): a step "
                               "is recorded on the day it happened", field="on",
                               reason="after_today", days=ahead)
        return on

    def _definition_named(self, name: object) -> Definition:
        name = normalise(name)
        if not isinstance(name, str) or not 0 < len(name) <= 64 or not name.isprintable():
            raise InvalidInput("definition must be the name of a workflow such as "
                               "'pension_transfer'")
        return self.definition(name)

    def _apply(self, tx: CaseTransactionPort, row: StepCase, step: Step, actor: Actor,
               on: dt.date) -> Case:
        """Write one step: the case (version-checked), its history row, its span changes."""
        stamp = now()
        inputs = step.inputs
        closes = step.dest != row.state and step.dest in self.definition(
            row.definition_name, row.definition_version).final_states
        change = CaseUpdate(
            row.version + 1, on, stamp, step.dest, list(step.documents), list(step.requested),
            amount=Decimal(inputs["amount"]) if "amount" in inputs else None,
            contribution_months=inputs.get("contribution_months"),
            running=False if closes else None)
        if not tx.update_case(row.id, row.version, change):
            raise ConcurrentUpdate(row.id, row.version)
        tx.insert_history([self._history(
            row.id, row.version + 1, step.trigger, step.source, step.dest, actor, on, stamp,
            step.supplied, inputs.get("explanation"),
            {k: v for k, v in inputs.items() if k != "explanation"})])
        tx.end_spans(row.id, step.spans_ended, on)
        event = step_event(step.trigger, step.dest)
        papers: list[int] = []
        if step.spans_started or step.papers or event == "documents.requested":
            d = self.definition(row.definition_name, row.definition_version)
            spans = self._span_rows(d, row.origin, row.destination, step.spans_started, on)
            if spans:
                tx.insert_spans(row.id, spans)
            if step.papers:
                papers = self.papers.issue(tx, d, row, step.papers, inputs, actor, on, stamp)
        if event is not None:
            documents = [] if event != "documents.requested" else [
                {"kind": k, "title": d.catalogue.title(k, "zh")}
                for k in inputs.get("documents_needed") or ()]
            tx.insert_events([NewEvent(
                event_ids(1)[0], event, row.id, on, stamp, papers[0] if papers else None,
                step_data(event, inputs, documents, change.contribution_months))])
        return Case.from_row(change.applied_to(row))

    @staticmethod
    def _history(case_id: int, seq: int, trigger: str, source: str | None, dest: str,
                 actor: Actor, on: dt.date, stamp: dt.datetime, documents: Iterable[str],
                 comment: str | None, inputs: JsonObject) -> NewHistoryEntry:
        return NewHistoryEntry(case_id, seq, trigger, source, dest, actor.id, actor.role,
                               actor.agency, on, stamp, list(documents), comment, inputs)

    def _span_rows(self, d: Definition, origin: str, destination: str,
                   specs: Iterable[SpanSpec], on: dt.date,
                   dues: _Dues | None = None) -> list[NewSpan]:
        """The spans ``specs`` started on ``on`` with their due dates (``dues``: those
        computed already, by day, definition, span and agency)."""
        spans = []
        for spec in specs:
            # The person's own limits are chased by the destination agency.
            agency = origin if spec.owner == "origin" else destination
            if spec.committed_only and self.commitments.limit(d, spec, agency) is None:
                continue  # no statutory limit, and this agency committed to none
            spans.append(NewSpan.of(spec.name, spec.owner, agency, spec.limit_working_days,
                                    spec.limit_months, on, self._due(d, spec, agency, on, dues)))
        return spans

    def _due(self, d: Definition, spec: SpanSpec, agency: str, on: dt.date,
             dues: _Dues | None = None) -> SpanDue:
        """The due dates of a span of ``agency`` started on ``on``."""
        if dues is None:
            return span_due(self.calendar.for_agency(agency), d, spec, on, agency,
                            self.commitments)
        key = (on, d.key, spec.name, agency)
        due = dues.get(key)
        if due is None:
            due = dues[key] = self._due(d, spec, agency, on)
        return due

    # --- moving running cases to a new definition version ------------------------------------
    def migrate_cases(self, definition: str, from_version: int, to_version: int,
                      mapping: Sequence[str] | Mapping[str, str] = (), *, by: str,
                      dry_run: bool = False, on: dt.date | None = None) -> list[CaseMigration]:
        """See :meth:`workflow.Engine.migrate_cases`."""
        by = check_text(by, "who migrates (by)", 64)
        old = self.definition(self._definition_named(definition).name, _version(from_version))
        new = self.definition(old.name, _version(to_version))
        states = check_mapping(old, new, mapping)
        on = self._business_date(on)
        running = [r.id for r in self.store.cases(CaseQuery(definition=old.name))
                   if r.definition_version == old.version and r.state not in old.final_states]
        done = []
        for case_id in running:
            try:
                done.append(self._migrate_one(case_id, old, new, states, by, dry_run, on))
            except ConcurrentUpdate:  # its transaction rolled back: nothing of it changed
                done.append(CaseMigration(case_id, "", None, "refused",
                                          "it moved on while the migration ran"))
        log.info("cases_migrated", definition=old.name, from_version=old.version,
                 to_version=new.version, dry_run=dry_run, by=by,
                 migrated=sum(m.outcome != "refused" for m in done),
                 refused=sum(m.outcome == "refused" for m in done))
        return done

    def _migrate_one(self, case_id: int, old: Definition, new: Definition,
                     states: Mapping[str, str], by: str, dry_run: bool,
                     on: dt.date) -> CaseMigration:
        """Move one case in its own transaction, or say why not (nothing of it changed)."""
        with self.store.transaction() as tx:
            row = tx.row_for_step(case_id)
            if (row is None or row.definition_version != old.version
                    or row.state in old.final_states):
                return CaseMigration(case_id, row.state if row else "", None, "refused",
                                     "it moved on while the migration ran")
            steps = list(reversed(tx.last_steps(case_id, "", 1_000_000)))
            history = [RecordedStep(s.trigger, steps[i - 1].to_state if i else None,
                                    s.to_state, s.business_date) for i, s in enumerate(steps)]
            spans = [RunningSpan(s.id, s.name, s.started_on)
                     for s in tx.spans_newest_first(case_id) if s.ended_on is None]
            try:
                plan = plan_migration(old, new, states, row.state, row.applicant, history,
                                      spans)
            except MigrationRefused as refused:
                return CaseMigration(case_id, row.state, None, "refused", str(refused))
            done = CaseMigration(
                case_id, row.state, plan.state, "would_migrate" if dry_run else "migrated",
                recomputed=tuple(spec.name for _, spec, _ in plan.recomputed),
                ended=plan.ended, started=tuple(spec.name for spec, _ in plan.started))
            if dry_run:
                return done
            self._write_migration(tx, row, old, new, states, plan, by, on)
        return done

    def _write_migration(self, tx: CaseTransactionPort, row: StepCase, old: Definition,
                         new: Definition, states: Mapping[str, str], plan: MigrationPlan,
                         by: str, on: dt.date) -> None:
        stamp = now()
        change = CaseUpdate(row.version + 1, max(on, row.last_event_on), stamp, plan.state,
                            definition_version=new.version)
        if not tx.update_case(row.id, row.version, change):
            raise ConcurrentUpdate(row.id, row.version)
        tx.insert_history([NewHistoryEntry(
            row.id, row.version + 1, MIGRATED, row.state, plan.state, by, "operator", None,
            change.last_event_on, stamp, [], None,
            {"from_version": old.version, "to_version": new.version, "mapping": dict(states)})])
        for span_id, spec, started_on in plan.recomputed:
            agency = row.origin if spec.owner == "origin" else row.destination
            tx.update_span(span_id, SpanUpdate(
                due=self._due(new, spec, agency, started_on),
                limits=(spec.limit_working_days, spec.limit_months)))
        tx.end_spans(row.id, plan.ended, change.last_event_on)
        for spec, started_on in plan.started:
            tx.insert_spans(row.id, self._span_rows(new, row.origin, row.destination, (spec,),
                                                    started_on))

    # --- reading ---------------------------------------------------------------------------
    def get(self, case_id: int) -> Case:
        row = self.store.case(_case_id(case_id))
        if row is None:
            raise CaseNotFound(case_id)
        return Case.from_row(row)

    def by_public_number(self, public_number: str) -> Case:
        """The case of a public case number (``CaseNotFound`` if there is none)."""
        case_id = self.store.case_id_of(public_number)
        if case_id is None:
            raise CaseNotFound(public_number)
        return self.get(case_id)

    # A case's views: a case that does not exist has none, so it is looked for only when
    # a view is empty (every case has its opening in its history).
    def history(self, case_id: int) -> list[HistoryEntry]:
        return self.store.history(_case_id(case_id)) or self._none_of(case_id)

    def spans(self, case_id: int) -> list[Span]:
        return self.store.spans(_case_id(case_id)) or self._none_of(case_id)

    def linked_cases(self, case_id: int) -> list[CaseLink]:
        """See :meth:`workflow.Engine.linked_cases`."""
        return self.store.linked_cases(_case_id(case_id)) or self._none_of(case_id)

    def _none_of(self, case_id: int) -> list[Any]:
        """A view that found nothing: empty, or ``CaseNotFound`` if there is no such case."""
        self.get(case_id)
        return []

    def cases(self, query: CaseQuery) -> list[Case]:
        """See :meth:`workflow.Engine.cases`."""
        return [Case.from_row(r) for r in self.store.cases(query)]

    def count(self, query: CaseQuery) -> int:
        """How many cases ``query``'s filters match, its page aside."""
        return self.store.count_cases(query)


class _Batch:
    """The applications of one bulk opening, checked one by one, kept until all are checked.

    What an application's checks and spans depend on besides the person repeats across a
    file: (definition, agencies, applicant, channel, documents, schemes). The first
    application of each such key runs all of decide_open; the next ones only check their ID
    number and name (checked first by decide_open too) and reuse the rest, and the same spans
    from the same day are the same rows. (Not for a person applying for themselves:
    decide_open also checks who they are.)
    """

    def __init__(self, service: CaseService, actor: Actor, default_on: dt.date) -> None:
        self.service, self.actor, self.default_on = service, actor, default_on
        self.stamp, self.today, self.memoise = now(), today(), actor.role != "self"
        self.cases: list[NewCase] = []
        self.definitions: list[Definition] = []  # each case's
        self.spans: list[list[NewSpan]] = []
        self.contacts: list[tuple[str | None, str | None]] = []
        self._checked: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._spans_on: dict[tuple[tuple[Any, ...], dt.date], list[NewSpan]] = {}
        self._dues: _Dues = {}
        self._dates: dict[dt.date, dt.date] = {}
        #: The line of each (person, insurance) of the batch.
        self.lines: dict[tuple[str, str], int] = {}

    def add(self, application: object, line: int) -> None:
        """Check one application; keep its case and first spans."""
        app = _application(application)
        d = self.service._definition_named(app.pop("definition"))
        on = self._date(app.pop("on", None))
        app.setdefault("channel", "counter")
        app.setdefault("documents", ())
        contact = (check_contact_phone(app.pop("contact_phone", None)),
                   check_contact_email(app.pop("contact_email", None)))
        key = _same_checks(d, app) if self.memoise else None
        fields = self._fields(d, key, app)
        _check_born(fields["person_id"], on)
        case, specs = _new_case(d, fields, on, self.stamp)
        spans = self._first_spans(d, case, specs, key, on)
        person = (case.person_id, case.insurance)
        if case.running and person in self.lines:  # once the line's own checks are passed
            raise TransferAlreadyRunning(
                case.insurance, f"of line {self.lines[person]} of this batch", case.state,
                case.origin, case.destination)
        if case.running:  # a transfer (a service is no running transfer)
            self.lines[person] = line
        self.contacts.append(contact)
        self.cases.append(case)
        self.definitions.append(d)
        self.spans.append(spans)

    def check_running(self) -> None:
        """Refuse the first line (in the batch's order) of a person whose transfer of the same
        insurance is already running."""
        running = self.service.store.running_cases(self.lines)
        if running:
            person, line = min(((p, n) for p, n in self.lines.items() if p in running),
                               key=lambda pair: pair[1])
            case = running[person]
            raise InvalidRow(line, TransferAlreadyRunning(
                case.insurance, case.public_number, case.state, case.origin, case.destination))

    def _date(self, on: object) -> dt.date:
        """The application's business date (default: the batch's); the same day checked once."""
        if on is None:
            return self.default_on
        if type(on) is dt.date:
            if on not in self._dates:
                self._dates[on] = self.service._business_date(on)
            return self._dates[on]
        return self.service._business_date(on)

    def _fields(self, d: Definition, key: tuple[Any, ...] | None,
                app: dict[str, Any]) -> dict[str, Any]:
        """decide_open's fields of the application."""
        known = self._checked.get(key) if key is not None else None
        if known is not None:
            return {**known, "person_id": check_person_id(app["person_id"], self.today),
                    "person_name": check_name(app["person_name"])}
        fields = decide_open(d, actor=self.actor, divisions=self.service.divisions,
                             today=self.today, **app)
        if key is not None:
            self._checked[key] = fields
        return fields

    def _first_spans(self, d: Definition, case: NewCase, specs: tuple[SpanSpec, ...],
                     key: tuple[Any, ...] | None, on: dt.date) -> list[NewSpan]:
        """The case's first spans. Due dates are computed here, so that a date the calendar
        cannot count from is refused with its line."""
        spans = self._spans_on.get((key, on)) if key is not None else None
        if spans is None:
            spans = self.service._span_rows(d, case.origin, case.destination, specs, on, self._dues)
            if key is not None:
                self._spans_on[key, on] = spans
        return spans


def _check_batch(applications: object, first_line: object, progress: object) -> None:
    """Refuse arguments of open_cases that are not a list of applications, a line number and
    a function of the number of cases done."""
    if (isinstance(applications, (str, bytes, Mapping))
            or not isinstance(applications, Iterable)):
        raise InvalidInput("applications must be a list of mappings of open_case's arguments")
    if isinstance(first_line, bool) or not isinstance(first_line, int):
        raise InvalidInput("first_line must be a line number (int)")
    if progress is not None and not callable(progress):
        raise InvalidInput("progress must be a function of the number of cases done")


def _application(app: object) -> dict[str, Any]:
    """An application of a batch as a new dict of open_case's arguments (and ``definition``,
    ``on``), its fields checked by name."""
    if not isinstance(app, Mapping):
        raise InvalidInput("an application must be a mapping of open_case's arguments")
    app = dict(app)
    if not (app.keys() <= _APPLICATION_FIELDS and app.keys() >= _REQUIRED_FIELDS):
        unknown = sorted(map(str, set(app) - _APPLICATION_FIELDS))
        missing = sorted(_REQUIRED_FIELDS - set(app))
        raise InvalidInput("; ".join(
            ([f"unknown field(s): {', '.join(unknown)}"] if unknown else [])
            + ([f"missing field(s): {', '.join(missing)}"] if missing else [])))
    return app


def _new_case(d: Definition, fields: dict[str, Any], on: dt.date,
              stamp: dt.datetime) -> tuple[NewCase, tuple[SpanSpec, ...]]:
    """The case opened on ``on`` (from :func:`decide_open`'s fields), and the specs of the
    spans it starts."""
    return NewCase(
        d.name, d.version, d.insurance, d.initial, fields["person_id"], fields["person_name"],
        fields["origin"], fields["destination"], fields["scope"], fields["applicant"],
        fields["applicant_id"], fields["channel"], fields["origin_scheme"],
        fields["destination_scheme"], list(fields["documents"]), on, on, stamp, stamp,
        new_public_number(), receiving_employer=fields["receiving_employer"],
        agent_name=fields["agent_name"], agent_id_number=fields["agent_id_number"],
        # Only a transfer is the person's running transfer of its insurance (one at a time);
        # a service of that insurance's agency (a card application) never counts as one.
        running=d.kind == "transfer",
    ), fields["spans_started"]


def new_public_number() -> str:
    """A fresh public case number: random, with its check digit."""
    return public_number_from(secrets.randbelow(10 ** (PUBLIC_NUMBER_DIGITS - 1)))


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
                  "destination_scheme", "receiving_employer", "agent_name", "agent_id_number")


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


def _check_born(person_id: str, on: dt.date) -> None:
    """No application is received before the person it is for was born."""
    if on < birth_date(person_id):
        raise InvalidInput(f"business date {on} is before the person's birth (by the ID "
                           "number): check the date", field="on", reason="before_birth")


def _version(version: object) -> int:
    """A definition version number (a whole number from 1)."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"a definition version is a whole number from 1, not {version!r}")
    return version


def _check_version(version: object) -> None:
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise InvalidInput(f"expected_version must be a case version (int), "
                           f"not {type(version).__name__}")
    if version is not None and not -2 ** 31 < version < 2 ** 31:  # the column's range
        raise InvalidInput(f"expected_version must be a case version below {2 ** 31}")


_APPLICATION_FIELDS = set(APPLICATION_FIELDS)
_OPTIONAL_FIELDS = set(OPTIONAL_APPLICATION_FIELDS)
_REQUIRED_FIELDS = _APPLICATION_FIELDS - _OPTIONAL_FIELDS


#: The actor of a step as a function of the case's row (a desk's: the principal's actor on
#: that case, or a refusal raised when they may not act on it).
ActorOf = Callable[[StepCase], Actor]


class _Acting:
    """A step's actor: given, or found from the case's row by an :data:`ActorOf`."""

    __slots__ = ("_of", "actor", "given")

    def __init__(self, actor: Actor | ActorOf) -> None:
        # Anything but a function is taken as the actor given, for check_actor to refuse
        # when it is not one (a list, None: InvalidInput, never a TypeError).
        self.given = not callable(actor) or isinstance(actor, Actor)
        self.actor: Actor | None = cast(Actor, actor) if self.given else None
        self._of: ActorOf | None = None if self.given else cast(ActorOf, actor)

    def of(self, row: StepCase) -> Actor:
        assert self._of is not None
        self.actor = self._of(row)
        return self.actor


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


def _snapshot(case: Case) -> JsonObject:
    return {f.name: _plain(getattr(case, f.name)) for f in dataclasses.fields(case)}


def _from_snapshot(data: JsonObject) -> Case:
    data = dict(data)
    for name in ("opened_on", "last_event_on"):
        data[name] = dt.date.fromisoformat(data[name])
    data["updated_at"] = dt.datetime.fromisoformat(data["updated_at"])
    data["amount"] = None if data["amount"] is None else Decimal(data["amount"])
    data["documents"] = tuple(data["documents"])
    data["requested_documents"] = tuple(data["requested_documents"])
    return Case(**data)


def retry_on_conflict(call: Callable[[], _T], *, attempts: int = 5, delay: float = 0.02) -> _T:
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


__all__ = ["ActorOf", "CaseService", "retry_on_conflict"]
