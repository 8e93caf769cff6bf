"""The typed records the store, the services and the interfaces share, and the clock.

- **Read models** people see (:class:`HistoryEntry`, :class:`Span`, :class:`Alert`,
  :class:`AccessEntry`, :class:`ApiToken`) are SQLModel classes: the tables of
  :mod:`workflow.store.tables` inherit their fields, the API returns them as they are.
- **The case a step decides on** (:class:`StepCase`, :class:`StoredCase`) and **the writes of
  a step** (:class:`NewCase`, :class:`NewHistoryEntry`, :class:`NewSpan`,
  :class:`CaseUpdate`, ...) are plain dataclasses, built in a microsecond on the engine's hot
  path; a write record's fields are its table's columns (``vars(record)`` is the row).
- **Rows read in bulk** (a scan's spans, an inbox page, a report's lines) are named tuples,
  built from the driver's row at the cost of a tuple.

The free-form JSON payloads (a step's ``inputs``, an idempotent call's result) are
:data:`JsonObject`; everything else is typed. ``now()`` stamps every record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from .core.deadlines import SpanDue
from .core.views import _plain

UTC = dt.UTC
#: A free-form JSON object: a step's inputs, the result of an idempotent call.
JsonObject = dict[str, Any]


def now() -> dt.datetime:
    """The current time, timezone-aware (UTC): the stamp of every record."""
    return dt.datetime.now(UTC)


def event_ids(count: int) -> list[str]:
    """``count`` random UUIDs (version 4, RFC 4122 variant) as 32 hex digits, as
    ``uuid.uuid4().hex`` gives them, from one read of the system's randomness (a bulk
    opening's events: ``uuid4`` reads it once per id, a system call each)."""
    raw, number = os.urandom(16 * count), int.from_bytes
    return ["%032x" % (number(raw[i:i + 16]) & _UUID4_KEEP | _UUID4_SET)
            for i in range(0, 16 * count, 16)]


#: The version (4) and variant (RFC 4122) bits of a random UUID: what is kept of the random
#: 128 bits, and what is set (``uuid.UUID(..., version=4)`` does the same).
_UUID4_KEEP = ~(0xC000 << 48) & ~(0xF000 << 64) & (1 << 128) - 1
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def to_fen(amount: Decimal) -> int:
    """An amount in yuan as the whole fen it is stored in (``12345.67`` -> ``1234567``)."""
    return int(amount.scaleb(2))


# --- column types the read models declare --------------------------------------------------
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


def _json() -> sa.Column[Any]:
    return sa.Column(sa.JSON(), nullable=False)


# --- read models -----------------------------------------------------------------------------
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


class Alert(SQLModel):
    """One alert, raised once for a span and level (or once per case for an advisory) and
    open until resolved (``resolved_on``): when its span ends, or when its span's due date
    moved (then raised again if the span is still at that level)."""

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
    #: The business date the alert was resolved (None: open): the day its span ended, or the
    #: as-of date of the scan that found its span's due date moved.
    resolved_on: dt.date | None = None
    #: Why it was resolved: ``span_ended`` or ``due_date_moved``.
    resolution: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.model_dump().items()}


class AccessEntry(SQLModel):
    """Who read whose case, when, and which view of it (personal information law). One
    request is one entry: ``case_id`` the case it read, or None when it read many at once (a
    list, a report: ``cases`` names them all) or none (a refused read of something that is
    not a case, such as ``outbox (denied)``)."""

    model_config = ConfigDict(frozen=True)  # type: ignore[assignment]
    id: int | None = None
    at: dt.datetime
    actor_id: str
    role: str
    agency: str | None = None
    case_id: int | None = None
    cases: list[int] = Field(default_factory=list)
    view: str
    via: str


