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
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ..core.access import Principal
from ..core.alerts import LEVELS
from ..core.definitions import Definition
from ..core.figures import BUCKETS
from ..core.inputs import parse_date, today
from ..core.queries import AlertQuery
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
from ..records import Alert
from ..render import FORMATS, LABELS, TEMPLATES, chart_svg, write_report
from .auth import SESSION_COOKIE, SIGNIN_COOKIE, bearer, get_engine
from .problems import status_of

#: The dashboard remembers the language chosen with ``?lang=`` in this cookie.
LANG_COOKIE = "sstransfer_lang"
#: Inbox lines on one page, and the last page number read (beyond: the same, empty).
PAGE_SIZE = 50
MAX_PAGE = 1_000_000
#: Alerts shown on the alerts page (newest first).
ALERTS_SHOWN = 200
_MEDIA = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "html": "text/html; charset=utf-8"}
#: Pages name people: no shared cache keeps them, no browser cache after signing out.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


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
        if kind == "trigger" and name == "open":
            return self.w["trigger_open"]
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
        with the working days late."""
        if f"level_{level}" not in self.w:
            return level
        if level == "due_soon" and days == 0:
            return self.w["level_due_today"]
        if level in ("due_soon", "overdue"):
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
    as_of = today()
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
            if done in definition.triggers else None
    return page.render(
        "case.html", status, principal=staff.principal, here=page.url(f"/cases/{case.id}"),
        case=case, definition=definition, history=found.history, spans=spans,
        forms=forms, missing=missing, refusal=refusal, done=done, papers=papers,
        issues_papers=issues_papers, numbers={p.id: p.number for p in papers},
        # What a clerk may ask for: the case's application documents, held or not (a held one
        # may be found wanting).
        kinds=definition.application_documents(case.applicant, case.channel),
        final=case.state in definition.final_states)


def _refusal(page: _Page, exc: WorkflowError, definition: Definition) -> str:
    """The refusal as the user reads it, in the page's language, from its code and
    parameters (:func:`workflow.i18n.explain`): steps, states and documents by their titles,
    roles by their words, agencies by code and name; never the engine's English message."""

    def name(kind: str, value: str) -> str:
        if kind in ("trigger", "state"):
            return page.title(kind, value, definition)
        if kind == "document":
            return page.document(value, definition)
        if kind == "agency":
            return page.agency(value)
        return page.w.get(f"{kind}_{value}", value)

    return page.t("refused", message=explain(exc, page.lang, name))


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
    found = staff.desk.inbox(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    return staff.page.render(
        "inbox.html", principal=staff.principal, nav="inbox", scope=Scope.of(staff.principal),
        inbox=found, number=number, first=(number - 1) * PAGE_SIZE + 1,
        last=(number - 1) * PAGE_SIZE + len(found.items), more=number * PAGE_SIZE < found.total)


# --- the overdue board ------------------------------------------------------------------------
@pages.get("/overdue")
def overdue(staff: StaffDep) -> Response:
    """The board shows the report's figures only (no person), so no case is read."""
    page = staff.page
    report = staff.desk.overdue_figures()
    return page.render("overdue.html", principal=staff.principal, report=report, nav="overdue",
                       bucket_labels=[LABELS[page.lang].bucket[b] for b in BUCKETS],
                       chart=Markup(chart_svg(report, page.lang)))


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


def _fire_step(page: _Page, case_id: int, form: FormData) -> Response:
    staff = _staff(page, back=page.url(f"/cases/{case_id}"))
    staff.check_form(form)
    try:
        case = staff.desk.case_to_act_on(case_id)
    except CaseNotFound:
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
    on = str(form.get("on") or "").strip()
    try:
        staff.desk.fire(case_id, trigger, on=parse_date(on, "on") if on else None,
                        documents=_listed(form, "documents"), expected_version=version,
                        **inputs)
    except WorkflowError as exc:
        return _case_page(staff, case_id, status=status_of(exc),
                          refusal=_refusal(page, exc, definition))
    return page.redirect(f"/cases/{case_id}?done={quote(trigger)}")


# --- alerts and reports -----------------------------------------------------------------------
@pages.get("/alerts")
def alerts(staff: StaffDep) -> Response:
    shown = staff.desk.alerts(AlertQuery(newest_first=True, limit=ALERTS_SHOWN))
    return staff.page.render("alerts.html", principal=staff.principal, nav="alerts",
                             alerts=shown, titles=_span_titles(staff, shown), levels=LEVELS)


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


def _span_titles(staff: Staff, alerts: Iterable[Alert]) -> dict[int, str]:
    """The title of each alert's span, from its case's definition (one read per case)."""
    page, titles = staff.page, {}
    definitions: dict[int, Definition] = {}
    for a in alerts:
        if a.span_id is None:  # an advisory of the case, not of one span
            titles[a.id] = page.w.get(f"advisory_{a.subject}", a.subject)
            continue
        if a.case_id not in definitions:
            definitions[a.case_id] = staff.desk.definition_of_case(a.case_id)
        titles[a.id] = page.title("span", a.subject, definitions[a.case_id])
    return titles


__all__ = ["LANG_COOKIE", "Scope", "router"]
