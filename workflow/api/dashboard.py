"""The supervisors' and clerks' dashboard: server-rendered pages, Chinese first.

Jinja2 templates (autoescaped), no JavaScript needed, no build step. Every page reads as the
signed-in principal (the server-side session whose id ``/login`` puts in ``SESSION_COOKIE``;
every form carries the session's form token, checked on each post) and shows only their
agency, or
the province a supervisor is granted: the inbox of running spans, the overdue board, a case
with its timeline and the steps this user may take, alerts and the overdue report to download.
Each case page, and each inbox line naming a person, is written to the access log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import secrets
import tempfile
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ..core.access import Principal
from ..core.alerts import ALERT_LEVELS
from ..core.definitions import Definition
from ..core.figures import BUCKETS
from ..core.inputs import (
    CHINA,
    NAME_MAX,
    check_agency,
    check_agency_format,
    check_name,
    check_person_id,
    mask_person_id,
    parse_date,
    today,
)
from ..core.queries import AlertQuery, CaseQuery
from ..core.schema import APPLICANT_KINDS, CHANNELS
from ..core.views import Case
from ..core.words import LANGUAGES
from ..desk import Desk
from ..engine import Engine
from ..errors import (
    CaseNotFound,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    NotPermitted,
    PaperNotFound,
    WorkflowError,
)
from ..i18n import explain, format_date, install, words
from ..records import SpanAlert
from ..render import FORMATS, LABELS, TEMPLATES, chart_svg, write_report
from .auth import SESSION_COOKIE, SIGNIN_COOKIE, bearer, get_engine
from .problems import status_of

#: The dashboard remembers the language chosen with ``?lang=`` in this cookie.
LANG_COOKIE = "sstransfer_lang"
#: Inbox lines on one page, and the last page number read (beyond: the same, empty).
PAGE_SIZE = 50
MAX_PAGE = 1_000_000
#: Lines shown on the alerts page (one per span: open first, highest level first).
ALERTS_SHOWN = 200
#: The alerts page's views (``?show=``): open lines (the default), resolved ones, or both.
ALERT_VIEWS: dict[str, bool | None] = {"open": False, "resolved": True, "all": None}
_MEDIA = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "html": "text/html; charset=utf-8"}
#: Pages name people: no shared cache keeps them, no browser cache after signing out.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


#: The steps that are the engine's own, not a definition's, and their words.
_OWN_STEPS = {"open": "trigger_open", "attach_documents": "attach",
              "correct_business_date": "correct_date"}


@jinja2.pass_context
def _date(ctx: jinja2.runtime.Context, day: dt.date | None) -> str:
    return format_date(day, ctx["lang"])


def _environment() -> jinja2.Environment:
    # The dashboard's templates, and the stylesheet it shares with the HTML report.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([Path(__file__).parent / "templates",
                                                              TEMPLATES]),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["date"] = _date
    install(env)
    return env


_ENV = _environment()


@dataclasses.dataclass(frozen=True)
class Scope:
    """How a principal's pages name what they show (the desk decides what that is): their
    agency, or the province a supervisor is granted."""

    agency: str | None
    province: str | None

    @classmethod
    def of(cls, principal: Principal) -> Scope:
        if principal.is_supervisor and principal.province:
            return cls(None, principal.province)
        return cls(principal.agency, None)

    @property
    def code(self) -> str:
        """The division code naming the scope (a province as its ``xx0000`` code)."""
        return f"{self.province}0000" if self.province else str(self.agency)


class _Page:
    """One request's language, words and helpers for the templates."""

    def __init__(self, request: Request, engine: Engine) -> None:
        self.request, self.engine = request, engine
        self.base: str = getattr(request.state, "dashboard_prefix", "")
        asked = request.query_params.get("lang")
        self.chosen = asked if asked in LANGUAGES else None
        remembered = request.cookies.get(LANG_COOKIE)
        self.lang = self.chosen or (remembered if remembered in LANGUAGES
                                    else engine.settings.language)
        self.w = words(self.lang)
        self._definitions: dict[tuple[str, int], Definition] = {}
        #: The form token every form of the page carries (the session's; empty without one).
        self.csrf = ""

    # --- words ------------------------------------------------------------------------------
    def t(self, key: str, **values: object) -> str:
        return self.w.text(key, **values)

    def agency(self, code: str | None) -> str:
        """``440300 深圳市``: the code and its GB/T 2260 name (the code alone if unknown)."""
        if not code:
            return "–"
        name = self.engine.divisions.name_of(code)
        return f"{code} {name}" if name else code

    def definition(self, name: str, version: int) -> Definition:
        key = (name, version)
        if key not in self._definitions:
            self._definitions[key] = self.engine.definition(name, version)
        return self._definitions[key]

    def title(self, kind: str, name: str, definition: Definition) -> str:
        """A state, trigger or span as people read it; the opening step is the application."""
        if kind == "trigger" and name in _OWN_STEPS:
            return self.w[_OWN_STEPS[name]]
        return definition.title(kind, name, self.lang)

    def document(self, kind: str, definition: Definition) -> str:
        try:
            return definition.catalogue.title(kind, self.lang)
        except KeyError:
            return kind

    def word(self, prefix: str, value: str | None) -> str:
        """A coded value's word (``insurance_pension`` -> 养老保险), else the value itself."""
        return self.w.get(f"{prefix}_{value}", value or "–")

    def who(self, principal: Principal) -> str:
        role = self.word("role", principal.role)
        where = self.t("province_of", province=self.agency(f"{principal.province}0000")) \
            if principal.province else self.agency(principal.agency)
        return f"{principal.actor_id}（{role}，{where}）" if self.lang == "zh" \
            else f"{principal.actor_id} ({role}, {where})"

    def level(self, level: str, days: int) -> str:
        """An alert level as a badge reads: due soon with the working days left, overdue
        (or in transit) with the working days late."""
        if f"level_{level}" not in self.w:
            return level
        if level == "due_soon" and days == 0:
            return self.w["level_due_today"]
        if level in ("due_soon", "overdue", "in_transit"):
            return self.w.plural(f"level_{level}", -days if level == "due_soon" else days)
        return self.w[f"level_{level}"]

    # --- responses --------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def render(self, template: str, status: int = 200, *, principal: Principal | None = None,
               here: str | None = None, **context: Any) -> HTMLResponse:
        """The page in this request's language; ``here`` is the page's own address (the
        language switch links to it)."""
        here = here if here is not None else self.request.url.path
        other = LANGUAGES[1 - LANGUAGES.index(self.lang)]
        sep = "&" if "?" in here else "?"
        body = _ENV.get_template(template).render(
            page=self, lang=self.lang, html_lang=self.w["html_lang"], principal=principal,
            switch=f"{here}{sep}lang={other}",
            base=self.base, today=today(), **{"nav": None, "csrf": self.csrf, **context})
        response = HTMLResponse(body, status_code=status, headers=_PRIVATE)
        self.remember(response)
        return response

    def remember(self, response: Response) -> None:
        """Keep a language chosen with ``?lang=`` for the next pages."""
        if self.chosen is not None:
            response.set_cookie(LANG_COOKIE, self.chosen, max_age=365 * 86400, httponly=True,
                                samesite="lax", path="/")

    def redirect(self, path: str) -> RedirectResponse:
        response = RedirectResponse(self.url(path), status_code=303)
        self.remember(response)
        return response


