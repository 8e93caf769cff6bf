"""What the services need from storage: small ports, one per service (like APScheduler 4's
``abc.py``). :class:`workflow.store.SqlStore` implements them on SQLite and PostgreSQL; the
contract tests (``tests/test_store_contract.py``) run on every implementation.

The ports speak in the typed records of :mod:`workflow.records` and the query objects of
:mod:`workflow.core.queries`; the only free-form values are JSON payloads (a step's
``inputs``, an idempotent call's result). Nothing here knows a column or SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from .core.deadlines import SpanDue
from .core.queries import AlertQuery, CaseQuery, InboxQuery
from .records import (
    AbandonedRun,
    AccessEntry,
    Advisory,
    Alert,
    ApiToken,
    CaseLink,
    CaseReads,
    CaseUpdate,
    ClosedSpans,
    EventToFanOut,
    Gauges,
    HistoryEntry,
    IdempotentCall,
    InboxSpan,
    JsonObject,
    Lease,
    MessageToSend,
    NewAlert,
    NewCase,
    NewEvent,
    NewHistoryEntry,
    NewMessage,
    NewPaper,
    NewSpan,
    OutboxEvent,
    OutboxMessage,
    OverdueRow,
    Paper,
    PrintedPaper,
    RaisedAlert,
    Run,
    RunningSpan,
    Span,
    SpanAlert,
    SpanChange,
    SpanToJudge,
    SpanUpdate,
    StepCase,
    StoredCase,
    StoredSpan,
    StoredStep,
    Subscription,
    WebSession,
)


class HostSession(Protocol):
    """A host application's SQLAlchemy (or SQLModel) session: a step written in it commits or
    rolls back with the host's own writes."""

    def connection(self) -> object:
        """The session's connection, in its transaction."""
        ...


# --- cases -----------------------------------------------------------------------------------
class CaseTransactionPort(Protocol):
    """The writes of one step (or one bulk opening), all in one transaction."""

    def row_for_step(self, case_id: int) -> StepCase | None:
        """The case a step decides on (without its timestamps), or None if there is none."""
        ...

    def update_case(self, case_id: int, version: int, change: CaseUpdate) -> bool:
        """Write ``change`` if the case is still at ``version`` (the optimistic check); False
        (nothing written) if it has moved on."""
        ...

    def insert_cases(self, cases: Sequence[NewCase],
                     spans: Sequence[Sequence[NewSpan]]) -> list[int]:
        """Insert new cases, each with its first spans (``spans[i]`` are ``cases[i]``'s);
        the new cases' ids, in the order given."""
        ...

    def insert_history(self, entries: Sequence[NewHistoryEntry]) -> None:
        """Append steps to their cases' histories."""
        ...

    def insert_spans(self, case_id: int, spans: Sequence[NewSpan]) -> None:
        """Start spans of one case."""
        ...

    def end_spans(self, case_id: int, names: Iterable[str] | None, on: dt.date) -> None:
        """End the case's running spans called ``names`` (None: all of them) on ``on``."""
        ...

    def required_case(self, person_id: str, definition: str, destination: str,
                      states: Sequence[str]) -> int | None:
        """The newest case of ``definition`` for the person to ``destination`` in one of
        ``states`` (a definition's ``requires_case``), or None."""
        ...

    def last_steps(self, case_id: int, skip_trigger: str, count: int) -> list[StoredStep]:
        """The case's last ``count`` history rows, newest first, leaving out ``skip_trigger``."""
        ...

    def spans_newest_first(self, case_id: int) -> list[StoredSpan]:
        """Every span of the case, the most recently started first."""
        ...

    def update_span(self, span_id: int, change: SpanUpdate) -> None:
        """Move a span's start (with its new due dates) or its end."""
        ...

    def redate_step(self, history_id: int, on: dt.date) -> None:
        """Set the business date of one history row."""
        ...

    def next_paper_seq(self, agency: str, kind: str, year: int) -> int:
        """Take the next number of the agency's papers of ``kind`` in ``year`` (from 1): the
        counter stays locked until this transaction ends, and a rolled-back step gives its
        number back, so numbers have no gap and no duplicate."""
        ...

    def insert_paper(self, paper: NewPaper) -> int:
        """Keep a paper as issued; its id."""
        ...

    def paper(self, paper_id: int) -> PrintedPaper | None:
        """A kept paper with its content and HTML, or None (read in this transaction)."""
        ...

    def insert_events(self, events: Sequence[NewEvent]) -> None:
        """Write events to the outbox in this transaction (rolled back with it)."""
        ...

    def insert_contacts(self, contacts: Sequence[tuple[int, str | None, str | None]]) -> None:
        """Keep the applicants' contact details: (case id, phone, email)."""
        ...

    def claim_idempotency_key(self, key: str, case_id: int, request_hash: str,
                              stamp: dt.datetime) -> IdempotentCall | None:
        """Claim ``key`` in this transaction: None if it is ours now (or the case does not
        exist), else the call that used it first (a concurrent duplicate waits for it)."""
        ...

    def record_idempotent_result(self, key: str, result: JsonObject) -> None:
        """Store the result of the call that claimed ``key`` (in the claiming transaction)."""
        ...