class ApiToken(SQLModel):
    """An API token: only its SHA-256 is stored; the actor (id, role, agency) is the token's,
    never the caller's word. ``province``: a supervisor granted a whole province (2 digits).
    ``id`` is None until the token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    actor_id: str
    role: str
    agency: str | None = None
    province: str | None = None
    # Role self: the person's own ID number (what makes them the applicant of their case).
    person_id: str | None = None
    label: str = ""
    #: A clerk's or supervisor's department(s), comma-separated (``pension``, ``medical``, or
    #: ``pension,medical`` for a supervisor granted both). None: made before departments
    #: existed; it works as both until the agency reissues it.
    departments: str | None = None
    created_at: dt.datetime = Field(sa_column=_ts())
    revoked_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(AwareDateTime(), nullable=True))


class Paper(SQLModel):
    """A paper a step issued (a letter, a form, a notice), as kept: its printed text is
    stored with it, unchanged (``sha256`` of its HTML). ``replaces``: the paper it corrects."""

    model_config = ConfigDict(frozen=True)  # type: ignore[assignment]

    id: int
    case_id: int
    kind: str
    agency: str  # the issuing agency
    year: int
    seq: int  # of the agency, kind and year, from 1 without gaps
    number: str
    title: str
    issued_on: dt.date
    issued_at: dt.datetime = Field(sa_column=_ts())
    actor_id: str
    sha256: str
    replaces: int | None = None
    reason: str | None = None  # of a correction

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.model_dump().items()}


class OutboxEvent(SQLModel):
    """Something people are told of, written in the transaction of the step (or of the
    scan's alerts) that caused it. ``event_id``: its stable id (the ``Idempotency-Key`` of
    its webhooks); ``id``: its number in the outbox. ``data``: what the event says (a
    refusal's reason, the documents requested, the cumulative months, an alert's level).
    ``state``: ``pending`` until each of its messages is delivered, ``dead`` if one was
    parked dead; ``messages``: how many recipients it was fanned out to."""

    model_config = ConfigDict(frozen=True)  # type: ignore[assignment]

    id: int
    event_id: str
    name: str
    case_id: int
    business_date: dt.date
    occurred_at: dt.datetime = Field(sa_column=_ts())
    paper_id: int | None = None
    data: JsonObject = Field(default_factory=dict, sa_column=_json())
    fanned_out: bool = False
    state: str = "pending"
    messages: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.model_dump().items()}

    def payload(self) -> JsonObject:
        """The event as a webhook posts it (JSON-safe)."""
        return {"id": self.event_id, "name": self.name, "case_id": self.case_id,
                "business_date": self.business_date.isoformat(),
                "occurred_at": self.occurred_at.isoformat(), "paper_id": self.paper_id,
                "data": self.data}


class OutboxMessage(SQLModel):
    """One event to one recipient by one channel: ``pending`` (retried with backoff until
    ``next_attempt_at``), ``delivered`` or ``dead`` with its ``last_error``. ``target`` is the
    address (masked in every view: see :meth:`to_dict`); ``subscription_id`` None: the
    applicant, through the contact details given at opening."""

    model_config = ConfigDict(frozen=True)  # type: ignore[assignment]

    id: int
    event_id: str
    event_name: str
    case_id: int
    channel: str
    target: str = Field(repr=False)
    target_masked: str
    subscription_id: int | None = None
    state: str = "pending"
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_column=_ts())
    last_error: str | None = None
    provider_id: str | None = None
    delivered_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(AwareDateTime(), nullable=True))
    created_at: dt.datetime = Field(sa_column=_ts())

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.model_dump(exclude={"target"}).items()}


class Subscription(SQLModel):
    """An agency's (or a province's) subscription to events by webhook or email; ``events``
    empty: every event. The webhook's ``secret`` signs its requests and is shown only when
    the subscription is made."""

    model_config = ConfigDict(frozen=True)  # type: ignore[assignment]

    id: int
    agency: str | None = None
    province: str | None = None
    events: list[str] = Field(default_factory=list, sa_column=_json())
    channel: str
    target: str
    secret: str | None = Field(default=None, repr=False)
    created_by: str
    created_at: dt.datetime = Field(sa_column=_ts())

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.model_dump(exclude={"secret"}).items()}


@dataclasses.dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to write to the outbox; its fields are its table's columns."""

    event_id: str
    name: str
    case_id: int
    business_date: dt.date
    occurred_at: dt.datetime
    paper_id: int | None
    data: JsonObject


@dataclasses.dataclass(frozen=True, slots=True)
class NewMessage:
    """A message an event is fanned out to; its fields are its table's columns."""

    event_id: str
    event_name: str
    case_id: int
    channel: str
    target: str
    target_masked: str
    subscription_id: int | None
    next_attempt_at: dt.datetime
    created_at: dt.datetime


class EventToFanOut(NamedTuple):
    """An event not yet fanned out, with what choosing its recipients needs."""

    event: OutboxEvent
    insurance: str
    origin: str
    destination: str
    definition_name: str
    definition_version: int
    contact_phone: str | None
    contact_email: str | None


class MessageToSend(NamedTuple):
    """A pending message due now, with its event (what it says) and, for a webhook, the
    subscription's secret."""

    message: OutboxMessage
    event: OutboxEvent
    secret: str | None
    insurance: str
    origin: str
    destination: str
    definition_name: str
    definition_version: int
    public_number: str  # the case number the applicant knows (业务流水号)