class _Exit(Exception):
    """A page answered before its handler ran: to sign in, or that the user may not."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


class PageRoute(APIRoute):
    """A dashboard route: a dependency that ends the request early (:class:`_Exit`) sends its
    response instead of the page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except _Exit as exit_:
                return exit_.response

        return route


@dataclasses.dataclass(frozen=True)
class Staff:
    """The signed-in agency staff member of a page: the page, who they are, their desk."""

    page: _Page
    principal: Principal
    desk: Desk
    #: The session's form token; None when the request came with a bearer token (which no
    #: browser sends on its own, so it needs none).
    csrf: str | None = None

    def check_form(self, form: FormData) -> None:
        """A posted form must carry the session's form token: a page of another site, even
        one of the same site's other hosts, cannot know it (403 page otherwise)."""
        given = str(form.get("csrf") or "")
        if self.csrf is not None and not hmac.compare_digest(given.encode(), self.csrf.encode()):
            raise _Exit(self.forbidden(self.page.w["form_expired"]))

    def not_found(self, message: str) -> HTMLResponse:
        """The 404 page (a case one may not read is one of these too)."""
        return self.page.render("message.html", 404, principal=self.principal,
                                heading=self.page.w["not_found_title"], message=message)

    def forbidden(self, message: str | None = None) -> HTMLResponse:
        """The 403 page: by default, who the user is and that they may not."""
        return self.page.render(
            "message.html", 403, principal=self.principal, heading=self.page.w["forbidden_title"],
            message=message or self.page.t("forbidden", message=self.principal.describe()))


def _page(request: Request) -> _Page:
    return _Page(request, get_engine(request))


PageDep = Annotated[_Page, Depends(_page)]


def _staff(page: _Page, back: str | None = None) -> Staff:
    """The signed-in agency staff member, or the response to send instead: to ``/login``
    without a live session (then back to this page, or to ``back`` after a form was posted),
    a 403 page for anyone who is not clerk or supervisor. A bearer token (a script, not a
    browser) is taken too."""
    access, csrf = page.engine.access_service, None
    try:
        token = bearer(page.request)
        if token is not None:
            principal = access.authenticate(token)
        else:
            principal, session = access.session(page.request.cookies.get(SESSION_COOKIE))
            csrf = page.csrf = session.csrf
    except NotAuthenticated:
        url = page.request.url
        wanted = back or url.path + (f"?{url.query}" if url.query else "")
        raise _Exit(page.redirect(f"/login?next={quote(wanted, safe='')}")) from None
    if not principal.is_staff:
        raise _Exit(page.render("message.html", 403, principal=principal,
                                heading=page.w["forbidden_title"], message=page.w["not_staff"]))
    return Staff(page, principal, page.engine.desk(principal, via="dashboard"), csrf)


def _signed_in(page: PageDep) -> Staff:
    return _staff(page)


