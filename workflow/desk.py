"""The desk: one principal's view of the engine, the one door of every request.

``engine.desk(principal, via="api")`` gives it. Every read goes through it and is, by
construction, narrowed to what the principal may read (:mod:`workflow.core.access`) and
written to the access log (who read which case, which view, through what); every step is
taken as the principal's actor. The REST API, the dashboard and the progress page call only
a desk; the trusted :class:`~workflow.Engine` API stays for the embedded, unscoped use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hmac
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .core import access
from .core.access import Principal
from .core.definitions import Definition
from .core.divisions import Divisions
from .core.figures import OverdueReport
from .core.inputs import Actor, check_person_id, normalise, parse_public_number, today
from .core.queries import AlertQuery, CaseQuery, InboxQuery
from .core.rules import CaseFacts
from .core.schema import APPLICANT_KINDS
from .core.views import Case
from .errors import CaseNotFound, InvalidInput, NotPermitted, PaperNotFound
from .records import (
    AccessEntry,
    Alert,
    HistoryEntry,
    OutboxEvent,
    OutboxMessage,
    Paper,
    PrintedPaper,
    Run,
    Span,
    SpanAlert,
    StepCase,
    Subscription,
)
from .services.access import AccessService
from .services.alerts import AlertService, InboxPage
from .services.cases import CaseService
from .services.outbox import OutboxService
from .services.papers import PaperService
from .services.reports import ReportService


@dataclasses.dataclass(frozen=True)
class CaseSearch:
    """One page of a search: how many cases match in all, and this page of them."""

    total: int
    cases: list[Case]


@dataclasses.dataclass(frozen=True)
class CaseFile:
    """A case with its history and spans, read (and logged) as one view."""

    case: Case
    history: list[HistoryEntry]
    spans: list[Span]


class Desk:
    """What ``principal`` may read and do, through ``via`` (``api``, ``dashboard``, ``cli``)."""

    def __init__(self, principal: Principal, *, via: str, cases: CaseService,
                 alerts: AlertService, reports: ReportService, access_service: AccessService,
                 papers: PaperService, outbox: OutboxService,
                 definition: Callable[[str, int | None], Definition], divisions: Divisions,
                 workflows: Sequence[str] = ()) -> None:
        if via not in access.VIA:
            raise InvalidInput(f"via must be one of {', '.join(access.VIA)}, not {via!r}")
        self.principal, self.via = principal, via
        self._cases, self._alerts, self._reports = cases, alerts, reports
        self._access, self._definition, self._divisions = access_service, definition, divisions
        self._papers, self._outbox = papers, outbox
        self._workflows = tuple(workflows)

    # --- the access log: every read of a person's case passes here ------------------------
    def _read(self, case_ids: Iterable[int], view: str) -> None:
        self._access.record_reads(self.principal, case_ids, view, self.via)

    def _readable(self, case_id: int, view: str = "case") -> Case:
        """The case, if the principal may read it. One they may not read is answered as one
        that does not exist (``CaseNotFound``: no oracle of which case numbers are taken),
        and the attempt is written to the access log (``view (denied)``)."""
        case = self._cases.get(case_id)
        if not access.may_read(self.principal, case):
            self._read([case_id], f"{view} (denied)")
            raise CaseNotFound(case_id)
        return case

    @contextlib.contextmanager
    def _denied(self, view: str) -> Iterator[None]:
        """A read the principal may not make, of something that is not one case (the outbox,
        a report, another agency's alerts, the access log): refused as ever, and the attempt
        written to the access log as ``view (denied)``, naming no case."""
        try:
            yield
        except NotPermitted:
            self._access.record_denied(self.principal, view, self.via)
            raise

    def _papers_reader(self, case: Case, view: str) -> None:
        """Only the agencies' staff read the papers of a case they may read; another reader's
        attempt is logged as denied."""
        try:
            access.check_papers_reader(self.principal, case)
        except NotPermitted:
            self._read([case.id], f"{view} (denied)")
            raise

    # --- reading --------------------------------------------------------------------------
    def case(self, case_id: int) -> Case:
        """The case, if the principal may read it (else ``CaseNotFound``, as for a case that
        does not exist)."""
        case = self._readable(case_id)
        self._read([case.id], "case")
        return case

    def history(self, case_id: int) -> list[HistoryEntry]:
        """Every step of a readable case, oldest first."""
        self._readable(case_id, "history")
        entries = self._cases.history(case_id)
        self._read([case_id], "history")
        return entries

    def spans(self, case_id: int) -> list[Span]:
        """The time limits of a readable case, with their due dates."""
        self._readable(case_id, "spans")
        found = self._cases.spans(case_id)
        self._read([case_id], "spans")
        return found

    def case_to_act_on(self, case_id: int) -> Case:
        """The readable case a principal is about to take a step on (the step's form is read
        against it); the step itself is recorded in the history, so this is not logged."""
        return self._readable(case_id, "step")

    def case_file(self, case_id: int) -> CaseFile:
        """A readable case with its history and spans: one view, one row in the access log."""
        case = self._readable(case_id)
        found = CaseFile(case, self._cases.history(case_id), self._cases.spans(case_id))
        self._read([case_id], "case")
        return found

    def cases(self, query: CaseQuery | None = None) -> list[Case]:
        """The cases of ``query`` the principal may read (narrowed in the database)."""
        query = (query or CaseQuery()).narrowed(**access.scope(self.principal))
        # The scope already narrowed the query; the rule is checked once more on each row so
        # that a person's case never leaves through a fault in a query (cheap: no I/O).
        found = [c for c in self._cases.cases(query) if access.may_read(self.principal, c)]
        self._read([c.id for c in found], "list")
        return found

    def search(self, query: CaseQuery, *, view: str = "search") -> CaseSearch:
        """One page of the cases of ``query`` the principal may read, with how many match in
        all: scoped as :meth:`cases`; the cases shown are one entry of the access log."""
        query = query.narrowed(**access.scope(self.principal))
        found = [c for c in self._cases.cases(query) if access.may_read(self.principal, c)]
        total = self._cases.count(query)
        self._read([c.id for c in found], view)
        return CaseSearch(total, found)

    def alerts(self, query: AlertQuery | None = None) -> list[Alert]:
        """Stored alerts the principal may read: a readable case's, their agency's (or
        province's), or those of an applicant's own cases."""
        query = query or AlertQuery()
        if query.case_id is not None:
            self._readable(query.case_id, "alerts")
            return self._alerts.alerts(query)
        with self._denied("alerts"):
            access.check_owned(self.principal, query.agency)
        return self._alerts.alerts(query.narrowed(**access.owned_scope(self.principal)))

    def span_alerts(self, query: AlertQuery | None = None) -> list[SpanAlert]:
        """One line per span of the stored alerts the principal may read (scoped as
        :meth:`alerts`), at its highest level, open lines first."""
        query = query or AlertQuery()
        if query.case_id is not None:
            self._readable(query.case_id, "alerts")
            return self._alerts.span_alerts(query)
        with self._denied("alerts"):
            access.check_owned(self.principal, query.agency)
        return self._alerts.span_alerts(query.narrowed(**access.owned_scope(self.principal)))

    def last_scan(self) -> Run | None:
        """The completed scan of the latest as-of date (no person data)."""
        return self._alerts.last_scan()

    def counting_day(self) -> dt.date:
        """The day working days left or late are counted from on every page: the last scan's
        as-of date, or today before any scan."""
        return self._alerts.counting_day()

    def inbox(self, *, as_of: dt.date | None = None, limit: int = 100,
              offset: int = 0) -> InboxPage:
        """The running spans the principal's agency (or province) owns, soonest due first (a
        province's grouped by agency, with each one's count); each line names a person, so
        each is a read of its case."""
        if not self.principal.is_staff:
            return InboxPage(0, [])
        scope = access.owned_scope(self.principal)
        query = InboxQuery(as_of=as_of or self.counting_day(), limit=limit, offset=offset,
                           agencies=(scope["agency"],) if "agency" in scope else None,
                           province=scope.get("province"), by_agency="province" in scope,
                           insurances=scope.get("insurances"))
        found = self._alerts.inbox(query)
        self._read([item.span.case_id for item in found.items], "inbox")
        return found

    def overdue_report(self, as_of: dt.date | None = None, *, since: dt.date | None = None,
                       view: str = "overdue_report") -> OverdueReport:
        """The overdue report of the supervisor's agency (or province); each case it lists
        counts as read (``view``)."""
        report = self.overdue_figures(as_of, since=since)
        self._read([line.case_id for line in report.lines()], view)
        return report

    def check_report_reader(self) -> None:
        """Refuse (``NotPermitted``, the attempt logged) anyone who may not read a report:
        before a report's parameters are even looked at."""
        with self._denied("overdue_report"):
            access.check_report_reader(self.principal, self.via)

    def overdue_figures(self, as_of: dt.date | None = None, *,
                        since: dt.date | None = None) -> OverdueReport:
        """The same report for its figures only (counts per agency and the chart): whoever
        shows its lines, which name people, reads them through :meth:`overdue_report`."""
        self.check_report_reader()
        scope = access.owned_scope(self.principal)
        return self._reports.build(as_of or today(), since=since,
                                   agencies=[scope["agency"]] if "agency" in scope else None,
                                   province=scope.get("province"),
                                   insurances=scope.get("insurances"))

    def papers(self, case_id: int) -> list[Paper]:
        """The papers issued on a case: the agencies' own, read by the clerks and supervisors
        of its two agencies only (they carry the person's full ID number)."""
        self._papers_reader(self._readable(case_id, "papers"), "papers")
        found = self._papers.papers(case_id)
        self._read([case_id], "papers")
        return found

    def paper(self, paper_id: int) -> PrintedPaper:
        """One kept paper with its content and HTML as issued (a read of its case)."""
        printed = self._papers.printed(paper_id)
        try:
            case = self._readable(printed.paper.case_id, "paper")
        except CaseNotFound:
            raise PaperNotFound(paper_id) from None
        self._papers_reader(case, "paper")
        self._read([printed.paper.case_id], "paper")
        return printed

    def print_paper(self, paper_id: int, format: str = "pdf") -> tuple[Paper, bytes]:
        """A kept paper printed as issued (``html``, or ``pdf`` from that HTML): every
        printing is a read of its case in the access log."""
        printed = self.paper(paper_id)
        return printed.paper, self._papers.render(printed, format)

    # --- the outbox and the subscriptions (supervisors) -------------------------------------
    def outbox(self, *, state: str | None = None, case_id: int | None = None,
               limit: int = 100, offset: int = 0) -> list[OutboxEvent]:
        """The outbox's events of the supervisor's agency's (or province's) cases, newest
        first; each case listed is a read in the access log."""
        with self._denied("outbox"):
            access.check_supervisor(self.principal, "read the outbox")
        found = self._outbox.events(state=state, case_id=case_id, limit=limit, offset=offset,
                                    **access.scope(self.principal))
        self._read([e.case_id for e in found], "outbox")
        return found

    def outbox_messages(self, events: Sequence[OutboxEvent]) -> list[OutboxMessage]:
        """The messages of events read through :meth:`outbox` (recipients masked)."""
        access.check_supervisor(self.principal, "read the outbox")
        return self._outbox.messages(events)

    def retry_outbox(self, number: int) -> int:
        """Send the dead messages of an event of a readable case again; how many."""
        access.check_supervisor(self.principal, "retry the outbox")
        event = self._outbox.event(number)
        self._readable(event.case_id)
        return self._outbox.retry(number)

    def subscriptions(self) -> list[Subscription]:
        """The subscriptions the supervisor manages (their agency's, or their province's and
        its agencies')."""
        with self._denied("subscriptions"):
            access.check_supervisor(self.principal, "read subscriptions")
        found = []
        for sub in self._outbox.subscriptions():
            try:
                access.check_subscription_scope(self.principal, sub.agency, sub.province)
            except NotPermitted:
                continue
            found.append(sub)
        return found

    def add_subscription(self, *, agency: str | None = None, province: str | None = None,
                         events: Sequence[str] | None = None, channel: str,
                         target: str) -> tuple[Subscription, str | None]:
        """Subscribe the supervisor's agency (or an agency or the whole of their province)."""
        if agency is None and province is None and self.principal.province is None:
            agency = self.principal.agency
        access.check_subscription_scope(self.principal, normalise(agency), normalise(province))
        return self._outbox.add_subscription(agency=agency, province=province, events=events,
                                             channel=channel, target=target,
                                             created_by=self.principal.actor_id)

    def remove_subscription(self, subscription_id: int) -> None:
        sub = self._outbox.subscription(subscription_id)
        access.check_subscription_scope(self.principal, sub.agency, sub.province)
        self._outbox.remove_subscription(subscription_id, removed_by=self.principal.actor_id)

    def access_log(self, *, case_id: int | None = None, actor_id: str | None = None,
                   since: dt.datetime | None = None, limit: int = 100,
                   offset: int = 0) -> list[AccessEntry]:
        """Who read which case, newest first: only supervisors, for their agency or province."""
        with self._denied("access_log"):
            access.check_supervisor(self.principal, "read the access log")
        return self._access.access_log(self.principal, case_id=case_id, actor_id=actor_id,
                                       since=since, limit=limit, offset=offset)

    # --- what the principal may do ---------------------------------------------------------
    def definition_of(self, case: Case) -> Definition:
        """The definition version a case runs on."""
        return self._definition(case.definition, case.definition_version)

    def definition_of_case(self, case_id: int) -> Definition:
        """The definition version a case runs on, by its number (no person data is read)."""
        return self.definition_of(self._cases.get(case_id))

    def workflows(self) -> list[Definition]:
        """The definitions an application is opened on now: each workflow's latest version."""
        return [self._definition(name, None) for name in self._workflows]

    def possible_steps(self, case: Case) -> list[str]:
        """The triggers from the case's state this principal may fire now."""
        return access.possible_steps(self.principal, self.definition_of(case), case,
                                     self._divisions)

    def documents_needed(self, case: Case, trigger: str) -> list[str]:
        """The documents ``trigger`` needs from the case's state that the case does not hold."""
        definition = self.definition_of(case)
        return access.documents_needed(definition, definition.transitions[trigger, case.state],
                                       CaseFacts.of(case))

    def levels(self, span: Any, as_of: dt.date) -> list[tuple[str, int]]:
        """The alert levels a running span is at on ``as_of`` (working days late each)."""
        return self._alerts.levels(span, as_of)

    # --- acting as the principal -------------------------------------------------------------
    def open_case(self, definition: str, *, applicant: str | None = None, origin: str,
                  **application: Any) -> Case:
        """Open a case as the principal: an applicant opens their own (``applicant`` defaults
        to their role), a clerk at their counter."""
        if applicant is None:
            if self.principal.role not in APPLICANT_KINDS:
                raise InvalidInput(f"applicant is needed: one of {', '.join(APPLICANT_KINDS)}")
            applicant = self.principal.role
        return self._cases.open_case(definition, applicant=applicant, origin=origin,
                                     actor=self.principal.opener(origin), **application)

    def open_cases(self, applications: Sequence[Mapping[str, Any]], *,
                   on: dt.date | None = None, first_line: int = 1) -> list[int]:
        """Open many cases in one transaction; a ``clerk`` opens as origin clerk when every
        application's origin is their agency, else as destination clerk."""
        origins = {normalise(app.get("origin")) for app in applications}
        actor = self.principal.opener(origins.pop() if len(origins) == 1 else None)
        return self._cases.open_cases(applications, actor=actor, on=on, first_line=first_line)

    def fire(self, case_id: int, trigger: str, *, on: dt.date | None = None,
             documents: Iterable[str] = (), expected_version: int | None = None,
             explanation: str | None = None, documents_needed: Sequence[str] | None = None,
             amount: Decimal | int | str | None = None, contribution_months: int | None = None,
             information_form: Mapping[str, Any] | None = None,
             months_at_destination: int | None = None,
             idempotency_key: str | None = None) -> Case:
        """Fire ``trigger`` on a readable case as the principal's actor.

        One transaction: the case is read once, for the scope and for the step. One the
        principal may not read is ``CaseNotFound`` as a missing one, nothing of the step is
        written, and the attempt goes to the access log (``step (denied)``)."""
        denied = False

        def acting(row: StepCase) -> Actor:
            nonlocal denied
            if not access.may_read(self.principal, row):
                denied = True
                raise CaseNotFound(case_id)
            return self.principal.actor_for(row)

        try:
            return self._cases.fire(
                case_id, trigger, actor=acting, on=on,
                documents=documents, expected_version=expected_version, explanation=explanation,
                documents_needed=documents_needed, amount=amount,
                contribution_months=contribution_months, information_form=information_form,
                months_at_destination=months_at_destination, idempotency_key=idempotency_key)
        except CaseNotFound:
            if denied:  # written after the step's transaction rolled back
                self._read([case_id], "step (denied)")
            raise

    def correct_paper(self, paper_id: int, *, reason: str) -> Paper:
        """Correct a kept paper by issuing a new one that names it (a clerk of its issuer)."""
        printed = self._papers.printed(paper_id)
        try:
            current = self._readable(printed.paper.case_id, "paper")
        except CaseNotFound:
            raise PaperNotFound(paper_id) from None
        access.check_papers_reader(self.principal, current)
        return self._papers.correct(paper_id, actor=self.principal.actor_for(current),
                                    reason=reason)

    def attach_documents(self, case_id: int, documents: Iterable[str], *,
                         on: dt.date | None = None,
                         expected_version: int | None = None) -> Case:
        """Add documents to a readable running case as the principal's actor."""
        current = self._readable(case_id, "attach")
        return self._cases.attach_documents(case_id, documents,
                                            actor=self.principal.actor_for(current), on=on,
                                            expected_version=expected_version)

    def correct_business_date(self, case_id: int, new_date: dt.date, *, reason: str,
                              expected_version: int | None = None) -> Case:
        """Correct the business date of a readable case's last step (a supervisor's act)."""
        current = self._readable(case_id, "correct date")
        return self._cases.correct_business_date(case_id, new_date,
                                                 actor=self.principal.actor_for(current),
                                                 reason=reason,
                                                 expected_version=expected_version)


class ProgressDesk:
    """The person's progress page: the public case number and the ID number are the
    credential.

    Tries are limited per client and, for each case number a client tries, wrong ID numbers
    back off (never locking the case for anyone else); a mismatch, an unknown number and a
    malformed one look the same; every view is written to the access log."""

    def __init__(self, cases: CaseService, access_service: AccessService) -> None:
        self._cases, self._access = cases, access_service

    def look_up(self, client: str, number: str, person_id: str) -> CaseFile | None:
        """The case file when the public case ``number`` was opened for ``person_id``, else
        None (a failed try); ``RateLimited`` when the client must wait (the try is then not
        judged at all)."""
        subject = parse_public_number(number) or "?"
        self._access.claim_progress_try(client, subject)
        case = self._match(subject, person_id)
        self._access.judged_progress_try(client, subject, case is not None)
        if case is None:
            return None
        found = CaseFile(case, self._cases.history(case.id), self._cases.spans(case.id))
        self._access.record_progress_read(case.id)
        return found

    def _match(self, number: str, person_id: str) -> Case | None:
        """The case, when it exists and was opened for this ID number (constant-time)."""
        try:
            person = check_person_id(person_id)
            case = self._cases.by_public_number(number)
        except (InvalidInput, CaseNotFound):
            return None
        return case if hmac.compare_digest(person.encode(), case.person_id.encode()) else None


__all__ = ["CaseFile", "CaseSearch", "Desk", "ProgressDesk"]