class PrintedPaper(NamedTuple):
    """A kept paper with what it printed: its content and its HTML as issued."""

    paper: Paper
    content: JsonObject
    html: str


@dataclasses.dataclass(frozen=True, slots=True)
class NewPaper:
    """A paper to keep; its fields are its table's columns."""

    case_id: int
    kind: str
    agency: str
    year: int
    seq: int
    number: str
    title: str
    issued_on: dt.date
    issued_at: dt.datetime
    actor_id: str
    sha256: str
    content: JsonObject
    html: str
    replaces: int | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class CaseReads:
    """One reader's read of some cases (one access-log entry, naming them all): who, when,
    which view (``case``, ``history``, ``list``, ...) and through what (``api``,
    ``dashboard``, ``progress``). No case: a refused read of something else."""

    at: dt.datetime
    actor_id: str
    role: str
    agency: str | None
    case_ids: tuple[int, ...]
    view: str
    via: str


@dataclasses.dataclass(frozen=True, slots=True)
class WebSession:
    """A dashboard sign-in as stored: the SHA-256 of the cookie's random id, who signed in
    (and with which token, None for an identity token), the form token (``csrf``) its forms
    carry, and when it began, was last used and expires."""

    id_hash: str
    token_id: int | None
    actor_id: str
    role: str
    agency: str | None
    province: str | None
    csrf: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None = None


# --- the case a step decides on --------------------------------------------------------------
@dataclasses.dataclass(slots=True)
class StepCase:
    """A stored case as a step decides on it: every column but its timestamps (the step
    rewrites them). Read-only by use: a step's changes are a :class:`CaseUpdate`."""

    id: int
    definition_name: str
    definition_version: int
    insurance: str
    state: str
    version: int
    person_id: str
    person_name: str
    origin: str
    destination: str
    scope: str
    applicant: str
    applicant_id: str | None
    channel: str
    origin_scheme: str | None
    destination_scheme: str | None
    documents: list[str]
    requested_documents: list[str]
    opened_on: dt.date
    last_event_on: dt.date
    amount_fen: int | None  # the amount transferred, in fen (``Case.amount`` is in yuan)
    contribution_months: int | None
    public_number: str  # the number the person and the papers know (业务流水号)
    receiving_employer: bool | None  # recorded at opening (None: opened before it was)
    agent_name: str | None  # an entrusted agent's name and ID number (agent applications)
    agent_id_number: str | None


@dataclasses.dataclass(slots=True)
class StoredCase(StepCase):
    """A stored case with the time it last changed: what :class:`~workflow.core.views.Case`
    is built from."""

    updated_at: dt.datetime


@dataclasses.dataclass(slots=True)
class CaseUpdate:
    """What a step changes in its case; a field left None is unchanged. ``version`` is the
    case's new version, ``amount`` in yuan (stored in fen)."""

    version: int
    last_event_on: dt.date
    updated_at: dt.datetime
    state: str | None = None
    documents: list[str] | None = None
    requested_documents: list[str] | None = None
    opened_on: dt.date | None = None
    amount: Decimal | None = None
    contribution_months: int | None = None
    #: A migration's new definition version (``sstransfer cases migrate``).
    definition_version: int | None = None
    running: bool | None = None  # False once the case reaches a final state

    def applied_to(self, case: StepCase) -> StoredCase:
        """The case as it is once this change is written."""
        return StoredCase(
            case.id, case.definition_name,
            case.definition_version if self.definition_version is None
            else self.definition_version, case.insurance,
            case.state if self.state is None else self.state, self.version, case.person_id,
            case.person_name, case.origin, case.destination, case.scope, case.applicant,
            case.applicant_id, case.channel, case.origin_scheme, case.destination_scheme,
            case.documents if self.documents is None else self.documents,
            case.requested_documents if self.requested_documents is None
            else self.requested_documents,
            case.opened_on if self.opened_on is None else self.opened_on, self.last_event_on,
            case.amount_fen if self.amount is None else to_fen(self.amount),
            case.contribution_months if self.contribution_months is None
            else self.contribution_months, case.public_number, case.receiving_employer,
            case.agent_name, case.agent_id_number, self.updated_at)