StaffDep = Annotated[Staff, Depends(_signed_in)]


def _safe_next(value: str | None, base: str) -> str:
    """Where to go after signing in: a path of this site only (never ``//host``)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return base + "/"


def _case_page(staff: Staff, case_id: int, *, status: int = 200, refusal: str | None = None,
               done: str | None = None) -> HTMLResponse:
    page, desk = staff.page, staff.desk
    try:
        found = desk.case_file(case_id)
    except CaseNotFound:  # also a case the user may not read: the desk says so alike
        return staff.not_found(page.t("not_found", id=case_id))
    case = found.case
    definition = page.definition(case.definition, case.definition_version)
    as_of = desk.counting_day()  # the day the inbox and the alerts page count from too
    spans = [(s, [] if s.ended_on is not None else desk.levels(s, as_of)) for s in found.spans]
    needed = {trigger: desk.documents_needed(case, trigger)
              for trigger in definition.allowed_triggers(case.state)}
    forms = [dict(trigger=trigger, spec=definition.transitions[trigger, case.state],
                  missing=needed[trigger]) for trigger in desk.possible_steps(case)]
    missing = [(trigger, kinds) for trigger, kinds in needed.items() if kinds]
    # The agencies' papers (versions that issue them): listed with a print link each.
    issues_papers = any(spec.papers for spec in definition.transitions.values())
    papers = desk.papers(case.id) if issues_papers else []
    if done is not None:
        done = page.t("done", step=page.title("trigger", done, definition)) \
            if done in definition.triggers else page.w.get(f"done_{done}")
    return page.render(
        "case.html", status, principal=staff.principal, here=page.url(f"/cases/{case.id}"),
        case=case, definition=definition, history=found.history, spans=spans,
        forms=forms, missing=missing, refusal=refusal, done=done, papers=papers,
        issues_papers=issues_papers, numbers={p.id: p.number for p in papers},
        # What a clerk may ask for: the case's application documents, held or not (a held one
        # may be found wanting).
        kinds=definition.application_documents(case.applicant, case.channel),
        final=case.state in definition.final_states, links=found.links,
        attachable=_attachable(case, definition),
        # The step a supervisor's correction dates anew: the last one that is not a correction.
        last=next((h for h in reversed(found.history) if h.trigger != "correct_business_date"),
                  None))


def _attachable(case: Case, definition: Definition) -> list[str]:
    """The documents a case may still be handed: its application's and those requested, that
    it does not hold."""
    wanted = (*definition.application_documents(case.applicant, case.channel),
              *case.requested_documents)
    return [k for k in dict.fromkeys(wanted) if k not in case.documents]


def _refusal(page: _Page, exc: WorkflowError, definition: Definition,
             trigger: str | None = None) -> str:
    """The refusal as the user reads it, in the page's language, from its code and
    parameters (:func:`workflow.i18n.explain`): steps, states and documents by their titles,
    roles by their words, agencies by code and name; never the engine's English message.
    ``trigger``: the step refused, for a refusal that does not name it itself (attaching
    documents, correcting a date)."""
    if isinstance(exc, NotPermitted) and exc.trigger is None and trigger is not None:
        exc = NotPermitted(str(exc), may_act=exc.may_act, trigger=trigger)
    return page.t("refused", message=explain(exc, page.lang, _namer(page, definition)))


def _namer(page: _Page, definition: Definition) -> Callable[[str, str], str]:
    """How a refusal names steps, states and documents (by the definition's titles), roles
    (by their words) and agencies (code and name) on a page."""

    def name(kind: str, value: str) -> str:
        if kind in ("trigger", "state"):
            return page.title(kind, value, definition)
        if kind == "document":
            return page.document(value, definition)
        if kind == "agency":
            return page.agency(value)
        return page.w.get(f"{kind}_{value}", value)

    return name


def _who_may(page: _Page, may_act: Iterable[tuple[str, str | None]]) -> str:
    """``转入地经办人员（440300 深圳市）或用人单位``: who may take a step, in the page's words."""
    return page.w["list_or"].join(
        page.word("role", role) + (f"（{page.agency(agency)}）" if page.lang == "zh"
                                   else f" ({page.agency(agency)})") if agency
        else page.word("role", role) for role, agency in may_act)


#: The dashboard's pages; ``router()`` mounts them.
pages = APIRouter(tags=["dashboard"], include_in_schema=False, route_class=PageRoute)


def router(prefix: str = "") -> APIRouter:
    """The dashboard's pages; mount them in a host FastAPI app with ``app.include_router``
    (the host app must set ``app.state.engine``). ``prefix``: where they are mounted."""

    def mounted_at(request: Request) -> None:
        request.state.dashboard_prefix = prefix

    outer = APIRouter(prefix=prefix, dependencies=[Depends(mounted_at)])
    outer.include_router(pages)
    return outer


# --- signing in and out -----------------------------------------------------------------------
@pages.get("/login")
def login_form(page: PageDep) -> Response:
    return _login_page(page, 200, next=_safe_next(page.request.query_params.get("next"),
                                                  page.base))


def _login_page(page: _Page, status: int, **context: Any) -> Response:
    """The sign-in form with its own form token (kept in ``SIGNIN_COOKIE`` until signed in),
    so that another site cannot sign a browser in as the attacker (login CSRF)."""
    page.csrf = page.request.cookies.get(SIGNIN_COOKIE) or ""
    fresh = len(page.csrf) < 32
    if fresh:
        page.csrf = secrets.token_urlsafe(32)
    response = page.render("login.html", status, **context)
    if fresh:
        response.set_cookie(SIGNIN_COOKIE, page.csrf, httponly=True, samesite="strict",
                            path="/", secure=page.request.url.scheme == "https")
    return response


# The forms are read asynchronously; what they do (database calls) runs in the thread pool,
# like the other pages, so that a slow database never stalls the event loop.
@pages.post("/login")
async def login(page: PageDep) -> Response:
    form = await page.request.form()
    return await run_in_threadpool(_sign_in, page, form)


def _sign_in(page: _Page, form: FormData) -> Response:
    token, wanted = str(form.get("token") or "").strip(), str(form.get("next") or "")
    wanted = _safe_next(wanted, page.base)
    expected = page.request.cookies.get(SIGNIN_COOKIE) or ""
    given = str(form.get("csrf") or "")
    if len(expected) < 32 or not hmac.compare_digest(given.encode(), expected.encode()):
        return _login_page(page, 403, error=page.w["form_expired"], next=wanted)
    access = page.engine.access_service
    try:
        if not access.authenticate(token).is_staff:  # no session for anyone else
            return _login_page(page, 403, error=page.w["not_staff"], next=wanted)
        secret, _, _ = access.open_session(token)
    except NotAuthenticated:
        return _login_page(page, 401, error=page.w["login_failed"], next=wanted)
    response = RedirectResponse(wanted, status_code=303)
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="strict", path="/",
                        secure=page.request.url.scheme == "https")
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    page.remember(response)
    return response


