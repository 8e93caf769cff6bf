"""Each refusal of the engine as one HTTP status and an RFC 9457 problem detail.

The body (``application/problem+json``) has the members of RFC 9457 -- ``type`` (a URN of
the kind of refusal), ``title``, ``status``, ``detail`` and ``instance`` (the path asked
for) -- and the API's own: ``code``, the error's stable kind in English snake case
(``missing_documents``); ``message``, the engine's English words (for developers and logs);
``details``, what a screen needs to help (missing document kinds, allowed triggers, who may
act, the ``field`` at fault, ...). ``title`` and ``detail`` are for people: in the language
of ``Accept-Language`` (Chinese unless English is asked for), from the message catalogues.
A request FastAPI cannot read (a missing field, a malformed number) comes back in the same
shape, as ``invalid_input`` with the fields at fault in ``details.errors``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from .. import errors as e
from .. import i18n

#: The HTTP status of each refusal (the most specific class listed wins).
STATUS: dict[type[e.WorkflowError], int] = {
    e.InvalidInput: 422,
    e.InvalidRow: 422,
    e.CaseNotFound: 404,
    e.PaperNotFound: 404,
    e.NotFound: 404,
    e.DefinitionNotFound: 404,
    e.InvalidTransition: 409,
    e.MissingDocuments: 422,
    e.NotPermitted: 403,
    e.NotAuthenticated: 401,
    e.ConcurrentUpdate: 409,
    e.TransferAlreadyRunning: 409,
    e.RateLimited: 429,
    e.DefinitionError: 422,
    e.SettingsError: 500,
    e.DefinitionChanged: 409,
    e.SchemaMismatch: 503,
    e.StorageUnavailable: 503,
    e.StorageBusy: 503,
    e.LeaseLost: 409,
    e.OutdatedLibrary: 500,
}


#: The media type of every refusal (RFC 9457).
PROBLEM_MEDIA = "application/problem+json"
#: A refusal's ``type``: this prefix and its code.
TYPE_PREFIX = "urn:sstransfer:problem:"


class Problem(BaseModel):
    """Why a request was refused (RFC 9457): its kind, in words for people in the language of
    ``Accept-Language``, a stable ``code``, the engine's English ``message`` and what helps to
    fix it (``details``)."""

    type: str = Field(examples=[f"{TYPE_PREFIX}missing_documents"],
                      description="the kind of refusal, a URN ending in its code")
    title: str = Field(examples=["缺少材料"], description="the kind of refusal in words "
                       "(the language of Accept-Language; Chinese by default)")
    status: int = Field(examples=[422])
    detail: str = Field(examples=["「审核」还缺以下材料：参保缴费凭证。"],
                        description="this refusal in words (the language of Accept-Language)")
    instance: str = Field(examples=["/api/v1/cases/7/fire"], description="the path refused")
    code: str = Field(examples=["missing_documents"], description="the kind of refusal, "
                      "stable across releases (English snake case)")
    message: str = Field(description="the engine's own words, in English, for developers")
    details: dict[str, Any] = Field(default_factory=dict)


def _refusal(description: str) -> dict[str, Any]:
    """An OpenAPI response of the refusals: a :class:`Problem` as ``application/problem+json``
    (the model registers its schema; :func:`problem_media_only` drops the JSON twin)."""
    return {"model": Problem, "description": description, "content": {
        PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


#: The refusals every route may answer, for the OpenAPI schema.
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _refusal("no valid credential (`not_authenticated`)"),
    403: _refusal("the principal may not (`not_permitted`; `details.may_act` names who may)"),
    422: _refusal("invalid input (`invalid_input`, with the `field` at fault in `details`; "
                  "`missing_documents`, `invalid_row`, ...)"),
}
#: A route naming a row (a path parameter, or a case to filter by) may find none.
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _refusal("no such case, paper, definition, event or subscription the principal may "
                  "read (`case_not_found`, `not_found`, ...)")}
#: A step on a case may be refused by the case's state or version.
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _refusal("the case is not in a state for it (`invalid_transition`) or has moved on "
                  "since the `If-Match` version (`concurrent_update`)")}
#: Opening a case may find the person's transfer of that insurance already running.
RUNNING: dict[int | str, dict[str, Any]] = {
    409: _refusal("the person already has a running transfer of this insurance "
                  "(`transfer_already_running`; `details.public_number` names the running "
                  "case)")}
#: Every request with a body is read up to a cap (:class:`~workflow.api.guard.BodyGuard`).
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: _refusal("the body is larger than `[api] max_body_bytes` (`max_import_bytes` for an "
                  "import): `payload_too_large`")}
#: The methods whose requests carry a body.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def status_of(error: e.WorkflowError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def language_of(connection: HTTPConnection | None) -> str:
    """The language people's words are answered in: ``Accept-Language``'s (zh by default)."""
    header = connection.headers.get("accept-language") if connection is not None else None
    return i18n.negotiate(header)


class ProblemResponse(JSONResponse):
    """A refusal: its body a :class:`Problem`, its media type ``application/problem+json``,
    its words' language said in ``Content-Language``."""

    media_type = PROBLEM_MEDIA


