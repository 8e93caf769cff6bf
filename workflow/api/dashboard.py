"""The supervisors' and clerks' dashboard: server-rendered pages, Chinese first.

Jinja2 templates (autoescaped), no JavaScript needed, no build step. Every page reads as the
signed-in principal (the ``TOKEN_COOKIE`` set by ``/login``) and shows only their agency, or
the province a supervisor is granted: the inbox of running spans, the overdue board, a case
with its timeline and the steps this user may take, alerts and the overdue report to download.
Each case page, and each inbox line naming a person, is written to the access log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ..core.alerts import LEVELS
from ..core.definitions import Definition
from ..core.figures import BUCKETS
from ..core.queries import InboxQuery
from ..core.rules import CaseFacts, decide, parse_date, today
from ..core.views import Case, format_date
from ..engine import Engine
from ..errors import (
    CaseNotFound,
    ConcurrentUpdate,
    InvalidTransition,
    MissingDocuments,
    NotAuthenticated,
    NotPermitted,
    WorkflowError,
)
from ..services.access import Principal
from ..services.reports import FORMATS, LABELS, OverdueReport, chart_svg, write_report
from .auth import TOKEN_COOKIE, get_engine, signed_in_token
from .labels import LANGUAGES, words
from .problems import status_of

#: The dashboard remembers the language chosen with ``?lang=`` in this cookie.
LANG_COOKIE = "sstransfer_lang"
#: Inbox lines on one page.
PAGE_SIZE = 50
#: Alerts shown on the alerts page (newest first).
ALERTS_SHOWN = 200
_MEDIA = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "html": "text/html; charset=utf-8"}
#: Pages name people: no shared cache keeps them, no browser cache after signing out.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


@jinja2.pass_context
def _date(ctx: jinja2.runtime.Context, day: dt.date | None) -> str:
    return format_date(day, ctx["lang"])


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["date"] = _date
    return env


_ENV = _environment()


@dataclasses.dataclass(frozen=True)
class Scope:
    """What a principal's pages show: the spans and cases of their agency, or of every agency
    of the province a supervisor is granted."""

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

    def __init__(self, request: Request, engine: Engine, prefix: str) -> None:
        self.request, self.engine, self.base = request, engine, prefix
        asked = request.query_params.get("lang")
        self.chosen = asked if asked in LANGUAGES else None
        remembered = request.cookies.get(LANG_COOKIE)
        self.lang = self.chosen or (remembered if remembered in LANGUAGES
                                    else engine.settings.language)
        self.w = words(self.lang)
        self._definitions: dict[tuple[str, int], Definition] = {}

    # --- words ------------------------------------------------------------------------------
    def t(self, key: str, **values: object) -> str:
        return self.w[key].format(**values)

    def agency(self, code: str | None) -> str:
        """``440300 深圳市``: the code and its GB/T 2260 name (the code alone if unknown)."""
        if not code:
            return "–"
        name = self.engine.divisions.name_of(code)
        return f"{code} {name}" if name else code

    def definition(self, name: str, version: int) -> Definition:
        key = (name, version)
        if key not in self._definitions:
            self._definitions[key] = self.engine.registry.get(name, version)
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
        return self.t(f"level_{level}", days=-days if level == "due_soon" else days)

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
            page=self, lang=self.lang, html_lang=self.w["html_lang"],
            w=self.w, t=self.t, principal=principal, switch=f"{here}{sep}lang={other}",
            base=self.base, today=today(), **{"nav": None, **context})
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


def _signed_in(page: _Page, back: str | None = None) -> Principal | Response:
    """The signed-in agency staff member, or the response to send instead: to ``/login``
    without a valid token (then back to this page, or to ``back`` after a form was posted),
    a 403 page for anyone who is not clerk or supervisor."""
    try:
        principal = page.engine.access_service.authenticate(signed_in_token(page.request))
    except NotAuthenticated:
        url = page.request.url
        wanted = back or url.path + (f"?{url.query}" if url.query else "")
        return page.redirect(f"/login?next={quote(wanted, safe='')}")
    if not (principal.is_clerk or principal.is_supervisor):
        return page.render("message.html", 403, principal=principal,
                           heading=page.w["forbidden_title"], message=page.w["not_staff"])
    return principal


def _safe_next(value: str | None, base: str) -> str:
    """Where to go after signing in: a path of this site only (never ``//host``)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return base + "/"


def _needed(definition: Definition, case: Case, trigger: str) -> list[str]:
    """The documents a step from the case's state needs and the case does not hold."""
    spec = definition.transitions[trigger, case.state]
    needed = list(spec.requires)
    if "application_complete" in spec.guards:
        needed += definition.application_documents(case.applicant, case.channel)
    if "requested_documents_supplied" in spec.guards:
        needed += case.requested_documents
    return [k for k in dict.fromkeys(needed) if k not in case.documents]


def _may_fire(engine: Engine, definition: Definition, case: Case,
              principal: Principal) -> list[str]:
    """The triggers from the case's state this principal may fire: the rules' own check of
    who may act (``permitted``), the step's documents and inputs left to the form."""
    if principal.is_supervisor:
        return []
    actor, facts = principal.actor_for(case), CaseFacts.of(case)
    allowed = []
    for trigger in definition.allowed_triggers(case.state):
        try:
            decide(definition, facts, trigger, actor, divisions=engine.divisions)
        except NotPermitted:
            continue
        except WorkflowError:
            pass  # permitted; what it still needs is asked for on the form
        allowed.append(trigger)
    return allowed


def _case_page(page: _Page, principal: Principal, case: Case, *, status: int = 200,
               refusal: str | None = None, done: str | None = None) -> HTMLResponse:
    engine = page.engine
    definition = page.definition(case.definition, case.definition_version)
    engine.access_service.record_reads(principal, [case.id], "case", "dashboard")
    as_of = today()
    spans = []
    for s in engine.spans(case.id):
        levels = [] if s.ended_on is not None else engine.alert_service.levels(s, as_of)
        spans.append((s, levels))
    triggers = _may_fire(engine, definition, case, principal)
    forms = [dict(trigger=trigger, spec=definition.transitions[trigger, case.state],
                  missing=_needed(definition, case, trigger)) for trigger in triggers]
    missing = [(trigger, needed) for trigger in definition.allowed_triggers(case.state)
               if (needed := _needed(definition, case, trigger))]
    return page.render(
        "case.html", status, principal=principal, here=page.url(f"/cases/{case.id}"),
        case=case, definition=definition, history=engine.history(case.id), spans=spans,
        forms=forms, missing=missing, refusal=refusal, done=done,
        # What a clerk may ask for: the case's application documents, held or not (a held one
        # may be found wanting).
        kinds=definition.application_documents(case.applicant, case.channel),
        final=case.state in definition.final_states)


def _refusal(page: _Page, exc: WorkflowError, definition: Definition, trigger: str) -> str:
    """The refusal as the user reads it: missing documents by their titles, a stale page, a
    step the case's state does not allow, who may take the step; else the engine's own
    message (English: a bad input the form let through)."""
    if isinstance(exc, MissingDocuments):
        return page.t("refused_missing", step=page.title("trigger", exc.trigger, definition),
                      kinds="、".join(page.document(k, definition) for k in exc.kinds))
    if isinstance(exc, ConcurrentUpdate):
        return page.w["refused_stale"]
    if isinstance(exc, InvalidTransition):
        state = page.title("state", exc.state, definition)
        if not exc.allowed:
            return page.t("refused_closed", state=state)
        return page.t("refused_state", state=state, step=page.title("trigger", exc.trigger, definition),
                      allowed="、".join(page.title("trigger", t, definition) for t in exc.allowed))
    if isinstance(exc, NotPermitted) and exc.may_act:
        who = page.w["list_or"].join(
            page.word("role", role) + (f"（{page.agency(agency)}）" if page.lang == "zh"
                                       else f" ({page.agency(agency)})") if agency
            else page.word("role", role) for role, agency in exc.may_act)
        return page.t("refused_who", step=page.title("trigger", trigger, definition), who=who)
    return page.t("refused", message=str(exc))


def _report(engine: Engine, scope: Scope) -> OverdueReport:
    return engine.overdue_report(today(), agencies=None if scope.province else [str(scope.agency)],
                                 province=scope.province)


def router(prefix: str = "") -> APIRouter:
    """The dashboard's pages; mount them in a host FastAPI app with ``app.include_router``
    (the host app must set ``app.state.engine``). ``prefix``: where they are mounted."""
    pages = APIRouter(prefix=prefix, tags=["dashboard"], include_in_schema=False)

    def page_of(request: Request) -> _Page:
        return _Page(request, get_engine(request), prefix)

    # --- signing in and out -------------------------------------------------------------------
    @pages.get("/login")
    def login_form(request: Request) -> Response:
        page = page_of(request)
        return page.render("login.html", next=_safe_next(request.query_params.get("next"), prefix))

    # The forms are read asynchronously; what they do (database calls) runs in the thread pool,
    # like the other pages, so that a slow database never stalls the event loop.
    @pages.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        return await run_in_threadpool(sign_in, request, form)

    def sign_in(request: Request, form: FormData) -> Response:
        page = page_of(request)
        token, wanted = str(form.get("token") or "").strip(), str(form.get("next") or "")
        try:
            principal = page.engine.access_service.authenticate(token)
        except NotAuthenticated:
            return page.render("login.html", 401, error=page.w["login_failed"],
                               next=_safe_next(wanted, prefix))
        if not (principal.is_clerk or principal.is_supervisor):
            return page.render("login.html", 403, error=page.w["not_staff"],
                               next=_safe_next(wanted, prefix))
        response = RedirectResponse(_safe_next(wanted, prefix), status_code=303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        page.remember(response)
        return response

    @pages.api_route("/logout", methods=["GET", "POST"])
    def logout(request: Request) -> Response:
        page = page_of(request)
        response = page.render("login.html", next=prefix + "/", notice=page.w["logged_out"])
        response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    # --- the inbox ----------------------------------------------------------------------------
    @pages.get("/")
    def inbox(request: Request) -> Response:
        page = page_of(request)
        principal = _signed_in(page)
        if isinstance(principal, Response):
            return principal
        scope = Scope.of(principal)
        try:
            number = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            number = 1
        found = page.engine.alert_service.inbox(InboxQuery(
            today(), agencies=None if scope.province else (str(scope.agency),),
            province=scope.province, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE))
        page.engine.access_service.record_reads(
            principal, [item.span.case_id for item in found.items], "inbox", "dashboard")
        return page.render("inbox.html", principal=principal, nav="inbox", scope=scope, inbox=found,
                           number=number, first=(number - 1) * PAGE_SIZE + 1,
                           last=(number - 1) * PAGE_SIZE + len(found.items),
                           more=number * PAGE_SIZE < found.total)

    # --- the overdue board --------------------------------------------------------------------
    @pages.get("/overdue")
    def overdue(request: Request) -> Response:
        page = page_of(request)
        principal = _signed_in(page)
        if isinstance(principal, Response):
            return principal
        report = _report(page.engine, Scope.of(principal))
        return page.render("overdue.html", principal=principal, report=report, nav="overdue",
                           bucket_labels=[LABELS[page.lang].bucket[b] for b in BUCKETS],
                           chart=Markup(chart_svg(report, page.lang)))

    # --- a case -------------------------------------------------------------------------------
    def readable(page: _Page, principal: Principal, case_id: int) -> Case | Response:
        try:
            case = page.engine.get(case_id)
        except CaseNotFound:
            return page.render("message.html", 404, principal=principal,
                               heading=page.w["not_found_title"],
                               message=page.t("not_found", id=case_id))
        if not principal.may_read(case):
            return page.render("message.html", 403, principal=principal,
                               heading=page.w["forbidden_title"],
                               message=page.t("forbidden", message=principal.describe()))
        return case

    @pages.get("/cases/{case_id}")
    def case_page(request: Request, case_id: int) -> Response:
        page = page_of(request)
        principal = _signed_in(page)
        if isinstance(principal, Response):
            return principal
        case = readable(page, principal, case_id)
        if isinstance(case, Response):
            return case
        done = request.query_params.get("done")
        definition = page.definition(case.definition, case.definition_version)
        return _case_page(page, principal, case, done=page.t(
            "done", step=page.title("trigger", done, definition))
            if done in definition.triggers else None)

    @pages.post("/cases/{case_id}/fire")
    async def fire(request: Request, case_id: int) -> Response:
        form = await request.form()
        return await run_in_threadpool(fire_step, request, case_id, form)

    def fire_step(request: Request, case_id: int, form: FormData) -> Response:
        page = page_of(request)
        principal = _signed_in(page, back=page.url(f"/cases/{case_id}"))
        if isinstance(principal, Response):
            return principal
        case = readable(page, principal, case_id)
        if isinstance(case, Response):
            return case
        trigger = str(form.get("trigger") or "")

        def given(name: str) -> str | None:
            value = str(form.get(name) or "").strip()
            return value or None

        def listed(name: str) -> list[str]:
            return [str(v) for v in form.getlist(name) if str(v).strip()]

        definition = page.definition(case.definition, case.definition_version)
        spec = definition.transitions.get((trigger, case.state))
        takes = set(spec.inputs) if spec is not None else set()
        inputs: dict[str, Any] = {}
        for name in ("explanation", "amount", "contribution_months"):
            if name in takes:
                inputs[name] = given(name)
        if "documents_needed" in takes:
            inputs["documents_needed"] = listed("documents_needed") or None
        try:
            version = int(str(form.get("version") or ""))
        except ValueError:
            return _case_page(page, principal, case, status=422,
                              refusal=page.w["refused_stale"])
        on = given("on")
        try:
            page.engine.fire(case_id, trigger, actor=principal.actor_for(case),
                             on=None if on is None else parse_date(on, "on"),
                             documents=listed("documents"), expected_version=version, **inputs)
        except WorkflowError as exc:
            return _case_page(page, principal, page.engine.get(case_id), status=status_of(exc),
                              refusal=_refusal(page, exc, definition, trigger))
        return page.redirect(f"/cases/{case_id}?done={quote(trigger)}")

    # --- alerts and reports -------------------------------------------------------------------
    @pages.get("/alerts")
    def alerts(request: Request) -> Response:
        page = page_of(request)
        principal = _signed_in(page)
        if isinstance(principal, Response):
            return principal
        scope = Scope.of(principal)
        shown = page.engine.alerts(agency=scope.agency, province=scope.province,
                                   newest_first=True, limit=ALERTS_SHOWN)
        titles = _span_titles(page, shown)
        return page.render("alerts.html", principal=principal, nav="alerts", alerts=shown, titles=titles,
                           levels=LEVELS)

    @pages.get("/reports")
    def reports(request: Request) -> Response:
        page = page_of(request)
        principal = _signed_in(page)
        if isinstance(principal, Response):
            return principal
        return page.render("reports.html", principal=principal, nav="reports", formats=FORMATS,
                           scope=Scope.of(principal))

    @pages.get("/reports/overdue.{fmt}")
    def report_file(request: Request, fmt: str) -> Response:
        page = page_of(request)
        principal = _signed_in(page)
        if isinstance(principal, Response):
            return principal
        if fmt not in FORMATS:
            return page.render("message.html", 404, principal=principal,
                               heading=page.w["not_found_title"], message=fmt)
        report = _report(page.engine, Scope.of(principal))
        with tempfile.TemporaryDirectory(prefix="sstransfer-report-") as folder:
            path = write_report(report, fmt, Path(folder) / f"overdue.{fmt}", lang=page.lang)
            content = path.read_bytes()
        page.engine.access_service.record_reads(
            principal, [line.case_id for line in report.lines()], "report", "dashboard")
        name = f"overdue-{report.as_of.isoformat()}-{page.lang}.{fmt}"
        response = Response(content, media_type=_MEDIA[fmt], headers={
            **_PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'})
        page.remember(response)
        return response

    return pages


def _span_titles(page: _Page, alerts: Iterable[Any]) -> dict[int, str]:
    """The title of each alert's span, from its case's definition (one read per case)."""
    titles: dict[int, str] = {}
    cases: dict[int, Case | None] = {}
    for a in alerts:
        if a.case_id not in cases:
            try:
                cases[a.case_id] = page.engine.get(a.case_id)
            except CaseNotFound:  # pragma: no cover - alerts outlive no case
                cases[a.case_id] = None
        case = cases[a.case_id]
        if a.span_id is None:  # an advisory of the case, not of one span
            titles[a.id] = page.w.get(f"advisory_{a.subject}", a.subject)
        else:
            titles[a.id] = a.subject if case is None else page.title(
                "span", a.subject, page.definition(case.definition, case.definition_version))
    return titles

__all__ = ["LANG_COOKIE", "Scope", "router"]
