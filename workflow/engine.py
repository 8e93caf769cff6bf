"""The engine: the public façade that wires the services to one database.

Each service is built from what it needs (a store port, the calendar, the settings, the
definitions); the engine only loads those, builds the services and passes calls on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.access import Principal
from .core.definitions import Definition
from .core.divisions import Divisions
from .core.figures import OverdueReport
from .core.inputs import Actor, check_date, today
from .core.migration import CaseMigration
from .core.queries import AlertQuery, CaseQuery
from .core.views import Case, ScanResult
from .desk import Desk, ProgressDesk
from .loading import DefinitionSet, WorkingCalendar
from .logs import get_logger
from .records import (
    Alert,
    CaseLink,
    Gauges,
    HistoryEntry,
    OutboxEvent,
    OutboxMessage,
    Paper,
    Span,
    Subscription,
)
from .services.access import AccessService
from .services.alerts import AlertService
from .services.cases import CaseService, retry_on_conflict
from .services.definitions import DefinitionRegistry
from .services.outbox import DeliveryRun, OutboxService
from .services.papers import PaperService
from .services.reports import ReportService
from .services.scheduling import Scheduling
from .settings import Settings
from .store import (
    URL_ENV,
    SqlStore,
    check_revision,
    connect,
    current_revision,
    database_url,
    head_revision,
    sqlite_file,
    upgrade,
)

if TYPE_CHECKING:
    import sqlalchemy as sa
    from apscheduler.schedulers.background import BackgroundScheduler

    from .records import ApiToken
    from .services.jobs import Jobs

log = get_logger("sstransfer")


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
        self.settings = settings or Settings.load()
        self.definitions = DefinitionSet(definitions)
        self.divisions = Divisions({**self.definitions.extra_divisions, **(extra_divisions or {})})
        self.calendar = WorkingCalendar(self.definitions.calendars_dir)
        self.url = database_url(url)
        self.store = SqlStore.open(self.url, echo=echo,
                                   lock_timeout=self.settings.lock_timeout_seconds,
                                   statement_timeout=self.settings.statement_timeout_seconds,
                                   pool_size=self.settings.pool_size,
                                   auto_upgrade=auto_upgrade)
        self.db = self.store.db
        try:
            latest = {name: self.definitions.latest(name) for name in self.definitions.names()}
            self.registry = DefinitionRegistry(self.store.cases, self.definitions,
                                               self.definitions.catalogue, latest)
            self.registry.register()
        except BaseException:
            self.store.close()
            raise
        self.paper_service = PaperService(
            self.store.cases, self.registry,
            self.definitions.agencies.with_divisions(self.divisions), self.divisions)
        self.case_service = CaseService(self.store.cases, self.registry, self.calendar,
                                        self.divisions, self.settings,
                                        self.definitions.commitments, self.paper_service)
        self.scheduling = Scheduling(self.store.scheduling, self.settings)
        self.alert_service = AlertService(self.store.alerts, self.scheduling, self.calendar,
                                          self.settings, self.registry,
                                          inbox=self.store.inbox)
        self.report_service = ReportService(self.store.reports, self.calendar, self.settings,
                                            self.registry.get, self.divisions.name_of)
        self.access_service = AccessService(self.store.access, self.settings)
        self.outbox_service = OutboxService(self.store.outbox, self.scheduling, self.settings,
                                            self.registry, self.divisions)
        self._scheduler: BackgroundScheduler | None = None

    def close(self) -> None:
        self.shutdown()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the desk: a principal's view -------------------------------------------------------
    def authenticate(self, credential: str | None) -> Principal:
        """The principal of a bearer credential: an API token, or an identity token (JWT)
        where ``[api] jwt_key_file`` is set; ``NotAuthenticated`` otherwise."""
        return self.access_service.authenticate(credential)

    def desk(self, principal: Principal, *, via: str = "api") -> Desk:
        """``principal``'s view of this engine: every read scoped to what they may read and
        written to the access log (``via``: ``api``, ``dashboard``, ``cli``), every step
        taken as their actor."""
        return Desk(principal, via=via, cases=self.case_service, alerts=self.alert_service,
                    reports=self.report_service, access_service=self.access_service,
                    papers=self.paper_service, outbox=self.outbox_service,
                    definition=self.registry.get,
                    divisions=self.divisions, workflows=self.definitions.names())

    def progress_desk(self) -> ProgressDesk:
        """The person's progress page's door: the case number and ID number are the
        credential, tries are rate-limited, each view is logged."""
        return ProgressDesk(self.case_service, self.access_service)

    def definition(self, name: str, version: int | None = None) -> Definition:
        """A definition version; one no longer in the folder is read back from the database."""
        return self.registry.get(name, version)

    # --- cases -----------------------------------------------------------------------------
    def open_case(self, definition: str, *, person_id: str, person_name: str,
                  origin: str | None = None,
                  destination: str, applicant: str, channel: str = "counter",
                  documents: Iterable[str] = (), actor: Actor, on: dt.date | None = None,
                  origin_scheme: str | None = None, destination_scheme: str | None = None,
                  contact_phone: str | None = None, contact_email: str | None = None,
                  receiving_employer: bool | None = None, agent_name: str | None = None,
                  agent_id_number: str | None = None, session: Any = None) -> Case:
        """Open a transfer case in the definition's initial state; starts its first spans.

        One running transfer per person and insurance: a second one is refused
        (:class:`~workflow.errors.TransferAlreadyRunning`, naming the running case).

        ``receiving_employer``: whether a unit accepts the person at the destination (default:
        an employer's application is its receiving employer's; anyone else's has none). With
        none, the person's three-month premium window applies where the definition has it.

        ``agent_name``/``agent_id_number``: an entrusted agent's (``applicant="agent"``), who
        brings the power of attorney and the client's ID copy when the case is opened (the ID
        number masked in every view, never logged).

        ``contact_phone``/``contact_email``: how the applicant is told of the case's steps
        (optional; kept apart from the case, masked in every view, never logged).

        ``origin_scheme``/``destination_scheme``: the medical insurance scheme at each end
        (``urban_employee`` or ``urban_rural_resident``), required by definitions that record
        them (medical_transfer since version 2) and refused by the others.

        ``session``: a SQLAlchemy/SQLModel session of the host application; the case is then
        written in its transaction and committed (or rolled back) with the host's own writes.

        ``origin``: the agency the person leaves; none for a service of one agency (a
        definition of ``kind: service``, such as ``card_application``: the case is stored
        with its destination as both ends, scope ``local``). A definition with
        ``requires_case`` opens only when the person has that case to the same destination
        in one of its states (else :class:`RequiredCaseMissing`), and links the new case
        to it (:meth:`linked_cases`).
        """
        return self.case_service.open_case(
            definition, person_id=person_id, person_name=person_name, origin=origin,
            destination=destination, applicant=applicant, channel=channel, documents=documents,
            actor=actor, on=on, origin_scheme=origin_scheme,
            destination_scheme=destination_scheme, contact_phone=contact_phone,
            contact_email=contact_email, receiving_employer=receiving_employer,
            agent_name=agent_name, agent_id_number=agent_id_number, session=session)

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
        return self.case_service.open_cases(applications, actor=actor, on=on,
                                            first_line=first_line, progress=progress)

    def fire(self, case_id: int, trigger: str, *, actor: Actor, on: dt.date | None = None,
             documents: Iterable[str] = (), expected_version: int | None = None,
             explanation: str | None = None, documents_needed: Sequence[str] | None = None,
             amount: Decimal | int | str | None = None, contribution_months: int | None = None,
             information_form: Mapping[str, Any] | None = None,
             months_at_destination: int | None = None,
             idempotency_key: str | None = None, session: Any = None) -> Case:
        """Fire ``trigger`` on a case; raises a :class:`WorkflowError` and writes nothing if refused.

        The step's inputs are those its definition names: ``explanation`` (reject),
        ``documents_needed`` (request_documents); since pension_transfer 2 and
        medical_transfer 3, ``information_form`` (move_funds: the form's data, see
        :func:`workflow.pension_funds`; an ``amount`` given beside it must equal its total)
        and ``months_at_destination`` (continue_relationship); before, ``amount`` and
        ``contribution_months``. A step that issues papers issues them in its transaction.

        ``expected_version``: the case version the caller decided on (from :meth:`get`); if
        the case has moved on since, :class:`ConcurrentUpdate` is raised.
        ``idempotency_key``: a retried call with the same key returns the first result and
        writes nothing; the same key with different arguments is refused.
        ``session``: the host application's SQLAlchemy/SQLModel session (see :meth:`open_case`).
        """
        return self.case_service.fire(
            case_id, trigger, actor=actor, on=on, documents=documents,
            expected_version=expected_version, explanation=explanation,
            documents_needed=documents_needed, amount=amount,
            contribution_months=contribution_months, information_form=information_form,
            months_at_destination=months_at_destination, idempotency_key=idempotency_key,
            session=session)

    # --- papers ----------------------------------------------------------------------------
    def papers(self, case_id: int) -> list[Paper]:
        """The papers issued on a case (letters, forms, notices), in the order issued."""
        self.case_service.get(case_id)
        return self.paper_service.papers(case_id)

    def paper(self, paper_id: int) -> Paper:
        """One kept paper (``PaperNotFound``)."""
        return self.paper_service.printed(paper_id).paper

    def render_paper(self, paper_id: int, format: str = "pdf") -> bytes:
        """A kept paper as issued: its HTML, or a PDF printed from it (``format``)."""
        return self.print_paper(paper_id, format)[1]

    def print_paper(self, paper_id: int, format: str = "pdf") -> tuple[Paper, bytes]:
        """A kept paper and its printing (one read of it), as :meth:`render_paper`."""
        printed = self.paper_service.printed(paper_id)
        return printed.paper, self.paper_service.render(printed, format)

    def record_operator_read(self, case_id: int, view: str, operator: str) -> None:
        """Write to the access log that ``operator`` (the machine's user at the command line,
        who holds no token) read ``view`` of a case."""
        self.access_service.record_operator_read(operator, case_id, view)

    def correct_paper(self, paper_id: int, *, actor: Actor, reason: str) -> Paper:
        """Issue a corrected paper naming the one it replaces (a clerk of the issuer)."""
        return self.paper_service.correct(paper_id, actor=actor, reason=reason)

    def attach_documents(self, case_id: int, documents: Iterable[str], *, actor: Actor,
                         on: dt.date | None = None, expected_version: int | None = None,
                         session: Any = None) -> Case:
        """Add documents to a running case without changing its state."""
        return self.case_service.attach_documents(case_id, documents, actor=actor, on=on,
                                                  expected_version=expected_version,
                                                  session=session)

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
        return self.case_service.correct_business_date(case_id, new_date, actor=actor,
                                                       reason=reason,
                                                       expected_version=expected_version)

    def migrate_cases(self, definition: str, from_version: int, to_version: int,
                      mapping: Sequence[str] | Mapping[str, str] = (), *, by: str,
                      dry_run: bool = False, on: dt.date | None = None
                      ) -> list[CaseMigration]:
        """Move every running case of ``definition`` version ``from_version`` to
        ``to_version``, each in its own transaction; returns what happened to each case.

        ``mapping``: ``OLD=NEW`` state pairs (or a dict); a state of the same name in both
        versions maps to itself. A moved case gets a ``migrated`` history row (``by``, the
        date ``on`` (default today), the versions and the mapping). A case whose state, or a
        state of its history, has no mapping, or whose history the new version could not
        have produced (its first state is not the new initial state, or a step is no
        transition of the new version between the mapped states), is refused with the
        reason and nothing of it changes.

        Spans are recomputed under the new version's limits from their original start dates:
        the recorded steps are replayed on the new version's spans; a span running under both
        keeps its start and gets the new limit and due dates; a running span the new version
        does not have running ends on ``on``; a span the new version has running that the
        case has not starts on the date of the recorded step that starts it there.

        ``dry_run``: decide every case, write nothing (outcome ``would_migrate``). A bad
        argument (unknown version or state, a state mapped to a final state) is refused as
        :class:`InvalidInput` before any case is read.
        """
        return self.case_service.migrate_cases(definition, from_version, to_version, mapping,
                                               by=by, dry_run=dry_run, on=on)

    def get(self, case_id: int) -> Case:
        return self.case_service.get(case_id)

    def history(self, case_id: int) -> list[HistoryEntry]:
        return self.case_service.history(case_id)

    def linked_cases(self, case_id: int) -> list[CaseLink]:
        """The cases linked to a case: the one it needed to be opened (``required``) and
        those opened because of it (``opened_after``), e.g. a card application and the
        pension transfer continued to its agency."""
        return self.case_service.linked_cases(case_id)

    def spans(self, case_id: int) -> list[Span]:
        return self.case_service.spans(case_id)

    def cases(self, *, state: str | None = None, agency: str | None = None,
              definition: str | None = None, limit: int | None = None,
              insurance: str | None = None, overdue_on: dt.date | None = None,
              offset: int = 0, agencies: Sequence[str] | None = None,
              province: str | None = None, applicant: str | None = None,
              applicant_id: str | None = None, person_id: str | None = None) -> list[Case]:
        """Cases in id order; ``agency`` matches either the origin or the destination.

        ``insurance``: ``pension`` or ``medical``. ``overdue_on``: only cases with a span
        running on that day past its due date (the committed one where there is one).
        ``limit``/``offset``: one page. What a reader may see (the service's scopes):
        ``agencies`` (origin or destination one of them), ``province`` (2-digit prefix of
        either), ``applicant``/``applicant_id``/``person_id`` (the applicant's own cases).
        """
        return self.case_service.cases(CaseQuery(
            state=state, agency=agency, definition=definition, limit=limit,
            insurance=insurance, overdue_on=overdue_on, offset=offset,
            agencies=None if agencies is None else tuple(agencies), province=province,
            applicant=applicant, applicant_id=applicant_id, person_id=person_id))

    # --- deadlines: alerts, reports, the scheduler ----------------------------------------------
    def scan(self, as_of: dt.date | None = None) -> ScanResult:
        """Raise the alerts due on ``as_of`` (default today); returns a ``ScanResult``."""
        return self.alert_service.scan(check_date(today() if as_of is None else as_of, "as_of"))

    def alerts(self, *, level: str | None = None, agency: str | None = None,
               case_id: int | None = None, as_of: dt.date | None = None,
               run_id: int | None = None, limit: int | None = None,
               province: str | None = None, newest_first: bool = False,
               resolved: bool | None = None) -> list[Alert]:
        """Stored alerts, oldest first (or ``newest_first``); ``run_id`` picks those one scan
        raised; ``province``: the alerts of the agencies of that province (2 digits);
        ``resolved``: False, only open alerts; True, only resolved ones (``resolved_on``: the
        day the span ended, or the scan that found its due date moved)."""
        return self.alert_service.alerts(AlertQuery(
            level=level, agency=agency, case_id=case_id, as_of=as_of, run_id=run_id,
            limit=limit, province=province, newest_first=newest_first, resolved=resolved))

    def on_alert(self, callback: Callable[[Alert], object], name: str | None = None) -> str:
        """Call ``callback(alert)`` for each new alert; a failure is retried on the next scan."""
        return self.alert_service.on_alert(callback, name)

    # --- the outbox: telling people ---------------------------------------------------------
    def deliver_outbox(self) -> DeliveryRun:
        """One delivery run of the outbox (``serve`` runs one every ``outbox_every_seconds``):
        new events fanned out to their recipients, due messages sent, outcomes recorded."""
        return self.outbox_service.deliver()

    def outbox(self, *, state: str | None = None, case_id: int | None = None,
               limit: int = 100, offset: int = 0) -> list[OutboxEvent]:
        """The outbox's events, newest first (``state``: pending, delivered or dead)."""
        return self.outbox_service.events(state=state, case_id=case_id, limit=limit,
                                          offset=offset)

    def outbox_messages(self, events: Sequence[OutboxEvent]) -> list[OutboxMessage]:
        """The messages ``events`` were fanned out to (recipients masked in ``to_dict``)."""
        return self.outbox_service.messages(events)

    def retry_outbox(self, number: int) -> int:
        """Send the dead messages of outbox event ``number`` again; how many."""
        return self.outbox_service.retry(number)

    def add_subscription(self, *, agency: str | None = None, province: str | None = None,
                         events: Sequence[str] | None = None, channel: str, target: str,
                         created_by: str) -> tuple[Subscription, str | None]:
        """Subscribe an agency or a province to events by ``webhook`` (returns its new secret,
        shown once) or ``email``."""
        return self.outbox_service.add_subscription(
            agency=agency, province=province, events=events, channel=channel, target=target,
            created_by=created_by)

    def subscriptions(self) -> list[Subscription]:
        return self.outbox_service.subscriptions()

    def remove_subscription(self, subscription_id: int, *, removed_by: str) -> None:
        self.outbox_service.remove_subscription(subscription_id, removed_by=removed_by)

    def recompute_due_dates(self) -> list[dict[str, Any]]:
        """Recompute the due dates of running spans whose counting window touches a year whose
        holiday schedule changed since they were computed (e.g. after adding next year's)."""
        return self.alert_service.recompute()

    def overdue_report(self, as_of: dt.date | None = None, *, since: dt.date | None = None,
                       progress: Callable[[int, int], None] | None = None,
                       agencies: Sequence[str] | None = None,
                       province: str | None = None) -> OverdueReport:
        """The overdue report on ``as_of`` (default today); ``agencies``/``province``: only
        the spans owned by those agencies / the agencies of that province (2 digits)."""
        as_of = check_date(today() if as_of is None else as_of, "as_of")
        return self.report_service.build(as_of, since=since, progress=progress,
                                         agencies=agencies, province=province)

    def gauges(self) -> Gauges:
        """What ``/metrics`` shows of the database: cases by (insurance, state), alerts of
        running spans by level, outbox events by state."""
        return self.report_service.gauges()

    def jobs(self) -> Jobs:
        """The scheduled jobs (scan, report, catch-up) of this engine, callable directly."""
        from .services.jobs import Jobs

        return Jobs(self.scheduling, self.alert_service, self.report_service, self.calendar,
                    self.settings, self.outbox_service)

    def start_scheduler(self) -> None:
        """Run the daily scan and weekly report in this process (China time), catching up first."""
        from .services.jobs import build_scheduler

        if self._scheduler is None:
            self._scheduler = build_scheduler(self.jobs())
            self._scheduler.start()
            log.info("scheduler_started", scan_at=str(self.settings.scan_at),
                     report=f"{self.settings.report_day} {self.settings.report_at}")

    def shutdown(self) -> None:
        """Stop the scheduler, letting a running job finish."""
        if self._scheduler is not None:
            from .services.jobs import stop_scheduler

            stop_scheduler(self._scheduler)
            self._scheduler = None
            log.info("scheduler_stopped")

    # --- API tokens ----------------------------------------------------------------------------
    # Trusted calls, as the embedding host and `sstransfer tokens` make them: whoever holds the
    # engine may issue and revoke the tokens that the REST API and the pages authenticate.
    def create_token(self, actor_id: str, role: str, agency: str | None = None, *,
                     province: str | None = None, person_id: str | None = None,
                     label: str = "", token: str | None = None,
                     departments: str | Sequence[str] | None = None,
                     department_required: bool = False) -> tuple[str, ApiToken]:
        """A new API token for an actor; returns the secret (shown once, stored only hashed)
        and the token's record.

        ``departments``: the department a clerk works in (``pension`` or ``medical``), or a
        supervisor's (one, or ``both``): they act on and read only that insurance's cases.
        A staff token without it works as both, as tokens made before departments did;
        ``department_required`` refuses that (``sstransfer tokens create`` requires it).

        ``role``: ``clerk`` (the origin or destination clerk, as the case makes it),
        ``origin_clerk``, ``destination_clerk``, ``supervisor``, ``self``, ``employer`` or
        ``agent``; a clerk's or a supervisor's token needs its ``agency``, unless the
        supervisor is granted a whole ``province`` (2-digit code). ``person_id``: role
        ``self``, the person's own resident ID number. ``label``: a note on what the token is
        for. ``token``: this secret instead of a random one (the demo's ready-made tokens).
        Bad input is refused as :class:`InvalidInput` and nothing is written.
        """
        return self.access_service.create_token(
            actor_id, role, agency, province=province, person_id=person_id, label=label,
            token=token, departments=departments, department_required=department_required)

    def tokens(self) -> list[ApiToken]:
        """Every API token in id order, revoked ones included (a record holds only the hash
        of its secret)."""
        return self.access_service.tokens()

    def revoke_token(self, token_id: int) -> None:
        """Revoke an API token: requests with it are refused from now on; an id that is not
        a live token is refused as :class:`InvalidInput`."""
        self.access_service.revoke_token(token_id)


# --- the database schema, read and changed without an engine (`sstransfer db`) --------------
@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema is: its revision (None: no sstransfer tables yet), the one
    this sstransfer needs, and the database's URL as it may be shown (password hidden)."""

    current: str | None
    head: str
    database: str

    @classmethod
    def of(cls, db: sa.Engine) -> SchemaState:
        return cls(current_revision(db), head_revision(), repr(db.url))


def schema_state(url: str | None = None) -> SchemaState:
    """The schema of the database at ``url`` (default as :class:`Engine`'s)."""
    db = connect(url)
    try:
        return SchemaState.of(db)
    finally:
        db.dispose()


def upgrade_schema(url: str | None = None, revision: str = "head"
                   ) -> tuple[SchemaState, SchemaState]:
    """Bring the database at ``url`` to ``revision`` (default: the one this sstransfer
    needs), all or nothing; returns its schema before and after. A revision this sstransfer
    does not ship is refused before the database is touched (nor a SQLite file created)."""
    check_revision(revision)
    db = connect(url)
    try:
        before = SchemaState.of(db)
        upgrade(db, revision)
        return before, SchemaState.of(db)
    finally:
        db.dispose()


__all__ = ["URL_ENV", "Engine", "SchemaState", "retry_on_conflict", "schema_state",
           "sqlite_file", "upgrade_schema"]