@pages.post("/logout")  # never GET: a link or an image on another site must not sign out
async def logout(page: PageDep) -> Response:
    form = await page.request.form()
    return await run_in_threadpool(_sign_out, page, form)


def _sign_out(page: _Page, form: FormData) -> Response:
    staff = _staff(page)
    staff.check_form(form)
    page.engine.access_service.end_session(page.request.cookies.get(SESSION_COOKIE))
    page.csrf = ""
    response = _login_page(page, 200, next=page.base + "/", notice=page.w["logged_out"])
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- the inbox --------------------------------------------------------------------------------
@pages.get("/")
def inbox(staff: StaffDep) -> Response:
    try:
        number = max(1, int(staff.page.request.query_params.get("page", "1")))
    except ValueError:
        number = 1
    number = min(number, MAX_PAGE)  # a page past the last is empty, never an overflow
    counting = _counting(staff)
    found = staff.desk.inbox(as_of=counting["counting_day"], limit=PAGE_SIZE,
                             offset=(number - 1) * PAGE_SIZE)
    return staff.page.render(
        "inbox.html", principal=staff.principal, nav="inbox", scope=Scope.of(staff.principal),
        inbox=found, number=number, first=(number - 1) * PAGE_SIZE + 1,
        last=(number - 1) * PAGE_SIZE + len(found.items), more=number * PAGE_SIZE < found.total,
        **counting)


# --- the overdue board ------------------------------------------------------------------------
@pages.get("/overdue")
def overdue(staff: StaffDep) -> Response:
    """The board shows the report's figures only (no person), so no case is read."""
    page = staff.page
    report = staff.desk.overdue_figures()
    return page.render("overdue.html", principal=staff.principal, report=report, nav="overdue",
                       bucket_labels=[LABELS[page.lang].bucket[b] for b in BUCKETS],
                       chart=Markup(chart_svg(report, page.lang)))


# --- registering an application (before /cases/{case_id}, which would take "new") ----------------
#: The fields of the registration form, as posted.
_APPLICATION_FIELDS = ("person_id", "person_name", "applicant", "channel", "origin",
                       "destination", "origin_scheme", "destination_scheme", "on")


@pages.get("/cases/new")
def new_case_form(staff: StaffDep) -> Response:
    """The registration form of an application handed in at the counter; ``?definition=``
    chooses the workflow (links on the page, so no script is needed)."""
    if staff.principal.role != "clerk":
        return staff.forbidden(staff.page.w["register_clerks"])
    workflows = staff.desk.workflows()
    chosen = staff.page.request.query_params.get("definition")
    definition = next((d for d in workflows if d.name == chosen), workflows[0])
    at = "destination" if "destination" in definition.application_at else "origin"
    return _register_page(staff, definition, {at: staff.principal.agency or ""})


def _register_page(staff: Staff, definition: Definition, values: dict[str, str], *,
                   status: int = 200, errors: dict[str, str] | None = None,
                   refusal: str | None = None, documents: Iterable[str] = (),
                   masked: str | None = None) -> HTMLResponse:
    kinds = dict.fromkeys(k for applicant in APPLICANT_KINDS for channel in CHANNELS
                          for k in definition.application_documents(applicant, channel))
    return staff.page.render(
        "register.html", status, principal=staff.principal, here=staff.page.url("/cases/new"),
        definition=definition, workflows=staff.desk.workflows(), values=values,
        errors=errors or {}, refusal=refusal, kinds=list(kinds), ticked=set(documents),
        masked=masked, applicants=APPLICANT_KINDS, channels=CHANNELS)


