"""The tables, declared as SQLModel records; the read models they extend (history entries,
spans, alerts, access-log entries, API tokens) are those of :mod:`workflow.records`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from ..records import (
    Alert,
    ApiToken,
    AwareDateTime,
    HistoryEntry,
    OutboxEvent,
    OutboxMessage,
    Paper,
    Span,
    Subscription,
    _json,
    _ts,
)

#: The partial indexes (each with the WHERE of the rows it holds), for :func:`on_postgresql`.
PARTIAL_INDEXES: list[sa.Index] = []


def _partial(name: str, *columns: str, where: str, unique: bool = False) -> sa.Index:
    """A partial index: declared with SQLite's WHERE here; PostgreSQL's, the same, is added by
    :func:`on_postgresql` when a PostgreSQL engine is made. Declaring ``postgresql_where`` here
    would make SQLAlchemy load its PostgreSQL dialect (every driver's module, about 2 MB) to
    check the argument in a process that only ever opens an SQLite file."""
    index = sa.Index(name, *columns, unique=unique, sqlite_where=sa.text(where))
    PARTIAL_INDEXES.append(index)
    return index


def on_postgresql() -> None:
    """Give each partial index its PostgreSQL WHERE (idempotent): called by ``connect()`` for
    a PostgreSQL URL, before any DDL or migration runs on it."""
    for index in PARTIAL_INDEXES:
        index.dialect_options["postgresql"]["where"] = index.dialect_options["sqlite"]["where"]


def _generation() -> sa.Column[Any]:
    return sa.Column(sa.Integer(), nullable=False, server_default="0")


class DefinitionRecord(SQLModel, table=True):
    """Each definition version cases may run on, with the text it was loaded from."""

    __tablename__ = "workflow_definition"
    name: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    content_hash: str
    source: str
    registered_at: dt.datetime = Field(sa_column=_ts())


class CaseRecord(SQLModel, table=True):
    __tablename__ = "transfer_case"
    __table_args__ = (
        # Cases by state, and newly continued cases for the different-place advisory.
        sa.Index("ix_case_insurance_state_last", "insurance", "state", "last_event_on"),
        # A filtered case list: the cases of a state in id order (its first page stops early).
        sa.Index("ix_case_state_id", "state", "id"),
        sa.Index("ix_case_public_number", "public_number", unique=True),
        # An agency's or a province's cases. On PostgreSQL their total by state and insurance
        # is read from these indexes alone: origin there, or destination there and origin not
        # (count_cases; migration 0016). SQLite keeps one column each: a step changes the
        # state, which these would make it write twice more, for counts it makes quickly.
        sa.Index("ix_case_origin_state", "origin", "state", "insurance").ddl_if(
            dialect="postgresql"),
        sa.Index("ix_case_destination_origin_state", "destination", "origin", "state",
                 "insurance").ddl_if(dialect="postgresql"),
        sa.Index("ix_transfer_case_origin", "origin").ddl_if(dialect="sqlite"),
        sa.Index("ix_transfer_case_destination", "destination").ddl_if(dialect="sqlite"),
        # One running transfer per person and insurance: the database refuses a second one,
        # so that two openings at once cannot both win.
        _partial("ux_case_running_person", "person_id", "insurance", unique=True,
                 where="running"),
        # A person's medical cases, for the scan's different-place advisory.
        _partial("ix_case_medical_person", "person_id", "state", where="insurance = 'medical'"),
        # The pension cases continued, by their last step: those dated after the last scan.
        _partial("ix_case_pension_continued", "last_event_on",
                 where="insurance = 'pension' AND state = 'continued'"),
        # ... and by when they were recorded: the steps dated back since the last scan.
        _partial("ix_case_pension_continued_at", "updated_at",
                 where="insurance = 'pension' AND state = 'continued'"),
    )
    id: int | None = Field(default=None, primary_key=True)
    #: The case number the person and the papers know (业务流水号); the id stays internal.
    #: Always written (NULL-able only because SQLite cannot add a NOT NULL column in place).
    public_number: str = Field(sa_column=sa.Column(sa.String(), nullable=True))
    definition_name: str
    definition_version: int
    insurance: str
    state: str
    version: int
    person_id: str = Field(index=True)
    person_name: str
    origin: str
    destination: str
    scope: str
    applicant: str
    # Who applied: the actor id of the employer, agent or person who opened the case (None
    # when a clerk opened it for them). A ``self`` applicant is known by ``person_id``.
    applicant_id: str | None = None
    channel: str
    #: Medical insurance since 2021: the scheme at each end (urban_employee, urban_rural_resident).
    origin_scheme: str | None = None
    destination_scheme: str | None = None
    documents: list[Any] = Field(sa_column=_json())
    requested_documents: list[Any] = Field(sa_column=_json())
    opened_on: dt.date
    last_event_on: dt.date
    amount_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    contribution_months: int | None = None
    #: Recorded at opening: a unit accepts the person at the destination (seed 002).
    receiving_employer: bool | None = None
    #: An entrusted agent's name and resident ID number (shown masked only, never logged).
    agent_name: str | None = None
    agent_id_number: str | None = None
    #: The case is the person's running transfer of its insurance (not in a final state).
    running: bool = Field(default=True, sa_column=sa.Column(
        sa.Boolean(), nullable=False, server_default=sa.true()))
    created_at: dt.datetime = Field(sa_column=_ts())
    updated_at: dt.datetime = Field(sa_column=_ts())
    #: The case this one needed to be opened (its definition's ``requires_case``), if any.
    linked_case_id: int | None = Field(default=None, index=True)


class HistoryRecord(HistoryEntry, table=True):
    """A history row: the step of :class:`HistoryEntry` with its case and row id."""

    model_config = ConfigDict(frozen=False)
    __tablename__ = "case_history"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_history_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="transfer_case.id")


class SpanRecord(Span, table=True):
    """A span row: :class:`Span` with its case, row id and calendar fingerprint."""

    model_config = ConfigDict(frozen=False)
    __tablename__ = "span"
    __table_args__ = (
        # The overdue scan reads running spans by due date only.
        _partial("ix_span_running_due", "due_on", where="ended_on IS NULL"),
        # An agency's inbox: its running spans.
        _partial("ix_span_running_owner", "owner_agency", where="ended_on IS NULL"),
        # On-time rates of spans closed in a period. Closed spans only: ``ended_on IS NULL`` is
        # for the partial indexes of running spans above, which read only the spans due.
        _partial("ix_span_ended", "ended_on", where="ended_on IS NOT NULL"),
        # The scan judges a span with a committed limit by its committed due date.
        _partial("ix_span_running_committed", "committed_due_on", where="ended_on IS NULL"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="transfer_case.id", index=True)
    #: The calendar schedules of the years the span's counting window touches, as computed.
    calendar_fingerprint: str | None = None


class IdempotencyRecord(SQLModel, table=True):
    """The first result of a call made with an idempotency key."""

    __tablename__ = "idempotency_key"
    key: str = Field(primary_key=True)
    case_id: int = Field(foreign_key="transfer_case.id")
    request_hash: str
    result: dict[str, Any] = Field(sa_column=_json())
    created_at: dt.datetime = Field(sa_column=_ts())


class SpanChangeRecord(SQLModel, table=True):
    """A due date recomputed when its year's official schedule became known."""

    __tablename__ = "span_change"
    id: int | None = Field(default=None, primary_key=True)
    span_id: int = Field(foreign_key="span.id", index=True)
    old_due_on: dt.date
    new_due_on: dt.date
    old_provisional: bool
    new_provisional: bool
    old_committed_due_on: dt.date | None = None
    new_committed_due_on: dt.date | None = None
    changed_at: dt.datetime = Field(sa_column=_ts())
    reason: str


class AlertRecord(Alert, table=True):
    """An alert row; ``key`` makes each (span, level) or advisory exist at most once."""

    model_config = ConfigDict(frozen=False)
    __tablename__ = "alert"
    __table_args__ = (
        # A span's open alerts: resolved by the step that ends it, read by the alerts page.
        _partial("ix_alert_open", "span_id", where="resolved_on IS NULL"),
    )
    # The row's id is None until inserted; the read model's is always set.
    id: int | None = Field(default=None, primary_key=True)  # type: ignore[assignment]
    key: str = Field(unique=True)
    level: str  # four values: no index (the scan writes every alert through each index)
    case_id: int = Field(foreign_key="transfer_case.id", index=True)
    span_id: int | None = Field(default=None, foreign_key="span.id")
    owner_agency: str = Field(index=True)
    run_id: int | None = Field(default=None, index=True)


class AlertSubscriberRecord(SQLModel, table=True):
    """A named alert callback; it is sent every alert after ``since_alert_id``."""

    __tablename__ = "alert_subscriber"
    name: str = Field(primary_key=True)
    since_alert_id: int
    registered_at: dt.datetime = Field(sa_column=_ts())


class AlertDeliveryRecord(SQLModel, table=True):
    """An alert claimed for a subscriber by the scan of lease ``generation``; delivered once
    ``delivered_at`` is set. A claim left undelivered by an older generation is taken again."""

    __tablename__ = "alert_delivery"
    alert_id: int = Field(foreign_key="alert.id", primary_key=True)
    subscriber: str = Field(primary_key=True)
    generation: int = Field(default=0, sa_column=_generation())
    delivered_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(AwareDateTime(), nullable=True))


