"""The JSON API (``/api/v1``): everything the Python API does, as the authenticated actor.

The actor of every step is the credential's (id, role, agency), never a field of the body.
Every read of a case (the case, its history, its spans, each case of a list, each case of a
downloaded report) is written to the access log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
import shutil
import tempfile
import typing
from collections.abc import Sequence
from pathlib import Path
from types import GenericAlias
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Header,
    Query,
    Request,
    Response,
    Security,
    UploadFile,
)
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from ..core.alerts import ALERT_LEVELS
from ..core.calendar import WorkingDays
from ..core.definitions import Definition
from ..core.inputs import check_agency_format, parse_date, shown, today
from ..core.notify import EVENT_NAMES
from ..core.queries import CASE_SORTS, AlertQuery, CaseQuery
from ..core.views import Case
from ..desk import Desk
from ..engine import Engine
from ..errors import DefinitionNotFound, InvalidInput
from ..importing import parse_applications
from ..records import (
    AccessEntry,
    Alert,
    CaseLink,
    HistoryEntry,
    OutboxEvent,
    OutboxMessage,
    Span,
)
from ..render import check_language, write_report
from .auth import API_TOKEN, DeskDep, EngineDep, PrincipalDep, bearer, get_engine, principal_of
from .problems import (
    NOT_FOUND,
    RESPONSES,
    RUNNING,
    ProblemRoute,
    check_known_query,
    fast_path,
)

#: Where the JSON API lives (its version in the path).
API_PREFIX = "/api/v1"

#: The largest CSV file ``POST /cases/import`` reads.
REPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


# --- the bodies -----------------------------------------------------------------------------
#: The fields of a case the API never shows (the full ID number: only the masked one).
HIDDEN_CASE_FIELDS = frozenset({"person_id"})


def _case_fields() -> dict[str, Any]:
    hints = typing.get_type_hints(Case)
    return {f.name: (hints[f.name], Field(description=_CASE_DESCRIPTIONS.get(f.name)))
            for f in dataclasses.fields(Case) if f.name not in HIDDEN_CASE_FIELDS}


_CASE_DESCRIPTIONS = {"version": "grows with every step; the ETag carries it"}

#: A transfer case as the API shows it: the fields of :class:`~workflow.core.views.Case`
#: without the ID number (only its masked form).
class CaseLinkOut(BaseModel):
    """A linked case: ``required`` is the case this one needed to be opened (a card
    application's continued pension transfer), ``opened_after`` one opened because of it."""

    case_id: int
    definition: str
    version: int
    state: str
    relation: str


CaseOut: type[BaseModel] = create_model(
    "CaseOut", __doc__="A transfer case as the API shows it: the ID number only masked.",
    **_case_fields(),
    linked_cases=(list[CaseLinkOut] | None, Field(
        default=None, description="the linked cases the caller may read (one case's view "
                                  "only; None in lists)")))


def case_out(case: Case, links: Sequence[CaseLink] | None = None) -> BaseModel:
    """The API's view of a case (``links``: its linked cases, in one case's view)."""
    return CaseOut(**{name: getattr(case, name) for name in CaseOut.model_fields
                      if name != "linked_cases"},
                   linked_cases=None if links is None else [
                       CaseLinkOut(**link.to_dict()) for link in links])


#: One page of a case list; ``next_offset`` is None on the last page.
CasePage: type[BaseModel] = create_model(
    "CasePage", __doc__="One page of a case list: ``total`` cases match in all; "
                        "``next_offset`` is None on the last page.",
    items=(typing.cast(Any, GenericAlias(list, (CaseOut,))), ...), total=(int, ...),
    limit=(int, ...), offset=(int, ...), next_offset=(int | None, ...))


#: A business date as the API reads it: ``YYYY-MM-DD`` (full-width digits and surrounding
#: spaces are read too), the schema's ``format: date``; anything else is refused with 422.
DateText = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
#: A moment with its UTC offset, ``2026-11-24T08:00:00+08:00`` (RFC 3339, ``format: date-time``).
DateTimeText = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]

#: The longest list a request may give (documents, documents needed): more than the catalogue
#: has kinds, far fewer than would cost memory.
MAX_LIST = 64