@pages.post("/cases/new")
async def register(page: PageDep) -> Response:
    form = await page.request.form()
    return await run_in_threadpool(_register, page, form)


def _register(page: _Page, form: FormData) -> Response:
    staff = _staff(page, back=page.url("/cases/new"))
    staff.check_form(form)
    if staff.principal.role != "clerk":
        return staff.forbidden(page.w["register_clerks"])
    workflows = {d.name: d for d in staff.desk.workflows()}
    definition = workflows.get(str(form.get("definition") or ""))
    if definition is None:
        return staff.not_found(page.t("refused", message=page.w["register_workflow"]))
    values = {name: str(form.get(name) or "").strip() for name in _APPLICATION_FIELDS}
    documents = [k for k in _listed(form, "documents") if k in definition.catalogue.kinds]
    errors, person_id = _application_errors(page, definition, values)
    masked = mask_person_id(person_id) if person_id else None
    values["person_id"] = ""  # never sent back: typed again, or shown masked
    if errors:
        return _register_page(staff, definition, values, status=422, errors=errors,
                              documents=documents, masked=masked)
    try:
        case = staff.desk.open_case(
            definition.name, applicant=values["applicant"], origin=values["origin"],
            destination=values["destination"], person_id=person_id,
            person_name=values["person_name"], channel=values["channel"], documents=documents,
            on=parse_date(values["on"], "on") if values["on"] else None,
            origin_scheme=values["origin_scheme"] or None,
            destination_scheme=values["destination_scheme"] or None)
    except WorkflowError as exc:
        return _register_page(staff, definition, values, status=status_of(exc),
                              refusal=_open_refusal(page, exc, definition), documents=documents,
                              masked=masked)
    return page.redirect(f"/cases/{case.id}?done=open")


def _application_errors(page: _Page, definition: Definition,
                        values: dict[str, str]) -> tuple[dict[str, str], str]:
    """What is wrong with each field of an application, in the page's words (the engine's
    own checks, one field at a time), and the ID number as checked ("" if it is not)."""
    w, divisions = page.w, page.engine.divisions
    checks: dict[str, tuple[str, Callable[[str], object], str]] = {
        "person_id": (w["person_id"], check_person_id, w["error_person_id"]),
        "person_name": (w["person_name"], check_name, page.t("error_person_name", limit=NAME_MAX)),
        "origin": (w["origin"], lambda v: check_agency(v, "origin", divisions),
                   page.t("error_agency", value=values["origin"])),
        "destination": (w["destination"], lambda v: check_agency(v, "destination", divisions),
                        page.t("error_agency", value=values["destination"])),
        "on": ("", lambda v: parse_date(v, "on"), w["error_date"]),  # optional: empty is today
    }
    errors, checked = {}, {}
    for name, (label, check, wrong) in checks.items():
        if not values[name]:
            if label:
                errors[name] = page.t("error_required", field=label)
            continue
        try:
            checked[name] = check(values[name])
        except InvalidInput:
            errors[name] = wrong
    values.update((end, str(checked[end])) for end in ("origin", "destination") if end in checked)
    if "origin" in checked and checked["origin"] == checked.get("destination"):
        errors["destination"] = w["error_same_agency"]
    choices = {"applicant": (APPLICANT_KINDS, w["applicant"]), "channel": (CHANNELS, w["channel"])}
    if definition.schemes:
        choices.update(origin_scheme=(definition.schemes, w["scheme_origin"]),
                       destination_scheme=(definition.schemes, w["scheme_destination"]))
    for name, (allowed, label) in choices.items():
        if values[name] not in allowed:
            errors[name] = page.t("error_choose", field=label)
    return errors, str(checked.get("person_id", ""))


def _open_refusal(page: _Page, exc: WorkflowError, definition: Definition) -> str:
    """An application the engine refused: who may register it, else the refusal in the
    page's words (:func:`workflow.i18n.explain`, never the engine's English message)."""
    if isinstance(exc, NotPermitted) and exc.may_act:
        return page.t("register_refused_who", who=_who_may(page, exc.may_act))
    return page.t("register_refused", message=explain(exc, page.lang, _namer(page, definition)))


# --- a case -----------------------------------------------------------------------------------
@pages.get("/cases/{case_id}")
def case_page(staff: StaffDep, case_id: int) -> Response:
    return _case_page(staff, case_id, done=staff.page.request.query_params.get("done"))


@pages.post("/cases/{case_id}/fire")
async def fire(page: PageDep, case_id: int) -> Response:
    form = await page.request.form()
    return await run_in_threadpool(_fire_step, page, case_id, form)