class CaseStore(Protocol):
    """Cases, their history and spans, and the definition versions they run on."""

    def transaction(self, session: HostSession | None = None,
                    ) -> AbstractContextManager[CaseTransactionPort]:
        """One transaction: the store's own (committed at the end), or the host's session's
        (the host commits it)."""
        ...

    def stored_definitions(self) -> dict[tuple[str, int], str]:
        """The content hash of every stored definition version, by (name, version)."""
        ...

    def register_definition(self, name: str, version: int, content_hash: str, source: str,
                            stamp: dt.datetime, *, replace: bool) -> int:
        """Store a definition version (``replace``: its edited text); with ``replace``, the
        number of cases running on it when there are any, and nothing changed; else 0."""
        ...

    def definition_source(self, name: str, version: int) -> str | None:
        """The text a stored definition version was loaded from, or None."""
        ...

    def case(self, case_id: int) -> StoredCase | None:
        """One case, or None if there is none with that id."""
        ...

    def case_id_of(self, public_number: str) -> int | None:
        """The id of the case with that public case number, or None."""
        ...

    def running_cases(self, people: Iterable[tuple[str, str]]
                      ) -> dict[tuple[str, str], StoredCase]:
        """The running case (not in a final state) of each (person ID number, insurance)
        that has one."""
        ...

    def history(self, case_id: int) -> list[HistoryEntry]:
        """Every step of the case, oldest first."""
        ...

    def spans(self, case_id: int) -> list[Span]:
        """Every span of the case, in the order they started."""
        ...

    def cases(self, query: CaseQuery) -> list[StoredCase]:
        """The cases ``query`` asks for, in id order or the query's ``sort`` (every field of
        the query applied)."""
        ...

    def count_cases(self, query: CaseQuery) -> int:
        """How many cases the filters of ``query`` match (its page and sort left aside)."""
        ...

    def linked_cases(self, case_id: int) -> list[CaseLink]:
        """The cases linked to the case: the one it needed to be opened, and those opened
        because of it, in id order."""
        ...

    def papers(self, case_id: int) -> list[Paper]:
        """The papers issued on the case, in the order they were issued."""
        ...

    def paper(self, paper_id: int) -> PrintedPaper | None:
        """A kept paper with its content and HTML as issued, or None."""
        ...


# --- alerts ----------------------------------------------------------------------------------
class RecomputeTransactionPort(Protocol):
    """Running spans and their due-date changes, in one transaction."""

    def running_spans(self) -> list[RunningSpan]:
        """Every running span, with its case's definition version."""
        ...

    def set_due(self, span_id: int, due: SpanDue) -> None:
        """Store a span's recomputed due dates (and calendar fingerprint)."""
        ...

    def record_change(self, change: SpanChange) -> None:
        """Record that a span's due date changed, and why."""
        ...