class _Body(BaseModel):
    """A request body: a field it does not know (such as an actor) is refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


class OpenRequest(_Body):
    """An application. The actor is the credential's: an applicant's token opens their own
    case (``applicant`` defaults to the token's role), a clerk's one at their counter."""

    definition: str = Field(examples=["pension_transfer"])
    person_id: str = Field(description="the person's ID number (never shown back)")
    person_name: str
    origin: str | None = Field(default=None, examples=["310000"],
                               description="none for a service of one agency (card_application)")
    destination: str = Field(examples=["440300"])
    applicant: str | None = Field(default=None, description="self, employer or agent")
    channel: str = "counter"
    documents: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    on: DateText | None = Field(default=None,
                                description="business date YYYY-MM-DD (default today)")
    origin_scheme: str | None = None
    destination_scheme: str | None = None
    contact_phone: str | None = Field(
        default=None, description="the applicant's mobile number, to be told of each step "
                                  "(never shown back unmasked)")
    contact_email: str | None = Field(
        default=None, description="the applicant's email address, to be told of each step")
    receiving_employer: bool | None = Field(
        default=None, description="a unit accepts the person at the destination (default: "
                                  "true for an employer's application, else false)")
    agent_name: str | None = Field(default=None,
                                   description="an entrusted agent's name (applicant agent)")
    agent_id_number: str | None = Field(
        default=None, description="an entrusted agent's ID number (never shown back unmasked)")


class ImportResult(BaseModel):
    case_ids: list[int]
    count: int


class FireRequest(_Body):
    trigger: str
    on: DateText | None = Field(default=None,
                                description="business date YYYY-MM-DD (default today)")
    documents: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    explanation: str | None = None
    documents_needed: list[str] | None = Field(default=None, max_length=MAX_LIST)
    amount: str | int | None = Field(
        default=None, description='yuan, an exact decimal as text ("1234.50") or a whole number')
    contribution_months: int | None = None
    information_form: dict[str, Any] | None = Field(
        default=None, description="move_funds (pension_transfer 2, medical_transfer 3): the "
        "information form's data; pension {periods: [{from, to, monthly_base}], "
        "personal_account}, medical {personal_account, months_actual, months_deemed}")
    months_at_destination: int | None = Field(
        default=None, description="continue_relationship: months the person already has at "
        "the destination")


class PaperOut(BaseModel):
    """A paper issued on a case, as the list of its papers gives it."""

    id: int
    kind: str
    number: str
    issued_on: dt.date
    sha256: str
    title: str
    agency: str
    replaces: int | None = None


class PaperPage(BaseModel):
    items: list[PaperOut]


class AttachRequest(_Body):
    documents: list[str] = Field(max_length=MAX_LIST)
    on: DateText | None = Field(default=None,
                                description="business date YYYY-MM-DD (default today)")


class CorrectionRequest(_Body):
    new_date: DateText = Field(description="YYYY-MM-DD")
    reason: str


class TitleOut(BaseModel):
    zh: str
    en: str


class TransitionOut(BaseModel):
    trigger: str
    source: list[str]
    dest: str
    roles: list[str]
    guards: list[str]
    requires: list[str]
    inputs: list[str]


class SpanSpecOut(BaseModel):
    name: str
    owner: str
    starts_on: list[str]
    ends_on: list[str]
    limit_working_days: int | None
    limit_months: int | None


class DefinitionSummary(BaseModel):
    name: str
    version: int
    insurance: str
    title: str
    content_hash: str


class DefinitionOut(DefinitionSummary):
    initial: str
    states: list[str]
    final_states: list[str]
    triggers: list[str]
    transitions: list[TransitionOut]
    spans: list[SpanSpecOut]
    application_at: list[str]
    schemes: list[str]
    titles: dict[str, dict[str, TitleOut]] = Field(
        description="states, triggers and spans: name -> {zh, en} where the file titles them")


class WorkingDayOut(BaseModel):
    date: dt.date
    agency: str | None
    working_day: bool
    provisional: bool = Field(description="the year's official schedule is not published yet")


class DueDateOut(BaseModel):
    received: dt.date
    agency: str | None
    working_days: int
    due_on: dt.date
    provisional: bool
    note: str | None


# --- helpers --------------------------------------------------------------------------------
def _etag(case: Case) -> str:
    return f'"{case.id}-{case.version}"'


def _version_of(if_match: str | None) -> int | None:
    """The case version an ``If-Match`` ETag names (``"<id>-<version>"``)."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"').rsplit("-", 1)[1])
    except (IndexError, ValueError):
        raise InvalidInput(f"If-Match must be an ETag this API gave, not {if_match!r}") from None


def _date(value: str | None, what: str) -> dt.date | None:
    return None if value is None else parse_date(value, what)


#: A moment as RFC 3339 writes it: date, ``T``, time (seconds and fraction optional), offset.
_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                     r"(Z|[+-][0-9]{2}:[0-9]{2})")