def problem_body(code: str, status: int, message: str, details: dict[str, Any], *,
                 lang: str, instance: str, detail: str | None = None) -> dict[str, Any]:
    """The members of a refusal (:class:`Problem`); ``detail`` by default the kind's words."""
    w = i18n.words(lang)
    if detail is None:
        detail = w.text(f"error_{code}", **details) if f"error_{code}" in w else message
    return {"type": f"{TYPE_PREFIX}{code}", "title": i18n.title(code, lang), "status": status,
            "detail": detail,
            "instance": instance, "code": code, "message": message, "details": details}


def problem_of(code: str, status: int, message: str, details: dict[str, Any],
               connection: HTTPConnection | None, *, detail: str | None = None,
               headers: Mapping[str, str] | None = None) -> ProblemResponse:
    """The response refusing ``connection``'s request (in its language)."""
    lang = language_of(connection)
    body = problem_body(code, status, message, details, lang=lang, detail=detail,
                        instance=connection.url.path if connection is not None else "")
    return ProblemResponse(body, status_code=status, headers={
        **(headers or {}), "Content-Language": i18n.words(lang)["html_lang"],
        "Vary": "Accept-Language"})


def namer(error: e.WorkflowError, connection: HTTPConnection | None,
          lang: str) -> i18n.Namer | None:
    """How a refusal names what it is about, from the app's engine: documents by the
    catalogue's names, steps and states by the titles of the refusal's definition (else of
    the latest version that titles them), agencies by code and GB/T 2260 name; None outside
    an app with an engine."""
    app = connection.scope.get("app") if connection is not None else None
    engine: Any = getattr(getattr(app, "state", None), "engine", None)
    if engine is None:
        return None
    found = engine.definitions
    latest = [engine.definition(*error.definition)] if error.definition is not None \
        else [found.latest(n) for n in found.names()]
    w = i18n.words(lang)

    def name(kind: str, value: str) -> str:
        if kind == "document" and value in found.catalogue.kinds:
            return str(found.catalogue.title(value, lang))
        if kind in ("trigger", "state"):
            titles = (d.title(kind, value, lang) for d in latest)
            return next((t for t in titles if t != value), w.get(f"{kind}_{value}", value))
        if kind == "agency":
            agency = engine.divisions.name_of(value)
            return f"{value} {agency}" if agency else value
        return w.get(f"{kind}_{value}", value)

    return name


def problem_response(error: e.WorkflowError,
                     connection: HTTPConnection | None = None) -> ProblemResponse:
    """The HTTP response of a refusal (401 says ``WWW-Authenticate``, 429 ``Retry-After``),
    its words in the language of the request's ``Accept-Language``."""
    status = status_of(error)
    headers = None
    if isinstance(error, e.RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
    elif status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    lang = language_of(connection)
    return problem_of(error.code, status, str(error), error.params, connection,
                      detail=i18n.explain(error, lang, namer(error, connection, lang)), headers=headers)


def validation_response(error: RequestValidationError,
                        connection: HTTPConnection | None = None) -> ProblemResponse:
    """A request FastAPI could not read, as ``invalid_input`` naming each field at fault
    (``details.errors``; the first in ``details.field``)."""
    found = [{"field": ".".join(str(part) for part in err.get("loc", ())),
              "message": str(err.get("msg", "")), "type": str(err.get("type", ""))}
             for err in error.errors()]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in found) or "invalid request"
    details: dict[str, Any] = {"errors": found}
    if found:
        details["field"] = found[0]["field"]
    w = i18n.words(language_of(connection))
    unknown = [f["field"].removeprefix("query.") for f in found
               if f["type"] == "extra_forbidden" and f["field"].startswith("query.")]
    if unknown and len(unknown) == len(found):  # query parameters the route does not take
        detail = w.plural("error_unknown_query", len(unknown),
                          fields=w["list_and"].join(unknown))
    else:
        detail = w.text("error_invalid_request",
                        fields=w["list_and"].join(f["field"] for f in found))
    return problem_of("invalid_input", 422, message, details, connection, detail=detail)