class AlertStore(Protocol):
    """Alerts, their subscribers and deliveries, and due-date recomputation."""

    def spans_to_judge(self, as_of: dt.date, horizon: dt.date, chunk: int,
                       ) -> AbstractContextManager[Iterator[Sequence[SpanToJudge]]]:
        """Running spans started by ``as_of`` and due (committed or statutory) by
        ``horizon``, streamed in chunks of ``chunk``."""
        ...

    def advisories(self, as_of: dt.date, since: Run | None) -> list[Advisory]:
        """Pension cases continued by ``as_of`` while the same person's medical insurance was
        not continued at the same destination (no medical case at all included); ``since``
        (the last completed scan; None: every such case): only those it could not have seen,
        dated after its as-of date or recorded since it started."""
        ...

    def insert_alerts(self, alerts: Sequence[NewAlert], lease: Lease | None,
                      ) -> list[RaisedAlert]:
        """Insert the alerts, skipping any that exists already (by span and level, or by case
        for an advisory); the new ones, oldest first. With ``lease``, only while it is held
        (else :class:`~workflow.errors.LeaseLost`)."""
        ...

    def subscribe(self, name: str, stamp: dt.datetime) -> None:
        """Register a subscriber (once): it is sent the alerts raised from now on."""
        ...

    def pending(self, subscriber: str, after: int, generation: int,
                limit: int) -> list[Alert]:
        """The next alerts after id ``after`` not yet delivered to ``subscriber`` (nor claimed
        under lease ``generation``), oldest first."""
        ...

    def claim_delivery(self, lease: Lease, alert_id: int, subscriber: str) -> bool:
        """Claim an alert for a subscriber before calling it: True if this run may deliver
        it (a claim an older generation left undelivered is taken over)."""
        ...

    def record_delivery(self, lease: Lease, alert_id: int, subscriber: str) -> None:
        """Record that the claimed alert was delivered."""
        ...

    def drop_claim(self, lease: Lease, alert_id: int, subscriber: str) -> None:
        """Give a claim back after its callback failed: the next scan tries it again."""
        ...

    def alerts(self, query: AlertQuery) -> list[Alert]:
        """The stored alerts ``query`` asks for (every field of the query applied)."""
        ...

    def span_alerts(self, query: AlertQuery) -> list[SpanAlert]:
        """One line per span (and per advisory) of the alerts ``query`` matches, at its
        highest level, open lines first."""
        ...

    def resolve_moved(self, as_of: dt.date, lease: Lease | None) -> int:
        """Resolve the open alerts of running spans whose due date moved (freeing their keys
        to be raised again); how many. With ``lease``, only while it is held."""
        ...

    def recompute_transaction(self) -> AbstractContextManager[RecomputeTransactionPort]:
        """One transaction for recomputing due dates."""
        ...


class InboxStore(Protocol):
    """What an agency has to do now."""

    def running_spans(self, query: InboxQuery) -> tuple[int, list[InboxSpan]]:
        """How many running spans ``query`` matches, and its page of them with their cases,
        soonest due first (by the committed due date where there is one); ``by_agency``:
        by the owning agency first."""
        ...

    def running_per_agency(self, query: InboxQuery) -> dict[str, int]:
        """How many running spans ``query`` matches per owning agency, in code order."""
        ...