@pages.get("/cases/{case_id}/papers/{paper_id}.{fmt}")
def paper_file(staff: StaffDep, case_id: int, paper_id: int, fmt: str) -> Response:
    """A paper of the case printed as issued: its kept HTML to print from the browser, or the
    PDF printed from it (each printing is a read in the access log)."""
    try:
        paper, body = staff.desk.print_paper(paper_id, fmt)
        if paper.case_id != case_id:
            raise PaperNotFound(paper_id)
    except (PaperNotFound, InvalidInput):
        return staff.not_found(staff.page.t("paper_not_found", id=paper_id))
    except NotPermitted:
        return staff.forbidden()
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(body, media_type=_MEDIA.get(fmt, "application/pdf"), headers={
        **_PRIVATE, "Content-Disposition": f'{disposition}; filename="paper-{paper.id}.{fmt}"'})


#: The form fields that make up a move_funds step's information form, per insurance.
_FORM_FIELDS = {"pension": ("personal_account",),
                "medical": ("personal_account", "months_actual", "months_deemed")}


def _step_inputs(form: FormData, takes: set[str], insurance: str) -> dict[str, Any]:
    """What a step's form gave for the inputs the step takes."""
    inputs: dict[str, Any] = {}
    for name in ("explanation", "amount", "contribution_months", "months_at_destination"):
        if name in takes:
            inputs[name] = str(form.get(name) or "").strip() or None
    if "documents_needed" in takes:
        inputs["documents_needed"] = _listed(form, "documents_needed") or None
    if "information_form" in takes:
        # The engine checks the form (and names a bad field); empty fields are left out.
        fields = {name: str(form.get(name) or "").strip() for name in _FORM_FIELDS[insurance]}
        information: dict[str, Any] = {
            k: int(v) if k.startswith("months_") and v.isascii() and v.isdigit() else v
            for k, v in fields.items() if v}
        if insurance == "pension":
            information["periods"] = [
                line.strip() for line in str(form.get("periods") or "").splitlines()
                if line.strip()]
        inputs["information_form"] = information
    return inputs


def _listed(form: FormData, name: str) -> list[str]:
    return [str(v) for v in form.getlist(name) if str(v).strip()]


def _posted_on_case(page: _Page, case_id: int, form: FormData) -> tuple[Staff, Case | None]:
    """The staff member who posted a case page's form (its form token checked) and the case
    they may act on, or None when it is not theirs to see (the case page then says so)."""
    staff = _staff(page, back=page.url(f"/cases/{case_id}"))
    staff.check_form(form)
    try:
        return staff, staff.desk.case_to_act_on(case_id)
    except CaseNotFound:
        return staff, None


def _fire_step(page: _Page, case_id: int, form: FormData) -> Response:
    staff, case = _posted_on_case(page, case_id, form)
    if case is None:
        return _case_page(staff, case_id)
    trigger = str(form.get("trigger") or "")
    definition = page.definition(case.definition, case.definition_version)
    spec = definition.transitions.get((trigger, case.state))
    inputs = _step_inputs(form, set(spec.inputs) if spec is not None else set(), case.insurance)
    try:
        version = int(str(form.get("version") or ""))
        if not -2 ** 31 < version < 2 ** 31:  # beyond the column: no version it has had
            raise ValueError(version)
    except ValueError:
        return _case_page(staff, case_id, status=422, refusal=page.w["refused_stale"])
    if definition.destructive(trigger) and form.get("confirm") != "yes":
        return _case_page(staff, case_id, status=422, refusal=page.t(
            "refused_unconfirmed", step=page.title("trigger", trigger, definition)))
    on = str(form.get("on") or "").strip()
    try:
        staff.desk.fire(case_id, trigger, on=parse_date(on, "on") if on else None,
                        documents=_listed(form, "documents"), expected_version=version,
                        **inputs)
    except WorkflowError as exc:
        return _case_page(staff, case_id, status=status_of(exc),
                          refusal=_refusal(page, exc, definition, trigger))
    return page.redirect(f"/cases/{case_id}?done={quote(trigger)}")


# --- search ---------------------------------------------------------------------------------
#: The search form's filters (in the address of a search: never the ID number, which is only
#: ever posted, so that it is in no URL, no request log and no browser history).
SEARCH_FIELDS = ("public_number", "person_name", "agency", "insurance", "state", "level",
                 "due_from", "due_to")
#: The columns of the results one may sort by (a click on the heading; again: descending).
SORTABLE = ("public_number", "person_name", "insurance", "state", "opened_on",
            "last_event_on", "due_on")
_SEARCH_DEFAULT_SORT = "-opened_on"


@pages.get("/search")
def search(staff: StaffDep) -> Response:
    """The search form; with filters in its address (after a search), the cases found."""
    params = staff.page.request.query_params
    filters = {name: params.get(name, "").strip()[:64] for name in SEARCH_FIELDS}
    asked = any(name in params for name in (*SEARCH_FIELDS, "sort", "page"))
    return _search_page(staff, filters, None, sort=params.get("sort") or _SEARCH_DEFAULT_SORT,
                        number=_page_number(params.get("page")), asked=asked)


@pages.post("/search")
async def search_posted(page: PageDep) -> Response:
    form = await page.request.form()
    return await run_in_threadpool(_search_posted, page, form)