def _moment(value: str | None, what: str) -> dt.datetime | None:
    """A date and time with its UTC offset (never a bare number read as a timestamp, never
    a local time of no zone)."""
    if value is None:
        return None
    if _MOMENT.fullmatch(value):
        try:  # in UTC: a moment beyond year 1 to 9999 there is none the log can have
            return dt.datetime.fromisoformat(value).astimezone(dt.UTC)
        except (ValueError, OverflowError):
            pass
    raise InvalidInput(f"{what} must be a date and time with its UTC offset, e.g. "
                       f"2026-11-24T08:00:00+08:00, not {shown(value)}")


def _with_etag(response: Response, case: Case) -> BaseModel:
    response.headers["ETag"] = _etag(case)
    return case_out(case)


def _definition_out(d: Definition) -> DefinitionOut:
    titles = d.model.titles
    return DefinitionOut(
        name=d.name, version=d.version, insurance=d.insurance, title=d.model.title,
        content_hash=d.content_hash, initial=d.initial, states=list(d.states),
        final_states=[s for s in d.states if s in d.final_states], triggers=list(d.triggers),
        transitions=[TransitionOut(trigger=t.trigger, source=list(t.source), dest=t.dest,
                                   roles=list(t.roles), guards=list(t.guards),
                                   requires=list(t.requires), inputs=list(t.inputs))
                     for t in d.model.transitions],
        spans=[SpanSpecOut(name=s.name, owner=s.owner, starts_on=list(s.starts_on),
                           ends_on=list(s.ends_on), limit_working_days=s.limit_working_days,
                           limit_months=s.limit_months) for s in d.spans],
        application_at=list(d.application_at), schemes=list(d.schemes),
        titles={kind: {name: TitleOut(zh=t.zh, en=t.en) for name, t in named.items()}
                for kind, named in (("states", titles.states), ("triggers", titles.triggers),
                                    ("spans", titles.spans))})


def _definition(engine: Engine, name: str, version: int | None) -> Definition:
    names = engine.definitions.names()
    try:
        if name not in names and version is None:
            raise InvalidInput(f"no workflow definition named {name!r}; known: "
                               f"{', '.join(names)}")
        return engine.definition(name, version)
    except InvalidInput as exc:
        raise DefinitionNotFound(str(exc)) from None


def _calendar(engine: Engine, agency: str | None) -> tuple[str | None, WorkingDays]:
    code = None if agency is None else check_agency_format(agency, "agency")
    return code, engine.calendar if code is None else engine.calendar.for_agency(code)


#: The schema names the spellings the server reads (the server reads full-width digits and
#: surrounding spaces too, as in the other interfaces); anything else is refused with 422.
AgencyText = Annotated[str, WithJsonSchema({"type": "string", "pattern": "^[0-9]{6}$"})]
ETagText = Annotated[str, WithJsonSchema({"type": "string", "pattern": '^(W/)?"[0-9]+-[0-9]+"$'})]
IfMatch = Annotated[ETagText | None, Header(description='the ETag of the case decided on, '
                                                       '"<id>-<version>"; stale: 409')]
Limit = Annotated[int, Query(ge=1, le=500)]
#: Row ids (cases, papers, events, subscriptions) and offsets fit the database's 32-bit ids:
#: anything larger is refused with 422 (never an overflow in the driver). A path names a row
#: with digits only (``{case_id:int}``): ``/cases/import`` is no case, ``GET`` on it is 405.
MAX_ROW = 2 ** 31 - 1
Offset = Annotated[int, Query(ge=0, le=MAX_ROW)]
RowId = Annotated[int, PathParam(ge=1, le=MAX_ROW)]
RowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW)]
DateQuery = Annotated[DateText | None, Query(description="YYYY-MM-DD")]
#: A definition's version (the column's range, like row ids).
VersionQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW)]