class LeaseRecord(SQLModel, table=True):
    """Who may run a scheduled job now; a crashed holder's lease simply expires.

    ``generation`` grows with every take: a run's writes check it (the fence), so a holder
    whose lease was taken over stops instead of writing on.
    """

    __tablename__ = "scheduler_lease"
    job: str = Field(primary_key=True)
    holder: str
    generation: int = Field(default=0, sa_column=_generation())
    expires_at: dt.datetime = Field(sa_column=_ts())


class RunRecord(SQLModel, table=True):
    __tablename__ = "scheduler_run"
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(index=True)
    as_of: dt.date
    holder: str
    started_at: dt.datetime = Field(sa_column=_ts())
    finished_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(AwareDateTime(), nullable=True))
    status: str
    detail: str = ""


class ApiTokenRecord(ApiToken, table=True):
    """An API token row (see :class:`~workflow.records.ApiToken`)."""

    __tablename__ = "api_token"


class AccessLogRecord(SQLModel, table=True):
    """An access-log entry (:class:`~workflow.records.AccessEntry`): the case it read in
    ``case_id``, or the cases of a read of many in ``case_ids`` as ``,1,2,3,`` (one row, found
    again by any of them)."""

    __tablename__ = "access_log"
    __table_args__ = (sa.Index("ix_access_log_at", "at"),
                      sa.Index("ix_access_log_agency", "agency", "id"))
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_column=_ts())
    actor_id: str
    role: str
    agency: str | None = None
    case_id: int | None = Field(default=None, index=True)
    case_ids: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    view: str
    via: str