# --- scheduled jobs --------------------------------------------------------------------------
class SchedulingStore(Protocol):
    """Leases of scheduled jobs (fenced by their generation) and their run records; each call
    is its own transaction."""

    def take_lease(self, job: str, holder: str,
                   seconds: float) -> tuple[Lease | None, list[AbandonedRun]]:
        """Take ``job``'s lease for ``seconds`` if it is free or expired (None if not); with
        it, the runs a holder whose lease ran out left ``running`` (now ``abandoned``)."""
        ...

    def renew_lease(self, lease: Lease, seconds: float) -> bool:
        """Extend a held lease by ``seconds`` from now; False if it was taken over."""
        ...

    def release_lease(self, lease: Lease) -> None:
        """Let the lease expire now."""
        ...

    def lease_expiry(self, job: str) -> dt.datetime | None:
        """When the current holder's lease of ``job`` runs out unless renewed."""
        ...

    def start_run(self, lease: Lease, as_of: dt.date) -> int:
        """Record a run of the lease's job for business date ``as_of``; its id."""
        ...

    def finish_run(self, lease: Lease, run_id: int, status: str, detail: str) -> None:
        """Record how a run ended (``done`` or ``failed``) and what it did."""
        ...

    def last_done(self, job: str) -> dt.date | None:
        """The business date of the last completed run of ``job``."""
        ...

    def last_done_run(self, job: str) -> Run | None:
        """The completed run of ``job`` of the latest business date (the latest of those)."""
        ...

    def runs(self, job: str | None = None) -> list[Run]:
        """The runs of ``job`` (None: of every job), oldest first."""
        ...


# --- reports ---------------------------------------------------------------------------------
class ReportStore(Protocol):
    """What the overdue report reads. ``agencies``/``province``: only the spans owned by
    those agencies / by the agencies of that province (2 digits)."""

    def overdue_count(self, as_of: dt.date, *, agencies: Sequence[str] | None = None,
                      province: str | None = None,
                      insurances: Sequence[str] | None = None) -> int:
        """How many spans are running on ``as_of`` past the date they are judged by."""
        ...

    def overdue_due_dates(self, as_of: dt.date, *, agencies: Sequence[str] | None = None,
                          province: str | None = None,
                          insurances: Sequence[str] | None = None,
                          ) -> Iterator[tuple[str, dt.date, dt.date]]:
        """(owner agency, date judged by, statutory due date) of each overdue span."""
        ...

    def closed_in_period(self, start: dt.date, end: dt.date, *,
                         agencies: Sequence[str] | None = None,
                         province: str | None = None,
                         insurances: Sequence[str] | None = None) -> list[ClosedSpans]:
        """Per owner agency, the spans closed from ``start`` to ``end``."""
        ...

    def overdue_rows(self, as_of: dt.date, *, agencies: Sequence[str] | None = None,
                     province: str | None = None,
                     insurances: Sequence[str] | None = None) -> Iterator[OverdueRow]:
        """Every overdue span with its case's person, by agency and due date (streamed)."""
        ...

    def gauges(self) -> Gauges:
        """Counts for the metrics: cases by (insurance, state), alerts of running spans by
        level, outbox events by state."""
        ...


# --- access ----------------------------------------------------------------------------------
class AccessStore(Protocol):
    """API tokens, the access log and the progress page's tries."""

    def insert_token(self, token: ApiToken) -> int:
        """Store a new token (its ``id`` left None); its id."""
        ...

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        """The token whose SHA-256 is ``token_hash`` (revoked or not), or None."""
        ...

    def tokens(self) -> list[ApiToken]:
        """Every token, revoked ones included, in id order."""
        ...

    def revoke_token(self, token_id: int, stamp: dt.datetime) -> bool:
        """Revoke a live token; False if there is none with that id (or it was revoked)."""
        ...

    def log_reads(self, reads: CaseReads) -> None:
        """Write one access-log entry naming every case read (or none: a refused read)."""
        ...

    def access_log(self, *, agencies: Sequence[str] | None = None, province: str | None = None,
                   case_id: int | None = None, actor_id: str | None = None,
                   since: dt.datetime | None = None, limit: int = 100,
                   offset: int = 0) -> list[AccessEntry]:
        """Entries newest first; ``agencies``/``province``: the entries of cases whose origin
        or destination is in that scope and of readers of its agencies; ``case_id``: every
        entry naming that case (if it is in the scope)."""
        ...

    def claim_try(self, client: str, subject: str, stamp: dt.datetime, *, window: dt.timedelta,
                  tries: int, hold: dt.timedelta) -> dt.datetime | None:
        """Take one progress-page try of ``client`` on case number ``subject``, atomically
        (its budget per window, the number's back-off); None if taken, else when to retry."""
        ...

    def judged_try(self, client: str, subject: str, matched: bool, stamp: dt.datetime, *,
                   free: int, backoff: dt.timedelta, longest: dt.timedelta,
                   window: dt.timedelta) -> None:
        """Record a claimed try's outcome (a match clears, a mismatch backs off)."""
        ...

    def insert_session(self, session: WebSession) -> None:
        """Store a new dashboard session."""
        ...

    def live_session(self, id_hash: str, stamp: dt.datetime,
                     idle: dt.timedelta) -> WebSession | None:
        """The session if still live (not ended, expired, idle or of a revoked token)."""
        ...

    def end_session(self, id_hash: str, stamp: dt.datetime) -> None:
        """End a session (signing out)."""
        ...

    def end_sessions_of_token(self, token_id: int, stamp: dt.datetime) -> int:
        """End every live session opened with a token; how many."""
        ...


