"""The person's progress page (转移进度查询): the insured person enters the public case
number (业务流水号, on every paper and notice) and their ID number and, when both match,
sees the steps done, the step now running, the agency that holds it and its due date, why
an application was refused and which documents the agency still needs: nothing else (no
name, no amounts, none of the agencies' papers), the ID number masked.

A mismatch, an unknown case number and a malformed number all get the same page, so that it
says nothing about whether a case exists, and each counts as a failed try. Tries are limited
per client address, and wrong ID numbers for one case number make that client wait longer
each time, never locking the case for its owner (``engine.progress_desk()``; a refused try
is a 429 page with ``Retry-After``). Every successful view is written to the access log.
Simplified Chinese first, ``?lang=en`` for English; no JavaScript.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader

from ..core.inputs import today
from ..core.words import LANGUAGES
from ..desk import CaseFile
from ..engine import Engine
from ..errors import RateLimited
from ..i18n import format_date, install, words
from .auth import EngineDep

#: Longest input read from the form; anything longer is a mismatch, not an error page.
_FIELD_MAX = 64

#: Personal data: never cached or sent on as a referrer; no scripts, no frames.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}

_templates = Environment(loader=PackageLoader("workflow.api", "templates"), autoescape=True,
                         trim_blocks=True, lstrip_blocks=True)
install(_templates)


@dataclasses.dataclass(frozen=True)
class DoneStep:
    title: str
    on: str


@dataclasses.dataclass(frozen=True)
class RunningStep:
    title: str
    agency_name: str
    agency_code: str
    committed_due: str | None
    statutory_due: str
    #: Past the date it is judged by (the committed one where there is one) today.
    late: bool = False
    #: The person's own duty (the three-month premium window), not an agency's step.
    own_duty: bool = False


@dataclasses.dataclass(frozen=True)
class Progress:
    """All the page shows of a case: nothing else of it reaches the template."""

    case_number: str  # the public case number, never the internal id
    person_id_masked: str
    insurance: str  # 养老保险 / 医疗保险
    route: str  # 由上海市（310000）转至深圳市（440300）
    done: tuple[DoneStep, ...]
    running: tuple[RunningStep, ...]
    state: str  # the current state's title, for when no step is running
    finished: bool
    #: Why the application was refused, as the agency wrote it (a rejected case only).
    refusal: str | None = None
    #: What the agency asked for that the person has not brought yet, by the documents' names.
    missing: tuple[str, ...] = ()


def progress_of(engine: Engine, found: CaseFile, lang: str) -> Progress:
    """The progress of a case as the page shows it, titles and agency names in ``lang``."""
    case = found.case
    definition = engine.definition(case.definition, case.definition_version)
    done = tuple(
        DoneStep(definition.title("state", h.to_state, lang), format_date(h.business_date, lang))
        for h in found.history
        # Steps that change the state; attaching documents or correcting a date is no step.
        if h.from_state != h.to_state)
    on = today()
    running = tuple(
        RunningStep(definition.title("span", s.name, lang),
                    engine.divisions.name_of(s.owner_agency) or s.owner_agency, s.owner_agency,
                    None if s.committed_due_on is None else format_date(s.committed_due_on, lang),
                    format_date(s.due_on, lang), (s.committed_due_on or s.due_on) < on,
                    s.owner == "person")
        for s in found.spans if s.ended_on is None)
    w = words(lang)

    def place(code: str) -> str:
        name = engine.divisions.name_of(code) or code
        return f"{name}（{code}）" if lang == "zh" else f"{name} ({code})"

    route = w.text("progress_route_text", origin=place(case.origin),
                   destination=place(case.destination))
    # The written explanation is kept as the refusing step's comment.
    refusal = next((h.comment for h in reversed(found.history)
                    if h.to_state == "rejected" and h.from_state != h.to_state), None)
    held = set(case.documents)
    missing = tuple(definition.catalogue.title(k, lang) for k in case.requested_documents
                    if k not in held and k in definition.catalogue.kinds)
    return Progress(case.public_number, case.person_id_masked,
                    w[f"insurance_{case.insurance}"], route, done, running,
                    definition.title("state", case.state, lang),
                    case.state in definition.final_states,
                    refusal if case.state == "rejected" else None, missing)


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", LANGUAGES[0])
    return lang if lang in LANGUAGES else LANGUAGES[0]


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _page(request: Request, status: int = 200, headers: dict[str, str] | None = None,
          **context: Any) -> HTMLResponse:
    lang = _lang(request)
    other = "en" if lang == "zh" else "zh"
    html = _templates.get_template("progress.html").render(
        lang=lang, switch_url=f"?lang={other}", action=f"?lang={lang}",
        **context)
    return HTMLResponse(html, status_code=status, headers={**_HEADERS, **(headers or {})})


#: The progress page's routes (``/progress``); the host app sets ``app.state.engine``.
pages = APIRouter(tags=["progress"], include_in_schema=False)


def router() -> APIRouter:
    """The progress page's routes, to mount in a host app."""
    return pages


@pages.get("/progress", response_class=HTMLResponse)
def form(request: Request) -> HTMLResponse:
    return _page(request)


@pages.post("/progress", response_class=HTMLResponse)
def look_up(request: Request, engine: EngineDep, case_number: Annotated[str, Form()] = "",
            person_id: Annotated[str, Form()] = "") -> HTMLResponse:
    try:
        found = engine.progress_desk().look_up(
            _client(request), case_number[:_FIELD_MAX + 1],
            person_id if len(person_id) <= _FIELD_MAX else "")
    except RateLimited as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        return _page(request, 429, {"Retry-After": str(exc.retry_after)},
                     error=words(_lang(request)).text("progress_rate_limited",
                                                      minutes=minutes))
    if found is None:
        return _page(request, error=words(_lang(request))["progress_no_match"])
    return _page(request, progress=progress_of(engine, found, _lang(request)))


__all__ = ["Progress", "progress_of", "router"]