class ProgressTryRecord(SQLModel, table=True):
    """The progress page's tries of one client: its budget of tries in the current window
    (``subject`` empty), and for each case number it tried, the failures since its last
    success and when it may try that number again (the back-off)."""

    __tablename__ = "progress_try"
    __table_args__ = (sa.Index("ix_progress_try_window", "window_start"),)
    client: str = Field(primary_key=True)
    subject: str = Field(primary_key=True)
    window_start: dt.datetime = Field(sa_column=_ts())
    tries: int
    failures: int
    next_try_at: dt.datetime = Field(sa_column=_ts())


class WebSessionRecord(SQLModel, table=True):
    """A dashboard sign-in: the cookie holds a random id (only its SHA-256 is here), never the
    token. It ends at sign-out, after ``expires_at``, when idle too long, and with the token
    it was opened with (``token_id``; None for an identity token)."""

    __tablename__ = "web_session"
    id_hash: str = Field(primary_key=True)
    token_id: int | None = Field(default=None, foreign_key="api_token.id", index=True)
    actor_id: str
    role: str
    agency: str | None = None
    province: str | None = None
    csrf: str
    created_at: dt.datetime = Field(sa_column=_ts())
    last_seen_at: dt.datetime = Field(sa_column=_ts())
    expires_at: dt.datetime = Field(sa_column=_ts())
    ended_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(AwareDateTime(), nullable=True))


class PaperRecord(Paper, table=True):
    """A paper as issued: :class:`~workflow.records.Paper` with its content and HTML, never
    updated (a correction is a new paper naming the one it replaces)."""

    model_config = ConfigDict(frozen=False)
    __tablename__ = "paper"
    __table_args__ = (sa.UniqueConstraint("agency", "kind", "year", "seq",
                                          name="uq_paper_number"),)
    id: int | None = Field(default=None, primary_key=True)  # type: ignore[assignment]
    case_id: int = Field(foreign_key="transfer_case.id", index=True)
    replaces: int | None = Field(default=None, foreign_key="paper.id", unique=True)
    content: dict[str, Any] = Field(sa_column=_json())
    html: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))