async def _known_query_only(request: Request, principal: PrincipalDep) -> None:
    """Every route's query parameters are checked once the caller is known (401 first)."""
    check_known_query(request)


#: The API's routes. Refusals come back as RFC 9457 problems (``application/problem+json``,
#: :class:`~workflow.api.problems.Problem`) whatever handlers the host app has.
api = APIRouter(prefix=API_PREFIX, route_class=ProblemRoute, responses=RESPONSES,
                dependencies=[Security(API_TOKEN), Depends(_known_query_only)])


def router() -> APIRouter:
    """The API's routes; mount them in a host FastAPI app with ``app.include_router``
    (the host app must set ``app.state.engine``)."""
    return api


# --- cases: writing ---------------------------------------------------------------------------
@api.post("/cases", status_code=201, tags=["cases"], response_model=CaseOut, responses=RUNNING)
def open_case(body: OpenRequest, desk: DeskDep, response: Response) -> BaseModel:
    """Open a case in its definition's initial state, as the token's actor."""
    case = desk.open_case(
        body.definition, person_id=body.person_id, person_name=body.person_name,
        origin=body.origin, destination=body.destination, applicant=body.applicant,
        channel=body.channel, documents=body.documents, on=_date(body.on, "on"),
        origin_scheme=body.origin_scheme, destination_scheme=body.destination_scheme,
        contact_phone=body.contact_phone, contact_email=body.contact_email,
        receiving_employer=body.receiving_employer, agent_name=body.agent_name,
        agent_id_number=body.agent_id_number)
    response.headers["Location"] = f"{API_PREFIX}/cases/{case.id}"
    return _with_etag(response, case)


@api.post("/cases/import", status_code=201, tags=["cases"])
async def import_cases(desk: DeskDep, engine: EngineDep,
                       file: Annotated[UploadFile, File(description="CSV with a header row")],
                       on: Annotated[DateText | None, Form(
                           description="business date of lines without received_on, "
                                       "YYYY-MM-DD")] = None,
                       ) -> ImportResult:
    """Open every application of a CSV file (the columns of ``sstransfer import``) in one
    transaction: a refused line is named (``invalid_row``, ``details.line``) and nothing
    is written. A ``clerk`` token opens as origin clerk when every line's origin is its
    agency, else as destination clerk. At most ``[api] max_import_rows`` lines a request
    (the body itself is capped at ``max_import_bytes``)."""
    cap = engine.settings.max_import_bytes
    data = await file.read(cap + 1)
    if len(data) > cap:
        raise InvalidInput(f"the file is larger than {cap} bytes; split it")
    name = Path(file.filename or "upload.csv").name
    most = engine.settings.max_import_rows

    def run() -> list[int]:
        # Parsed as a stream: the lines past the limit are never read.
        applications = list(itertools.islice(parse_applications(data, name), most + 1))
        if len(applications) > most:
            raise InvalidInput(f"the file has more than {most} applications; split it "
                               "(one request opens at most [api] max_import_rows)")
        return desk.open_cases(applications, on=_date(on, "on"), first_line=2)

    ids = await run_in_threadpool(run)
    return ImportResult(case_ids=ids, count=len(ids))


async def _plain_fire(request: Request) -> Response | None:
    """The fire route's fast path (:func:`~workflow.api.problems.fast_path`): a request with
    no query string, a JSON body FireRequest reads and a case id in range is answered here,
    as :func:`fire` would answer it, with one thread hop (the desk's step); any other is
    left to :func:`fire` (None)."""
    if request.scope["query_string"] or request.headers.get("content-type") != "application/json":
        return None
    case_id = request.path_params["case_id"]
    try:
        given = json.loads(await request.body())
    except ValueError:  # not JSON, or not UTF-8: FastAPI's refusal
        return None
    engine = get_engine(request)  # the caller first, as the route's dependencies do
    principal = await principal_of(request.scope, engine, bearer(request))
    if not 1 <= case_id <= MAX_ROW or not isinstance(given, dict):
        return None
    try:
        body = FireRequest.model_validate(given)
    except ValueError:  # pydantic's ValidationError: fire answers it, naming each field
        return None
    headers = request.headers
    case = await run_in_threadpool(_fire_step, engine.desk(principal, via="api"), case_id, body,
                                   headers.get("if-match"), headers.get("idempotency-key"))
    return Response(case_out(case).model_dump_json(), media_type="application/json",
                    headers={"ETag": _etag(case)})