def _search_posted(page: _Page, form: FormData) -> Response:
    """A search sent from the form: with an ID number, answered in place (the number stays
    out of every address); without one, sent on to the search's own address."""
    staff = _staff(page, back=page.url("/search"))
    staff.check_form(form)
    filters = {name: str(form.get(name) or "").strip()[:64] for name in SEARCH_FIELDS}
    sort = str(form.get("sort") or "") or _SEARCH_DEFAULT_SORT
    id_ending = str(form.get("person_id_ending") or "").strip()[:64]
    if not id_ending:
        kept = {name: value for name, value in filters.items() if value}
        return page.redirect(f"/search?{urlencode({**kept, 'sort': sort})}")
    return _search_page(staff, filters, id_ending, sort=sort,
                        number=_page_number(str(form.get("page") or "")), asked=True)


def _page_number(text: str | None) -> int:
    try:
        return min(max(1, int(text or "1")), MAX_PAGE)
    except ValueError:
        return 1


def _search_page(staff: Staff, filters: dict[str, str], id_ending: str | None, *, sort: str,
                 number: int, asked: bool) -> Response:
    """The form, and when ``asked`` one page of the cases found (the desk scopes the search
    and writes the cases shown to the access log as one entry)."""
    page, found, refusal = staff.page, None, None
    if asked:
        try:
            agency = filters["agency"]
            found = staff.desk.search(CaseQuery(
                public_number=filters["public_number"] or None,
                person_name=filters["person_name"] or None,
                agency=check_agency_format(agency, "agency") if agency else None,
                insurance=filters["insurance"] or None, state=filters["state"] or None,
                level=filters["level"] or None,
                due_from=parse_date(filters["due_from"], "due_from")
                if filters["due_from"] else None,
                due_to=parse_date(filters["due_to"], "due_to") if filters["due_to"] else None,
                person_id_ending=id_ending or None, sort=sort, limit=PAGE_SIZE,
                offset=(number - 1) * PAGE_SIZE))
        except InvalidInput as exc:
            refusal = page.t("search_refused", message=explain(exc, page.lang))
    kept = {name: value for name, value in filters.items() if value}

    def address(**change: object) -> str:
        """This search's address with ``change`` (a sort, a page): never for an ID search."""
        return page.url("/search?" + urlencode({**kept, "sort": sort, **change}))

    def sort_link(column: str) -> str:
        return address(sort=f"-{column}" if sort == column else column)

    states: dict[str, str] = {}
    for definition in sorted(page.engine.definitions, key=lambda d: d.key):
        for state in definition.states:
            states[state] = definition.title("state", state, page.lang)
    here = address(page=number) if asked and not id_ending else page.url("/search")
    return page.render(
        "search.html", 422 if refusal else 200, principal=staff.principal, nav="search",
        here=here, filters=filters, by_id=bool(id_ending), sort=sort, found=found,
        refusal=refusal, number=number, first=(number - 1) * PAGE_SIZE + 1,
        last=(number - 1) * PAGE_SIZE + (len(found.cases) if found else 0),
        more=found is not None and number * PAGE_SIZE < found.total,
        address=address, sort_link=sort_link, sortable=SORTABLE, states=states,
        levels=ALERT_LEVELS, insurances=("pension", "medical"))


@pages.post("/cases/{case_id}/documents")
async def attach(page: PageDep, case_id: int) -> Response:
    form = await page.request.form()
    return await run_in_threadpool(_attach, page, case_id, form)


def _attach(page: _Page, case_id: int, form: FormData) -> Response:
    """Documents handed in for a case, ticked from those it still lacks."""
    staff, case = _posted_on_case(page, case_id, form)
    if case is None:
        return _case_page(staff, case_id)
    definition = page.definition(case.definition, case.definition_version)
    documents = _listed(form, "documents")
    if not documents:
        return _case_page(staff, case_id, status=422, refusal=page.w["error_documents"])
    try:
        staff.desk.attach_documents(case_id, documents, expected_version=_version(form))
    except WorkflowError as exc:
        return _case_page(staff, case_id, status=status_of(exc),
                          refusal=_refusal(page, exc, definition, "attach_documents"))
    return page.redirect(f"/cases/{case_id}?done=attach")


@pages.post("/cases/{case_id}/business-date")
async def correct_date(page: PageDep, case_id: int) -> Response:
    form = await page.request.form()
    return await run_in_threadpool(_correct_date, page, case_id, form)


def _correct_date(page: _Page, case_id: int, form: FormData) -> Response:
    """A supervisor corrects the business date of a case's last step, with a reason."""
    staff, case = _posted_on_case(page, case_id, form)
    if case is None:
        return _case_page(staff, case_id)
    definition = page.definition(case.definition, case.definition_version)
    on, reason = str(form.get("on") or "").strip(), str(form.get("reason") or "").strip()
    refusal = None
    if not on:
        refusal = page.t("error_required", field=page.w["correct_new_date"])
    elif not reason:
        refusal = page.t("error_required", field=page.w["correct_reason"])
    if refusal is not None:
        return _case_page(staff, case_id, status=422, refusal=refusal)
    try:
        new_date = parse_date(on, "on")
    except InvalidInput:
        return _case_page(staff, case_id, status=422, refusal=page.w["error_date"])
    try:
        staff.desk.correct_business_date(case_id, new_date, reason=reason,
                                         expected_version=_version(form))
    except WorkflowError as exc:
        return _case_page(staff, case_id, status=status_of(exc),
                          refusal=_refusal(page, exc, definition, "correct_business_date"))
    return page.redirect(f"/cases/{case_id}?done=correct")