# --- the outbox ------------------------------------------------------------------------------
class OutboxStore(Protocol):
    """The outbox's events and messages, the subscriptions and the contact details. The
    deliverer's writes are fenced by the outbox lease (``LeaseLost`` once it is lost)."""

    def events_to_fan_out(self, limit: int) -> list[EventToFanOut]:
        """Events not yet fanned out, oldest first, with their cases' agencies and contacts."""
        ...

    def fan_out(self, lease: Lease, fanned: Sequence[tuple[str, Sequence[NewMessage]]]) -> None:
        """Write each event's messages and mark it fanned out (delivered if it has none)."""
        ...

    def subscriptions(self) -> list[Subscription]:
        """Every subscription, with its secret."""
        ...

    def due_messages(self, at: dt.datetime, limit: int) -> list[MessageToSend]:
        """Pending messages due at ``at``, oldest first, with their events."""
        ...

    def claim(self, lease: Lease, message_id: int) -> bool:
        """Claim a pending message for this lease generation; False if not this run's to send."""
        ...

    def record(self, lease: Lease, message_id: int, event_id: str, *, state: str,
               attempts: int, next_attempt_at: dt.datetime | None, error: str | None,
               provider_id: str | None) -> None:
        """Record an attempt's outcome and settle the event's state."""
        ...

    def events(self, *, state: str | None = None, case_id: int | None = None,
               agencies: Sequence[str] | None = None, province: str | None = None,
               limit: int = 100, offset: int = 0,
               insurances: Sequence[str] | None = None) -> list[OutboxEvent]:
        """Events newest first, filtered; ``agencies``/``province``: of cases from or to them;
        ``insurances``: of cases of those insurances."""
        ...

    def event(self, number: int) -> OutboxEvent | None:
        """The event numbered ``number`` in the outbox, or None."""
        ...

    def messages(self, event_ids: Sequence[str]) -> list[OutboxMessage]:
        """The messages of these events, in id order."""
        ...

    def retry(self, event_id: str) -> int:
        """Make the event's dead messages pending again; how many."""
        ...

    def counts(self) -> dict[tuple[str, str], int]:
        """Events by (name, state)."""
        ...

    def add_subscription(self, *, agency: str | None, province: str | None,
                         events: Sequence[str], channel: str, target: str,
                         secret: str | None, created_by: str) -> Subscription:
        """Store a subscription (its events empty: every event); the stored record."""
        ...

    def subscription(self, subscription_id: int) -> Subscription | None:
        """One subscription with its secret, or None."""
        ...

    def remove_subscription(self, subscription_id: int) -> bool:
        """Delete a subscription; False if there is none with that id."""
        ...

    def contact(self, case_id: int) -> tuple[str | None, str | None]:
        """The applicant's (phone, email) given at opening."""
        ...


__all__ = ["AccessStore", "AlertStore", "CaseStore", "CaseTransactionPort", "HostSession",
           "InboxStore", "OutboxStore", "RecomputeTransactionPort", "ReportStore",
           "SchedulingStore"]