@api.post("/cases/{case_id:int}/fire", tags=["cases"], response_model=CaseOut)
@fast_path(_plain_fire)
def fire(case_id: RowId, body: FireRequest, desk: DeskDep, response: Response,
         if_match: IfMatch = None,
         idempotency_key: Annotated[str | None, Header(
             description="a retry with the same key returns the first result")] = None,
         ) -> BaseModel:
    """Fire a trigger on a case as the token's actor."""
    return _with_etag(response, _fire_step(desk, case_id, body, if_match, idempotency_key))


def _fire_step(desk: Desk, case_id: int, body: FireRequest, if_match: str | None,
               idempotency_key: str | None) -> Case:
    """The step a fire request asks for: the route's and its fast path's one call."""
    return desk.fire(case_id, body.trigger, on=_date(body.on, "on"), documents=body.documents,
                     expected_version=_version_of(if_match), explanation=body.explanation,
                     documents_needed=body.documents_needed, amount=body.amount,
                     contribution_months=body.contribution_months,
                     information_form=body.information_form,
                     months_at_destination=body.months_at_destination,
                     idempotency_key=idempotency_key)


@api.post("/cases/{case_id:int}/documents", tags=["cases"],
          response_model=CaseOut)
def attach_documents(case_id: RowId, body: AttachRequest, desk: DeskDep, response: Response,
                     if_match: IfMatch = None) -> BaseModel:
    """Add documents to a running case without changing its state."""
    case = desk.attach_documents(case_id, body.documents, on=_date(body.on, "on"),
                                 expected_version=_version_of(if_match))
    return _with_etag(response, case)


@api.post("/cases/{case_id:int}/business-date", tags=["cases"],
          response_model=CaseOut)
def correct_business_date(case_id: RowId, body: CorrectionRequest, desk: DeskDep,
                          response: Response, if_match: IfMatch = None) -> BaseModel:
    """Correct a wrong business date of the case's last step (a supervisor's act)."""
    case = desk.correct_business_date(case_id, parse_date(body.new_date, "new_date"),
                                      reason=body.reason,
                                      expected_version=_version_of(if_match))
    return _with_etag(response, case)


# --- cases: reading ---------------------------------------------------------------------------
#: What ``sort=`` takes: a sortable field, ascending, or with ``-`` first, descending.
SORT_KEYS = (*CASE_SORTS, *(f"-{name}" for name in CASE_SORTS))


#: The filters of a case list, as query parameters (``GET /cases``) and as the body of
#: ``POST /cases/search`` (which alone takes the ID number: a body is not in request logs).
class CaseFilters(_Body):
    state: str | None = Field(default=None, description="a state name, e.g. letter_sent")
    agency: AgencyText | None = Field(
        default=None, description="6-digit division code: the origin or the destination")
    definition: str | None = Field(default=None, description="e.g. pension_transfer")
    insurance: Literal["pension", "medical"] | None = None
    public_number: str | None = Field(
        default=None, description="the case number people read (20 digits)")
    person_name: str | None = Field(default=None, max_length=64,
                                    description="part of the person's name")
    level: Literal[ALERT_LEVELS] | None = Field(  # type: ignore[valid-type]
        default=None, description="a running span has a stored alert of this level")
    due_from: DateText | None = Field(
        default=None, description="a running span is due on or after this day, YYYY-MM-DD "
                                  "(the committed due date where there is one)")
    due_to: DateText | None = Field(
        default=None, description="a running span is due on or before this day, YYYY-MM-DD")
    overdue: bool = Field(default=False,
                          description="only cases with a span overdue today (China time)")
    overdue_on: DateText | None = Field(
        default=None, description="only cases with a span overdue on this day, YYYY-MM-DD")
    sort: Literal[SORT_KEYS] = Field(  # type: ignore[valid-type]
        default="id", description="field to sort by, `-field` for descending; ties by case "
                                  "number. `due_on`: the soonest due date of a running span")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_ROW)