def _version(form: FormData) -> int:
    """The case version a form was shown with (a stale or made-up one is refused as stale)."""
    try:
        version = int(str(form.get("version") or ""))
    except ValueError:
        return -1
    return version if -2 ** 31 < version < 2 ** 31 else -1


# --- alerts and reports -----------------------------------------------------------------------
@pages.get("/alerts")
def alerts(staff: StaffDep) -> Response:
    """One line per span at its highest level, open ones only unless ``?show=resolved`` or
    ``?show=all``; working days left or late counted as the inbox counts them."""
    page, desk = staff.page, staff.desk
    show = page.request.query_params.get("show", "open")
    if show not in ALERT_VIEWS:
        show = "open"
    lines = desk.span_alerts(AlertQuery(resolved=ALERT_VIEWS[show], limit=ALERTS_SHOWN))
    counting = _counting(staff)
    day: dt.date = counting["counting_day"]
    rows = []
    for line in lines:
        levels = desk.levels(line, day) if line.open and line.ended_on is None \
            and line.span_id is not None else []
        days = levels[0][1] if levels else None  # as the inbox's first badge counts them
        rows.append((line, _line_title(page, line), days, dict(levels).get(line.level, days)))
    return page.render("alerts.html", principal=staff.principal, nav="alerts", rows=rows,
                       show=show, views=list(ALERT_VIEWS), **counting)


def _counting(staff: Staff) -> dict[str, Any]:
    """What the inbox and the alerts page say of their count: the one day both count working
    days from, and when the last scan ran and as of which date."""
    last = staff.desk.last_scan()
    finished = last.finished_at if last is not None else None
    return {"counting_day": staff.desk.counting_day(), "last_scan": last,
            "scan_finished": finished.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
            if finished is not None else None}


def _line_title(page: _Page, line: SpanAlert) -> str:
    """The title of an alert line's span, from its case's definition; or the advisory's."""
    if line.span_id is None:  # an advisory of the case, not of one span
        return page.w.get(f"advisory_{line.subject}", line.subject)
    return page.title("span", line.subject,
                      page.definition(line.definition_name, line.definition_version))


# --- the outbox (supervisors) ------------------------------------------------------------------
@pages.get("/outbox")
def outbox(staff: StaffDep) -> Response:
    """The outbox of the supervisor's cases: each event, its recipients (masked) and their
    delivery, with a retry button for those parked dead."""
    page = staff.page
    if not staff.principal.is_supervisor:
        return staff.forbidden(page.w["outbox_supervisors"])
    state = page.request.query_params.get("state") or None
    if state not in (None, "pending", "delivered", "dead"):
        state = None
    events = staff.desk.outbox(state=state, limit=ALERTS_SHOWN)
    messages = staff.desk.outbox_messages(events)
    return page.render("outbox.html", principal=staff.principal, nav="outbox", events=events,
                       state=state, messages={e.event_id: [m for m in messages
                                                           if m.event_id == e.event_id]
                                              for e in events},
                       retried=page.request.query_params.get("retried"))


@pages.post("/outbox/{event_number}/retry")
async def retry_outbox(page: PageDep, event_number: int) -> Response:
    form = await page.request.form()
    return await run_in_threadpool(_retry_outbox, page, event_number, form)


def _retry_outbox(page: _Page, event_number: int, form: FormData) -> Response:
    staff = _staff(page, back=page.url("/outbox"))
    staff.check_form(form)
    try:
        count = staff.desk.retry_outbox(event_number)
    except (NotFound, CaseNotFound, NotPermitted):
        return staff.not_found(staff.page.t("outbox_not_found", id=event_number))
    return staff.page.redirect(f"/outbox?retried={count}")


@pages.get("/reports")
def reports(staff: StaffDep) -> Response:
    return staff.page.render("reports.html", principal=staff.principal, nav="reports",
                             formats=FORMATS, scope=Scope.of(staff.principal))


@pages.get("/reports/overdue.{fmt}")
def report_file(staff: StaffDep, fmt: str) -> Response:
    page = staff.page
    if fmt not in FORMATS:
        return staff.not_found(fmt)
    report = staff.desk.overdue_report(view="report")
    with tempfile.TemporaryDirectory(prefix="sstransfer-report-") as folder:
        path = write_report(report, fmt, Path(folder) / f"overdue.{fmt}", lang=page.lang)
        content = path.read_bytes()
    name = f"overdue-{report.as_of.isoformat()}-{page.lang}.{fmt}"
    response = Response(content, media_type=_MEDIA[fmt], headers={
        **_PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'})
    page.remember(response)
    return response


__all__ = ["LANG_COOKIE", "SEARCH_FIELDS", "SORTABLE", "Scope", "router"]
