"""The tables, declared as SQLModel records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from ..core.views import _plain

UTC = dt.UTC


class AwareDateTime(sa.TypeDecorator[dt.datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("timestamps must be timezone-aware")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _ts() -> sa.Column[Any]:
    return sa.Column(AwareDateTime(), nullable=False)


def _generation() -> sa.Column[Any]:
    return sa.Column(sa.Integer(), nullable=False, server_default="0")


def _json() -> sa.Column[Any]:
    return sa.Column(sa.JSON(), nullable=False)


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
        sa.Index("ix_case_state", "state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    definition_name: str
    definition_version: int
    insurance: str
    state: str
    version: int
    person_id: str = Field(index=True)
    person_name: str
    origin: str = Field(index=True)
    destination: str = Field(index=True)
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
    created_at: dt.datetime = Field(sa_column=_ts())
    updated_at: dt.datetime = Field(sa_column=_ts())


class HistoryEntry(SQLModel):
    """One step of a case as stored (read-only): what happened, who did it, on which day."""

    # SQLModel types model_config as its own SQLModelConfig; a plain ConfigDict is what it reads.
    model_config = ConfigDict(frozen=True)  # type: ignore[assignment]

    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    actor_agency: str | None
    business_date: dt.date
    recorded_at: dt.datetime = Field(sa_column=_ts())
    documents: tuple[str, ...] = Field(sa_column=_json())
    comment: str | None = None
    inputs: dict[str, Any] = Field(sa_column=_json())

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.model_dump().items()}


class HistoryRecord(HistoryEntry, table=True):
    """A history row: the step of :class:`HistoryEntry` with its case and row id."""

    model_config = ConfigDict(frozen=False)
    __tablename__ = "case_history"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_history_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="transfer_case.id")


class Span(SQLModel):
    """One agency time limit of a case: running while ``ended_on`` is None.

    ``due_on`` is the statutory due date; ``committed_due_on`` the one of the owner agency's
    own shorter limit (承诺时限), where it has one; ``due_note`` says how a rule moved a date.
    """

    # SQLModel types model_config as its own SQLModelConfig; a plain ConfigDict is what it reads.
    model_config = ConfigDict(frozen=True)  # type: ignore[assignment]

    name: str
    owner: str
    owner_agency: str
    limit_working_days: int | None = None
    limit_months: int | None = None
    started_on: dt.date
    due_on: dt.date  # the statutory due date
    ended_on: dt.date | None = None
    provisional: bool
    #: The agency's own shorter limit (承诺时限), where one applies, and its due date.
    committed_limit_working_days: int | None = None
    committed_due_on: dt.date | None = None
    #: How the due date was found, when a rule moved it (e.g. Civil Code art. 203).
    due_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.model_dump().items()}


class SpanRecord(Span, table=True):
    """A span row: :class:`Span` with its case, row id and calendar fingerprint."""

    model_config = ConfigDict(frozen=False)
    __tablename__ = "span"
    __table_args__ = (
        # The overdue scan reads running spans by due date only.
        sa.Index("ix_span_running_due", "due_on",
                 sqlite_where=sa.text("ended_on IS NULL"),
                 postgresql_where=sa.text("ended_on IS NULL")),
        # On-time rates of spans closed in a period.
        sa.Index("ix_span_ended_on", "ended_on"),
        # The scan judges a span with a committed limit by its committed due date.
        sa.Index("ix_span_running_committed", "committed_due_on",
                 sqlite_where=sa.text("ended_on IS NULL"),
                 postgresql_where=sa.text("ended_on IS NULL")),
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


class Alert(SQLModel):
    """One alert, raised once for a span and level (or once per case for an advisory)."""

    # SQLModel types model_config as its own SQLModelConfig; a plain ConfigDict is what it reads.
    model_config = ConfigDict(frozen=True)  # type: ignore[assignment]

    id: int
    level: str
    case_id: int
    span_id: int | None = None
    subject: str  # the span's name, or the advisory
    owner: str
    owner_agency: str
    due_on: dt.date | None = None
    working_days_late: int | None = None  # negative: working days left
    provisional: bool = False
    as_of: dt.date
    raised_at: dt.datetime = Field(sa_column=_ts())

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.model_dump().items()}


class AlertRecord(Alert, table=True):
    """An alert row; ``key`` makes each (span, level) or advisory exist at most once."""

    model_config = ConfigDict(frozen=False)
    __tablename__ = "alert"
    # The row's id is None until inserted; the read model's is always set.
    id: int | None = Field(default=None, primary_key=True)  # type: ignore[assignment]
    key: str = Field(unique=True)
    level: str = Field(index=True)
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


class ApiTokenRecord(SQLModel, table=True):
    """An API token: only its SHA-256 is stored; the actor (id, role, agency) is the token's,
    never the caller's word. ``province``: a supervisor granted a whole province (2 digits)."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    actor_id: str
    role: str
    agency: str | None = None
    province: str | None = None
    # Role self: the person's own ID number (what makes them the applicant of their case).
    person_id: str | None = None
    label: str = ""
    created_at: dt.datetime = Field(sa_column=_ts())
    revoked_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(AwareDateTime(), nullable=True))


class AccessEntry(SQLModel):
    """Who read whose case, when, and which view of it (personal information law)."""

    model_config = ConfigDict(frozen=True)  # type: ignore[assignment]
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_column=_ts())
    actor_id: str
    role: str
    agency: str | None = None
    case_id: int = Field(index=True)
    view: str
    via: str


class AccessLogRecord(AccessEntry, table=True):
    model_config = ConfigDict(frozen=False)
    __tablename__ = "access_log"
    __table_args__ = (sa.Index("ix_access_log_at", "at"),)


class ProgressLookupRecord(SQLModel, table=True):
    """One try on the person's progress page: which client, which case number, whether the
    ID number matched. Tries are counted per client address and per case to rate-limit."""

    __tablename__ = "progress_lookup"
    __table_args__ = (sa.Index("ix_progress_lookup_client_at", "client", "at"),
                      sa.Index("ix_progress_lookup_case_at", "case_id", "at"))
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_column=_ts())
    client: str
    case_id: int
    matched: bool


def _table(record: type[SQLModel]) -> sa.Table:
    # SQLModel sets ``__table__`` on ``table=True`` models but does not declare it.
    table: sa.Table = record.__table__  # type: ignore[attr-defined]
    return table


TABLES = [_table(t) for t in (
    DefinitionRecord, CaseRecord, HistoryRecord, SpanRecord, SpanChangeRecord, AlertRecord,
    AlertSubscriberRecord, AlertDeliveryRecord, LeaseRecord, RunRecord, IdempotencyRecord,
    ApiTokenRecord, AccessLogRecord, ProgressLookupRecord)]
cases_t, history_t, spans_t, definitions_t = (
    _table(CaseRecord), _table(HistoryRecord), _table(SpanRecord), _table(DefinitionRecord)
)
span_changes_t, alerts_t, subscribers_t, deliveries_t, leases_t, runs_t, idempotency_t = (
    _table(SpanChangeRecord), _table(AlertRecord), _table(AlertSubscriberRecord),
    _table(AlertDeliveryRecord), _table(LeaseRecord), _table(RunRecord),
    _table(IdempotencyRecord),
)
tokens_t, access_log_t, progress_lookups_t = (
    _table(ApiTokenRecord), _table(AccessLogRecord), _table(ProgressLookupRecord))