class CaseSearch(CaseFilters):
    """A search of cases: the list's filters and the ID number (whole, or its last 4 or more
    characters), sent in the body so that it is in no URL and no request log."""

    person_id_ending: str | None = Field(
        default=None, max_length=64,
        description="the whole ID number or its last characters (at least 4); never shown back")


def _search(desk: Desk, filters: CaseFilters, person_id_ending: str | None = None) -> BaseModel:
    late_on = _date(filters.overdue_on, "overdue_on") or (today() if filters.overdue else None)
    found = desk.search(CaseQuery(
        state=filters.state, agency=filters.agency, definition=filters.definition,
        insurance=filters.insurance, overdue_on=late_on, public_number=filters.public_number,
        person_id_ending=person_id_ending, person_name=filters.person_name,
        level=filters.level, due_from=_date(filters.due_from, "due_from"),
        due_to=_date(filters.due_to, "due_to"), sort=filters.sort, limit=filters.limit,
        offset=filters.offset), view="list")
    end = filters.offset + len(found.cases)
    return CasePage(items=[case_out(c) for c in found.cases], total=found.total,
                    limit=filters.limit, offset=filters.offset,
                    next_offset=end if end < found.total and found.cases else None)


@api.get("/cases", tags=["cases"], response_model=CasePage)
def list_cases(desk: DeskDep, filters: Annotated[CaseFilters, Query()]) -> BaseModel:
    """The cases the principal may read, filtered and sorted, one page at a time, with how
    many match in all (``total``). To search by ID number use ``POST /cases/search`` (its
    body is in no request log); an unknown query parameter is refused (422)."""
    return _search(desk, filters)


@api.post("/cases/search", tags=["cases"], response_model=CasePage)
def search_cases(body: CaseSearch, desk: DeskDep) -> BaseModel:
    """The list's filters in a JSON body, and the ID number (``person_id_ending``: the whole
    number or its last 4 or more characters; matched, never shown back)."""
    return _search(desk, body, body.person_id_ending)


@api.get("/cases/{case_id:int}", tags=["cases"], response_model=CaseOut)
def get_case(case_id: RowId, desk: DeskDep, response: Response) -> BaseModel:
    """One case, with its version as the ETag, and the cases linked to it."""
    case, links = desk.case_with_links(case_id)
    response.headers["ETag"] = _etag(case)
    return case_out(case, links)


@api.get("/cases/{case_id:int}/history", tags=["cases"])
def history(case_id: RowId, desk: DeskDep) -> list[HistoryEntry]:
    """Every step of the case, oldest first."""
    return desk.history(case_id)


@api.get("/cases/{case_id:int}/spans", tags=["cases"])
def spans(case_id: RowId, desk: DeskDep) -> list[Span]:
    """The case's time limits, with their due dates."""
    return desk.spans(case_id)


@api.get("/cases/{case_id:int}/papers", tags=["papers"], response_model=PaperPage)
def papers(case_id: RowId, desk: DeskDep) -> PaperPage:
    """The papers issued on the case (the agencies' clerks and supervisors only)."""
    return PaperPage(items=[PaperOut(**p.model_dump()) for p in desk.papers(case_id)])


@api.get("/papers/{paper_id:int}", tags=["papers"], response_class=Response, responses={
    200: {"content": {"application/pdf": {}, "text/html": {}}}})
def paper(paper_id: RowId, desk: DeskDep,
          format: Annotated[Literal["pdf", "html"], Query(
              description="pdf (printed from the kept HTML) or html")] = "pdf") -> Response:
    """A kept paper as issued; every printing is a read in the access log."""
    found, body = desk.print_paper(paper_id, format)
    media = "application/pdf" if format == "pdf" else "text/html; charset=utf-8"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'inline; filename="paper-{found.id}.{format}"',
        "ETag": f'"{found.sha256}"'})