def problem_media_only(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI schema whose refusals are documented as ``application/problem+json`` only
    (FastAPI adds an ``application/json`` twin for a response's model)."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for answer in operation.get("responses", {}).values() if isinstance(
                    operation, dict) else ():
                content = answer.get("content", {})
                if PROBLEM_MEDIA in content:
                    content.pop("application/json", None)
    return schema


def _query_names(dependant: Dependant) -> frozenset[str]:
    """The names of the query parameters a route reads (a model of them: its fields')."""
    names: set[str] = set()
    for param in dependant.query_params:
        kind = param.field_info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names.update(field.alias or name for name, field in kind.model_fields.items())
        else:
            names.add(param.alias)
    for inner in dependant.dependencies:
        names |= _query_names(inner)
    return frozenset(names)


def check_known_query(request: Request) -> None:
    """Refuse a query parameter the request's route does not take, as ``invalid_input``
    naming it, never ignore it (its value is never repeated: it may be an ID number)."""
    route = request.scope.get("route")
    known = getattr(route, "query_names", None)
    if known is None:
        dependant = getattr(route, "dependant", None)
        known = _query_names(dependant) if dependant is not None else frozenset()
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError([
            {"loc": ("query", name[:40]), "type": "extra_forbidden",
             "msg": f"unknown query parameter (this route takes: "
                    f"{', '.join(sorted(known)) or 'none'})"} for name in unknown[:10]])


#: A route's answer to a plain request (:func:`fast_path`): its response, or None when the
#: request is not plain and FastAPI's own handling is to answer it.
FastAnswer = Callable[[Request], Coroutine[Any, Any, Response | None]]
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_FAST_PATHS: dict[Callable[..., Any], FastAnswer] = {}


def fast_path(answer: FastAnswer) -> Callable[[_Endpoint], _Endpoint]:
    """Mark an endpoint as having a fast path (put it under the route's decorator): a
    :class:`ProblemRoute` first offers each request to ``answer``, which reads the request
    itself, without FastAPI's dependency solving, parameter validation and response
    validation, and returns None for any request it does not take (then FastAPI's handling
    answers, with the body already read kept). The endpoint stays what the OpenAPI schema
    documents and what answers every request the fast path leaves, refusals included; the
    fast path must answer what it takes exactly as the endpoint would."""
    def mark(endpoint: _Endpoint) -> _Endpoint:
        _FAST_PATHS[endpoint] = answer
        return endpoint

    return mark


class ProblemRoute(APIRoute):
    """A route that answers its own refusals as :class:`Problem` bodies, so that the router
    keeps its error shape when mounted in a host application with handlers of its own. It
    knows the names of its query parameters (``query_names``): :func:`check_known_query`
    refuses any other (422), never silently ignoring it.

    Its OpenAPI operation documents the refusals it may answer, decided once here rather than
    on each route: 404 when its path names a row, 409 when it takes ``If-Match``, 413 when
    its requests carry a body (the router's :data:`RESPONSES` besides)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *,
                 responses: dict[int | str, dict[str, Any]] | None = None,
                 methods: set[str] | list[str] | None = None, **kwargs: Any) -> None:
        takes = inspect.signature(endpoint).parameters
        documented: dict[int | str, dict[str, Any]] = {}
        if "{" in path:
            documented.update(NOT_FOUND)
        if "if_match" in takes:
            documented.update(CONFLICT)
        if BODY_METHODS & {m.upper() for m in methods or ()}:
            documented.update(TOO_LARGE)
        super().__init__(path, endpoint, responses={**documented, **(responses or {})},
                         methods=methods, **kwargs)
        #: The query parameters the route takes: any other is refused, never ignored.
        self.query_names = _query_names(self.dependant)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        fast = _FAST_PATHS.get(self.endpoint)

        async def answer(request: Request) -> Response:
            try:
                if fast is not None and (done := await fast(request)) is not None:
                    return done
                return await handler(request)
            except e.WorkflowError as error:
                return problem_response(error, request)
            except RequestValidationError as error:
                return validation_response(error, request)
            except HTTPException as error:
                if error.status_code != 400:
                    raise
                # FastAPI's answer to a body it cannot decode (not UTF-8, a broken form):
                # a request it cannot read, as every other one.
                return problem_of("invalid_input", 422, "the request body cannot be read: "
                                  "JSON in UTF-8, or a well-formed form", {"errors": []}, request,
                                  detail=i18n.words(language_of(request))["error_unreadable_body"])

        return answer


__all__ = ["BODY_METHODS", "CONFLICT", "NOT_FOUND", "PROBLEM_MEDIA", "RESPONSES", "RUNNING",
           "STATUS", "TOO_LARGE", "TYPE_PREFIX", "FastAnswer", "Problem", "ProblemResponse",
           "ProblemRoute", "check_known_query", "fast_path", "language_of", "namer",
           "problem_body", "problem_media_only", "problem_of", "problem_response", "status_of",
           "validation_response"]