# --- the writes of a step (each field a column: ``vars(record)`` is the row) ------------------
@dataclasses.dataclass
class NewCase:
    """A case to open, in its definition's initial state (no amount, nothing requested)."""

    definition_name: str
    definition_version: int
    insurance: str
    state: str
    person_id: str
    person_name: str
    origin: str
    destination: str
    scope: str
    applicant: str
    applicant_id: str | None
    channel: str
    origin_scheme: str | None
    destination_scheme: str | None
    documents: list[str]
    opened_on: dt.date
    last_event_on: dt.date
    created_at: dt.datetime
    updated_at: dt.datetime
    public_number: str
    version: int = 1
    requested_documents: list[str] = dataclasses.field(default_factory=list)
    #: The case it needed to be opened (``requires_case``), if any.
    linked_case_id: int | None = None
    running: bool = True
    receiving_employer: bool | None = None
    agent_name: str | None = None
    agent_id_number: str | None = None

    def stored(self, case_id: int) -> StoredCase:
        """The case as stored under ``case_id``."""
        return StoredCase(
            case_id, self.definition_name, self.definition_version, self.insurance, self.state,
            self.version, self.person_id, self.person_name, self.origin, self.destination,
            self.scope, self.applicant, self.applicant_id, self.channel, self.origin_scheme,
            self.destination_scheme, self.documents, self.requested_documents, self.opened_on,
            self.last_event_on, None, None, self.public_number, self.receiving_employer,
            self.agent_name, self.agent_id_number, self.updated_at)


@dataclasses.dataclass
class NewHistoryEntry:
    """A step to record in its case's history (``seq`` 1 is the opening)."""

    case_id: int
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    actor_id: str
    actor_role: str
    actor_agency: str | None
    business_date: dt.date
    recorded_at: dt.datetime
    documents: list[str]
    comment: str | None
    inputs: JsonObject


@dataclasses.dataclass
class NewSpan:
    """A span a step starts (its case is given with it), with the due dates computed for it."""

    name: str
    owner: str
    owner_agency: str
    limit_working_days: int | None
    limit_months: int | None
    started_on: dt.date
    due_on: dt.date
    provisional: bool
    committed_limit_working_days: int | None
    committed_due_on: dt.date | None
    due_note: str | None
    calendar_fingerprint: str

    @classmethod
    def of(cls, name: str, owner: str, owner_agency: str, limit_working_days: int | None,
            limit_months: int | None, started_on: dt.date, due: SpanDue) -> NewSpan:
        """The span started on ``started_on`` with the due dates ``due``."""
        return cls(name, owner, owner_agency, limit_working_days, limit_months, started_on,
                   due.due_on, due.provisional, due.committed_limit_working_days,
                   due.committed_due_on, due.due_note, due.calendar_fingerprint)


@dataclasses.dataclass(frozen=True, slots=True)
class SpanUpdate:
    """A business date correction of one span: it starts on ``started_on`` with the due
    dates ``due``, or it ends on ``ended_on`` (a field left None is unchanged)."""

    started_on: dt.date | None = None
    due: SpanDue | None = None
    ended_on: dt.date | None = None
    #: A migration's new limits: (working days, months), one of them None.
    limits: tuple[int | None, int | None] | None = None


class CaseLink(NamedTuple):
    """A case linked to another (a definition's ``requires_case``): ``relation`` is
    ``required`` for the case it needed to be opened, ``opened_after`` for one opened because
    of it."""

    case_id: int
    definition: str
    version: int
    state: str
    relation: str

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class StoredStep(NamedTuple):
    """A history row a business date correction reads."""

    id: int
    seq: int
    trigger: str
    to_state: str
    business_date: dt.date


class StoredSpan(NamedTuple):
    """A span of a case as a business date correction reads it."""

    id: int
    name: str
    started_on: dt.date
    ended_on: dt.date | None


class IdempotentCall(NamedTuple):
    """The first call made with an idempotency key: what identified it, what it returned."""

    request_hash: str
    result: JsonObject


# --- alerts, the scan, due-date recomputation ------------------------------------------------
class SpanToJudge(NamedTuple):
    """A running span the overdue scan classifies."""

    id: int
    case_id: int
    name: str
    owner: str
    owner_agency: str
    due_on: dt.date
    provisional: bool
    committed_due_on: dt.date | None


class Advisory(NamedTuple):
    """A pension case continued while the same person's medical insurance has not moved to
    the same destination."""

    case_id: int
    destination: str


@dataclasses.dataclass
class NewAlert:
    """An alert to raise: of a span at a level, or an advisory of a case (``span_id`` None).
    The store makes it exist at most once (a key of the span and level, or of the case)."""

    level: str
    case_id: int
    span_id: int | None
    subject: str
    owner: str
    owner_agency: str
    due_on: dt.date | None
    working_days_late: int | None
    provisional: bool
    as_of: dt.date
    raised_at: dt.datetime
    run_id: int | None