# --- deadlines --------------------------------------------------------------------------------
@api.get("/alerts", tags=["deadlines"], responses=NOT_FOUND)
def alerts(desk: DeskDep, level: str | None = None, case_id: RowIdQuery = None,
           agency: Annotated[str | None, Query(
               description="owner agency (within the principal's province)")] = None,
           as_of: DateQuery = None, limit: Limit = 100) -> list[Alert]:
    """Open alerts the principal may read, oldest first: a case's (if readable), the
    principal's agency's (clerks, supervisors; a province's for a province supervisor),
    or those of the applicant's own cases.

    Only **unresolved** alerts are listed (``resolved_on`` null): an alert is resolved when
    its span ends, or when its span's due date moved (the next scan raises it again if the
    span is still at that level)."""
    return desk.alerts(AlertQuery(level=level, case_id=case_id, agency=agency,
                                  as_of=_date(as_of, "as_of"), limit=limit, resolved=False))


@api.get("/reports/overdue", tags=["deadlines"], response_class=Response, responses={
    200: {"content": {t: {} for t in REPORT_TYPES.values()}, "description": "the report file"}})
def overdue_report(desk: DeskDep,
                   format: Annotated[Annotated[str, WithJsonSchema(
                       {"type": "string", "enum": list(REPORT_TYPES)})],
                       Query(description="csv, xlsx or html")] = "html",
                   as_of: DateQuery = None,
                   since: Annotated[DateText | None, Query(
                       description="start of the on-time period, YYYY-MM-DD "
                                   "(default: 7 days)")] = None,
                   lang: Annotated[Annotated[str, WithJsonSchema(
                       {"type": "string", "enum": ["zh", "en"]})] | None,
                       Query(description="zh or en")] = None,
                   ) -> Response:
    """The overdue report of the supervisor's agency (or province) as a file. Each case
    it lists counts as read (the access log's view ``overdue_report``)."""
    desk.check_report_reader()
    if format not in REPORT_TYPES:
        raise InvalidInput(f"report format must be one of {', '.join(REPORT_TYPES)}, "
                           f"not {format!r}")
    if lang is not None:
        check_language(lang)
    report = desk.overdue_report(_date(as_of, "as_of"), since=_date(since, "since"))
    folder = tempfile.mkdtemp(prefix="sstransfer-report-")
    try:
        name = f"overdue-{report.as_of.isoformat()}.{format}"
        path = write_report(report, format, Path(folder) / name, lang)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(path, media_type=REPORT_TYPES[format], filename=name,
                        background=BackgroundTask(shutil.rmtree, folder, True))


# --- definitions and the calendar -------------------------------------------------------------
@api.get("/definitions", tags=["definitions"])
def definitions(engine: EngineDep, principal: PrincipalDep) -> list[DefinitionSummary]:
    """Every definition version of the folder."""
    return [DefinitionSummary(name=d.name, version=d.version, insurance=d.insurance,
                              title=d.model.title, content_hash=d.content_hash)
            for d in sorted(engine.definitions, key=lambda d: d.key)]


@api.get("/definitions/{name}", tags=["definitions"])
def definition(name: str, engine: EngineDep, principal: PrincipalDep,
               version: VersionQuery = None) -> DefinitionOut:
    """One definition version (default: the latest): states, transitions, spans, titles."""
    return _definition_out(_definition(engine, name, version))


@api.get("/definitions/{name}/diagram", tags=["definitions"], response_class=Response,
         responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                          "description": "a Mermaid state diagram"}})
def diagram(name: str, engine: EngineDep, principal: PrincipalDep,
            version: VersionQuery = None) -> PlainTextResponse:
    """The definition version's Mermaid state diagram."""
    return PlainTextResponse(_definition(engine, name, version).mermaid())


@api.get("/calendar/working-day", tags=["calendar"])
def working_day(engine: EngineDep, principal: PrincipalDep,
                date: Annotated[DateText, Query(description="YYYY-MM-DD")],
                agency: Annotated[AgencyText | None, Query(
                    description="an agency whose province has its own days off")] = None,
                ) -> WorkingDayOut:
    """Whether a date is a working day (nationally, or for an agency)."""
    day = parse_date(date, "date")
    code, cal = _calendar(engine, agency)
    return WorkingDayOut(date=day, agency=code, working_day=cal.is_working_day(day),
                         provisional=not cal.is_official(day.year))