class PaperCounterRecord(SQLModel, table=True):
    """The last sequence number each agency gave each kind of paper in a year: taken in the
    step's own transaction, so a refused step takes no number and there is never a gap."""

    __tablename__ = "paper_counter"
    agency: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    last: int


class CaseContactRecord(SQLModel, table=True):
    """The applicant's contact details given at opening (optional), read only to notify
    them: kept apart from the case row, which every step reads."""

    __tablename__ = "case_contact"
    case_id: int = Field(primary_key=True, foreign_key="transfer_case.id")
    phone: str | None = None
    email: str | None = None


class OutboxEventRecord(OutboxEvent, table=True):
    """An event, written in the transaction of the step or scan that caused it."""

    model_config = ConfigDict(frozen=False)
    __tablename__ = "outbox_event"
    __table_args__ = (sa.Index("ix_outbox_event_fanned_out", "fanned_out", "id"),
                      sa.Index("ix_outbox_event_state", "state", "id"))
    id: int | None = Field(default=None, primary_key=True)  # type: ignore[assignment]
    event_id: str = Field(unique=True)
    case_id: int = Field(foreign_key="transfer_case.id", index=True)
    paper_id: int | None = Field(default=None, foreign_key="paper.id")


class OutboxMessageRecord(OutboxMessage, table=True):
    """One event to one recipient by one channel, with its delivery's progress; claimed
    under the outbox lease's generation before it is sent."""

    model_config = ConfigDict(frozen=False)
    __tablename__ = "outbox_message"
    __table_args__ = (sa.UniqueConstraint("event_id", "channel", "target",
                                          name="uq_outbox_message_recipient"),
                      sa.Index("ix_outbox_message_due", "state", "next_attempt_at"))
    id: int | None = Field(default=None, primary_key=True)  # type: ignore[assignment]
    event_id: str = Field(foreign_key="outbox_event.event_id", index=True)
    target: str
    claim_generation: int | None = None


class SubscriptionRecord(Subscription, table=True):
    model_config = ConfigDict(frozen=False)
    __tablename__ = "subscription"
    id: int | None = Field(default=None, primary_key=True)  # type: ignore[assignment]


def _table(record: type[SQLModel]) -> sa.Table:
    # SQLModel sets ``__table__`` on ``table=True`` models but does not declare it.
    table: sa.Table = record.__table__  # type: ignore[attr-defined]
    return table


TABLES = [_table(t) for t in (
    DefinitionRecord, CaseRecord, HistoryRecord, SpanRecord, SpanChangeRecord, AlertRecord,
    AlertSubscriberRecord, AlertDeliveryRecord, LeaseRecord, RunRecord, IdempotencyRecord,
    ApiTokenRecord, AccessLogRecord, ProgressTryRecord, WebSessionRecord, PaperRecord, PaperCounterRecord,
    CaseContactRecord, OutboxEventRecord, OutboxMessageRecord, SubscriptionRecord)]
cases_t, history_t, spans_t, definitions_t = (
    _table(CaseRecord), _table(HistoryRecord), _table(SpanRecord), _table(DefinitionRecord)
)
span_changes_t, alerts_t, subscribers_t, deliveries_t, leases_t, runs_t, idempotency_t = (
    _table(SpanChangeRecord), _table(AlertRecord), _table(AlertSubscriberRecord),
    _table(AlertDeliveryRecord), _table(LeaseRecord), _table(RunRecord),
    _table(IdempotencyRecord),
)
tokens_t, access_log_t, progress_tries_t, sessions_t = (
    _table(ApiTokenRecord), _table(AccessLogRecord), _table(ProgressTryRecord),
    _table(WebSessionRecord))
papers_t, paper_counters_t = _table(PaperRecord), _table(PaperCounterRecord)
contacts_t, events_t, messages_t, subscriptions_t = (
    _table(CaseContactRecord), _table(OutboxEventRecord), _table(OutboxMessageRecord),
    _table(SubscriptionRecord))
