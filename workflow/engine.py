"""The engine: runs transfer cases on their definitions and stores every step.

This is the I/O edge around the pure core (:mod:`workflow.rules`, :mod:`workflow.calendar`):
it reads a case, asks the rules what the step changes, and writes the new state, the history
row and the span changes in one transaction with an optimistic version check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog

from . import store
from ._views import _View
from .calendar import WorkingCalendar
from .definitions import Definition, DefinitionSet, parse_definition
from .errors import CaseNotFound, ConcurrentUpdate, DefinitionChanged, InvalidInput, NotPermitted
from .errors import WorkflowError as _WorkflowError
from .rules import Actor, CaseFacts, Step, check_date, decide, decide_open, mask_person_id
from .settings import Settings
from .store import cases_t, definitions_t, history_t, spans_t

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
            person_id=r.person_id,
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
    """One agency time limit of a case: running while ``ended_on`` is None."""

    name: str
    owner: str
    owner_agency: str
    limit_working_days: int | None
    limit_months: int | None
    started_on: dt.date
    due_on: dt.date
    ended_on: dt.date | None
    provisional: bool


class Engine:
    """Runs transfer cases against one database.

    ``Engine()`` uses ``$SSTRANSFER_DATABASE_URL``, else the SQLite file ``./sstransfer.db``.
    ``definitions`` is a folder of workflow definitions (default: the ones shipped).
    """

    def __init__(self, url: str | None = None, *, definitions: Path | str | None = None,
                 settings: Settings | None = None, echo: bool = False) -> None:
        from .monitor import Monitor

        self.settings = settings or Settings.load()
        self.definitions = DefinitionSet(definitions)
        self.calendar = WorkingCalendar(self.definitions.calendars_dir)
        self.url = store.database_url(url)
        self.db = store.connect(self.url, echo=echo)
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
    def open_case(self, definition: str, *, person_id: str, person_name: str, origin: str,
                  destination: str, applicant: str, channel: str = "counter",
                  documents: Iterable[str] = (), actor: Actor, on: dt.date | None = None) -> Case:
        """Open a transfer case in the definition's initial state; starts its first spans."""
        with self._refusals(OPEN_TRIGGER, None, actor):
            on = check_date(today() if on is None else on)
            d = self.definition(definition)
            fields = decide_open(d, person_id=person_id, person_name=person_name, origin=origin,
                                 destination=destination, applicant=applicant, channel=channel,
                                 documents=documents, actor=actor)
            started, docs = fields.pop("spans_started"), list(fields.pop("documents"))
            stamp = store.now()
            with self.db.begin() as conn:
                case_id = conn.execute(sa.insert(cases_t).values(
                    definition_name=d.name, definition_version=d.version, insurance=d.insurance,
                    state=d.initial, version=1, documents=docs,
                    requested_documents=[], opened_on=on, last_event_on=on, created_at=stamp,
                    updated_at=stamp, **fields)).inserted_primary_key[0]
                facts = CaseFacts(case_id, d.initial, origin, destination, applicant, channel,
                                  frozenset())
                self._write_history(conn, case_id, 1, OPEN_TRIGGER, None, d.initial, actor, on,
                                    stamp, docs, None, {})
                self._start_spans(conn, facts, started, on)
        log.info("case_opened", case_id=case_id, definition=d.name, version=d.version,
                 state=d.initial, actor=actor.id, role=actor.role, agency=actor.agency,
                 origin=origin, destination=destination)
        return self.get(case_id)

    def fire(self, case_id: int, trigger: str, *, actor: Actor, on: dt.date | None = None,
             documents: Iterable[str] = (), expected_version: int | None = None,
             explanation: str | None = None, documents_needed: Sequence[str] | None = None,
             amount: Decimal | int | str | None = None,
             contribution_months: int | None = None) -> Case:
        """Fire ``trigger`` on a case; raises a :class:`WorkflowError` and writes nothing if refused.

        ``expected_version`` is the case version the caller decided on (from :meth:`get`);
        if the case has moved on since, :class:`ConcurrentUpdate` is raised.
        """
        inputs = {"explanation": explanation, "documents_needed": documents_needed,
                  "amount": amount, "contribution_months": contribution_months}
        with self._refusals(trigger, case_id, actor):
            on = check_date(today() if on is None else on)
            row = self._row(case_id, expected_version, on)
            d = self.definition(row.definition_name, row.definition_version)
            step = decide(d, self._facts(row), trigger, actor, documents, inputs)
            self._apply(row, step, actor, on)
        log.info("transition", case_id=case_id, trigger=trigger, from_state=step.source,
                 to_state=step.dest, actor=actor.id, role=actor.role, agency=actor.agency)
        return self.get(case_id)

    def attach_documents(self, case_id: int, documents: Iterable[str], *, actor: Actor,
                         on: dt.date | None = None, expected_version: int | None = None) -> Case:
        """Add documents to a running case without changing its state."""
        with self._refusals(ATTACH_TRIGGER, case_id, actor):
            on = check_date(today() if on is None else on)
            row = self._row(case_id, expected_version, on)
            d = self.definition(row.definition_name, row.definition_version)
            if isinstance(documents, str):
                raise InvalidInput("documents must be a list of document kinds")
            supplied = d.catalogue.check(documents)
            if not supplied:
                raise InvalidInput("name at least one document to attach")
            if row.state in d.final_states:
                raise InvalidInput(f"case {case_id} is closed ({row.state}): nothing can be attached")
            facts = self._facts(row)
            if not (actor.role == row.applicant
                    or (actor.role == "destination_clerk" and actor.agency == row.destination)
                    or (actor.role == "origin_clerk" and actor.agency == row.origin)):
                raise NotPermitted(
                    f"documents of case {case_id} may be attached by the applicant "
                    f"({row.applicant}) or a clerk of agency {row.origin} or {row.destination}; "
                    f"{actor.describe()} may not")
            held = set(facts.documents) | set(supplied)
            step = Step(ATTACH_TRIGGER, row.state, row.state,
                        tuple(k for k in d.catalogue.kinds if k in held), facts.requested,
                        supplied, {}, (), ())
            self._apply(row, step, actor, on)
        log.info("documents_attached", case_id=case_id, documents=list(supplied),
                 actor=actor.id, role=actor.role, agency=actor.agency)
        return self.get(case_id)

    @contextmanager
    def _refusals(self, trigger: str, case_id: int | None, actor: Actor) -> Iterator[None]:
        try:
            yield
        except _WorkflowError as exc:
            log.info("refused", case_id=case_id, trigger=trigger, error=type(exc).__name__,
                     reason=str(exc), actor=getattr(actor, "id", None),
                     role=getattr(actor, "role", None), agency=getattr(actor, "agency", None))
            raise

    def _row(self, case_id: int, expected_version: int | None, on: dt.date) -> Any:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(cases_t).where(cases_t.c.id == case_id)).first()
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

    def _apply(self, row: Any, step: Step, actor: Actor, on: dt.date) -> None:
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
        with self.db.begin() as conn:
            updated = conn.execute(sa.update(cases_t).where(
                cases_t.c.id == row.id, cases_t.c.version == row.version).values(**values))
            if updated.rowcount != 1:
                raise ConcurrentUpdate(row.id, row.version)
            inputs = {k: v for k, v in step.inputs.items() if k != "explanation"}
            self._write_history(conn, row.id, row.version + 1, step.trigger, step.source,
                                step.dest, actor, on, stamp, step.supplied,
                                step.inputs.get("explanation"), inputs)
            ending = sa.update(spans_t).where(spans_t.c.case_id == row.id,
                                              spans_t.c.ended_on.is_(None))
            if step.spans_ended is None:
                conn.execute(ending.values(ended_on=on))
            elif step.spans_ended:
                conn.execute(ending.where(spans_t.c.name.in_(step.spans_ended))
                             .values(ended_on=on))
            self._start_spans(conn, self._facts(row), step.spans_started, on)

    @staticmethod
    def _write_history(conn: sa.Connection, case_id: int, seq: int, trigger: str,
                       source: str | None, dest: str, actor: Actor, on: dt.date,
                       stamp: dt.datetime, documents: Iterable[str], comment: str | None,
                       inputs: dict[str, Any]) -> None:
        conn.execute(sa.insert(history_t).values(
            case_id=case_id, seq=seq, trigger=trigger, from_state=source, to_state=dest,
            actor_id=actor.id, actor_role=actor.role, actor_agency=actor.agency,
            business_date=on, recorded_at=stamp, documents=list(documents), comment=comment,
            inputs=inputs))

    def _start_spans(self, conn: sa.Connection, facts: CaseFacts, specs: Iterable[Any],
                     on: dt.date) -> None:
        rows = []
        for spec in specs:
            due = (self.calendar.due(on, spec.limit_working_days) if spec.limit_months is None
                   else self.calendar.due_in_months(on, spec.limit_months))
            rows.append({
                "case_id": facts.id, "name": spec.name, "owner": spec.owner,
                # The person's own limits are chased by the destination agency.
                "owner_agency": facts.origin if spec.owner == "origin" else facts.destination,
                "limit_working_days": spec.limit_working_days,
                "limit_months": spec.limit_months, "started_on": on,
                "due_on": due.on, "ended_on": None, "provisional": due.provisional,
            })
        if rows:
            conn.execute(sa.insert(spans_t), rows)

    # --- reading ---------------------------------------------------------------------------
    def get(self, case_id: int) -> Case:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(cases_t).where(cases_t.c.id == case_id)).first()
        if row is None:
            raise CaseNotFound(case_id)
        return Case.from_row(row)

    def history(self, case_id: int) -> list[HistoryEntry]:
        self.get(case_id)
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(history_t).where(history_t.c.case_id == case_id)
                                .order_by(history_t.c.seq)).all()
        return [HistoryEntry(
            seq=r.seq, trigger=r.trigger, from_state=r.from_state, to_state=r.to_state,
            actor_id=r.actor_id, actor_role=r.actor_role, actor_agency=r.actor_agency,
            business_date=r.business_date, recorded_at=r.recorded_at,
            documents=tuple(r.documents), comment=r.comment, inputs=dict(r.inputs),
        ) for r in rows]

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

    def running_spans(self) -> list[tuple[int, Span]]:
        """Every span still running, with its case id, by due date."""
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(spans_t).where(spans_t.c.ended_on.is_(None))
                                .order_by(spans_t.c.due_on, spans_t.c.id)).all()
        return [(r.case_id, _span(r)) for r in rows]


    # --- deadlines: alerts, reports, the scheduler ----------------------------------------------
    def scan(self, as_of: dt.date | None = None):
        """Raise the alerts due on ``as_of`` (default today); returns a ``ScanResult``."""
        return self.monitor.scan(check_date(today() if as_of is None else as_of, "as_of"))

    def alerts(self, *, level: str | None = None, agency: str | None = None,
               case_id: int | None = None, as_of: dt.date | None = None,
               limit: int | None = None):
        """Stored alerts, oldest first."""
        return self.monitor.alerts(level=level, agency=agency, case_id=case_id, as_of=as_of,
                                   limit=limit)

    def on_alert(self, callback, name: str | None = None) -> str:
        """Call ``callback(alert)`` for each new alert; a failure is retried on the next scan."""
        return self.monitor.on_alert(callback, name)

    def recompute_due_dates(self) -> list[dict[str, Any]]:
        """Recompute provisional due dates after a holiday schedule was added."""
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


def _span(r: Any) -> Span:
    return Span(name=r.name, owner=r.owner, owner_agency=r.owner_agency,
                limit_working_days=r.limit_working_days, limit_months=r.limit_months,
                started_on=r.started_on,
                due_on=r.due_on, ended_on=r.ended_on, provisional=bool(r.provisional))


__all__ = ["CHINA", "Case", "Engine", "HistoryEntry", "Span", "today"]