@api.get("/calendar/due-date", tags=["calendar"])
def due_date(engine: EngineDep, principal: PrincipalDep,
             received: Annotated[DateText, Query(description="date of receipt, YYYY-MM-DD")],
             working_days: Annotated[int, Query(ge=1, le=365)],
             agency: Annotated[AgencyText | None, Query(
                 description="an agency whose province has its own days off")] = None,
             ) -> DueDateOut:
    """The due date of a limit of N working days counted from a date of receipt."""
    day = parse_date(received, "received")
    code, cal = _calendar(engine, agency)
    due = cal.due(day, working_days)
    return DueDateOut(received=day, agency=code, working_days=working_days, due_on=due.on,
                      provisional=due.provisional, note=due.note)


# --- the access log ---------------------------------------------------------------------------
@api.get("/access-log", tags=["access"])
def access_log(desk: DeskDep, case_id: RowIdQuery = None, actor_id: str | None = None,
               since: Annotated[DateTimeText | None, Query(
                   description="ISO date and time with its offset, "
                               "2026-11-24T08:00:00+08:00")] = None,
               limit: Limit = 100, offset: Offset = 0) -> list[AccessEntry]:
    """Who read which case, newest first: only supervisors, for their agency or province."""
    return desk.access_log(case_id=case_id, actor_id=actor_id, since=_moment(since, "since"),
                           limit=limit, offset=offset)



# --- the outbox and the subscriptions (supervisors) -------------------------------------------
class SubscriptionRequest(_Body):
    agency: str | None = Field(default=None, description="6 digits (default: the supervisor's)")
    province: str | None = Field(default=None, description="2 digits, instead of an agency")
    events: list[str] = Field(default_factory=list, max_length=len(EVENT_NAMES),
                              description="event names; empty: every event")
    channel: Literal["webhook", "email"]
    target: str = Field(description="the webhook's URL or the email address", max_length=2000)


class SubscriptionCreated(BaseModel):
    subscription: dict[str, Any]
    secret: str | None = Field(description="the webhook's signing secret, shown only now")


def _event_out(event: OutboxEvent, messages: list[OutboxMessage]) -> dict[str, Any]:
    return {**event.to_dict(), "recipients": [m.to_dict() for m in messages
                                              if m.event_id == event.event_id]}


@api.get("/outbox", tags=["outbox"])
def outbox(desk: DeskDep, state: Literal["pending", "delivered", "dead"] | None = None,
           case_id: RowIdQuery = None, limit: Limit = 100,
           offset: Offset = 0) -> dict[str, list[dict[str, Any]]]:
    """The outbox's events of the supervisor's cases, newest first, each with its recipients
    (masked) and their delivery: supervisors only."""
    events = desk.outbox(state=state, case_id=case_id, limit=limit, offset=offset)
    messages = desk.outbox_messages(events)
    return {"items": [_event_out(e, messages) for e in events]}


@api.post("/outbox/{event_number:int}/retry", tags=["outbox"])
def retry_outbox(event_number: RowId, desk: DeskDep) -> dict[str, int]:
    """Send an event's dead messages again (due now, attempts from zero)."""
    return {"retried": desk.retry_outbox(event_number)}


@api.get("/subscriptions", tags=["outbox"])
def subscriptions(desk: DeskDep) -> dict[str, list[dict[str, Any]]]:
    """The subscriptions the supervisor manages (secrets are never shown again)."""
    return {"items": [s.to_dict() for s in desk.subscriptions()]}


@api.post("/subscriptions", tags=["outbox"], status_code=201)
def add_subscription(body: SubscriptionRequest, desk: DeskDep,
                     response: Response) -> SubscriptionCreated:
    """Subscribe the supervisor's agency (or an agency or the whole of their province) to
    events by webhook or email. A webhook's secret signs each request: keep it, it is shown
    once."""
    sub, secret = desk.add_subscription(agency=body.agency, province=body.province,
                                        events=body.events, channel=body.channel,
                                        target=body.target)
    response.headers["Location"] = f"{API_PREFIX}/subscriptions/{sub.id}"
    return SubscriptionCreated(subscription=sub.to_dict(), secret=secret)


@api.delete("/subscriptions/{subscription_id:int}", tags=["outbox"], status_code=204,
            response_class=Response)
def remove_subscription(subscription_id: RowId, desk: DeskDep) -> Response:
    desk.remove_subscription(subscription_id)
    return Response(status_code=204)


__all__ = ["CaseFilters", "CaseOut", "CasePage", "CaseSearch", "OpenRequest", "api", "case_out", "router"]