class RaisedAlert(NamedTuple):
    """An alert a scan inserted (not one that existed already)."""

    id: int
    level: str
    case_id: int
    subject: str
    owner: str
    owner_agency: str
    due_on: dt.date | None
    working_days_late: int | None


class RunningSpan(NamedTuple):
    """A running span with what recomputing its due dates needs."""

    id: int
    case_id: int
    name: str
    owner_agency: str
    started_on: dt.date
    due_on: dt.date
    provisional: bool
    committed_limit_working_days: int | None
    committed_due_on: dt.date | None
    calendar_fingerprint: str | None
    definition_name: str
    definition_version: int


@dataclasses.dataclass
class SpanChange:
    """A due date recomputed when its year's official schedule became known."""

    span_id: int
    old_due_on: dt.date
    new_due_on: dt.date
    old_provisional: bool
    new_provisional: bool
    old_committed_due_on: dt.date | None
    new_committed_due_on: dt.date | None
    changed_at: dt.datetime
    reason: str


class InboxSpan(NamedTuple):
    """A running span in an agency's inbox, with its case."""

    span_id: int
    name: str
    owner: str
    owner_agency: str
    started_on: dt.date
    due_on: dt.date
    committed_due_on: dt.date | None
    provisional: bool
    case_id: int
    definition_name: str
    definition_version: int
    insurance: str
    state: str
    person_name: str
    origin: str
    destination: str


class SpanAlert(NamedTuple):
    """A span's alerts as one line: its highest level (of its open alerts; of all of them
    once none is open), the day it was first raised, and the day the last was resolved (None
    while one is open). An advisory, which has no span, is a line of its own."""

    span_id: int | None
    case_id: int
    subject: str  # the span's name, or the advisory
    owner: str
    owner_agency: str
    level: str
    raised_on: dt.date
    open: bool
    resolved_on: dt.date | None
    due_on: dt.date | None  # the span's statutory due date
    committed_due_on: dt.date | None
    ended_on: dt.date | None
    definition_name: str
    definition_version: int


# --- reports ---------------------------------------------------------------------------------
class Gauges(NamedTuple):
    """What the service's metrics show of the database now: cases by (insurance, state),
    open alerts (of spans still running) by level, outbox events by state."""

    cases: dict[tuple[str, str], int]
    open_alerts: dict[str, int]
    outbox: dict[str, int]


class OverdueRow(NamedTuple):
    """An overdue span with its case's person, as the report's detail lists it."""

    owner_agency: str
    case_id: int
    insurance: str
    person_name: str
    person_id: str
    name: str
    owner: str
    started_on: dt.date
    committed_due_on: dt.date | None
    due_on: dt.date
    provisional: bool
    definition_name: str
    definition_version: int


class ClosedSpans(NamedTuple):
    """An owner agency's spans closed in a period: how many, how many on or before the date
    they are judged by, how many within the statutory limit."""

    agency: str
    closed: int
    on_time: int
    within_statute: int


# --- scheduled jobs --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Lease:
    """A take of a job's lease: ``generation`` fences every write of the run made under it."""

    job: str
    holder: str
    generation: int


class AbandonedRun(NamedTuple):
    """A run left ``running`` by a holder whose lease ran out."""

    id: int
    holder: str


class Run(NamedTuple):
    """The record of one run of a scheduled job."""

    id: int
    job: str
    as_of: dt.date
    holder: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str  # running, done, failed, abandoned
    detail: str


__all__ = [
    "UTC",
    "AbandonedRun",
    "AccessEntry",
    "Advisory",
    "Alert",
    "ApiToken",
    "AwareDateTime",
    "CaseReads",
    "CaseUpdate",
    "ClosedSpans",
    "Gauges",
    "HistoryEntry",
    "IdempotentCall",
    "InboxSpan",
    "JsonObject",
    "Lease",
    "NewAlert",
    "NewCase",
    "NewHistoryEntry",
    "NewSpan",
    "OverdueRow",
    "RaisedAlert",
    "Run",
    "RunningSpan",
    "Span",
    "SpanAlert",
    "SpanChange",
    "SpanToJudge",
    "SpanUpdate",
    "StepCase",
    "StoredCase",
    "StoredSpan",
    "StoredStep",
    "WebSession",
    "event_ids",
    "now",
    "to_fen",
]
