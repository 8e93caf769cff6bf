"""Each refusal of the engine as one HTTP status and a JSON body with a stable ``code``.

The body is ``{"code": ..., "message": str(error), "details": {...}}``: the code is the
error's class name in snake case (``missing_documents``), stable across releases; the details
are what a screen needs to help (missing document kinds, allowed triggers, who may act, ...).
A request FastAPI cannot read (a missing field, a malformed number) comes back in the same
shape, as ``invalid_input`` with the fields at fault in ``details.errors``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from .. import errors as e

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


class Problem(BaseModel):
    """Why a request was refused: a stable ``code``, the message, and what helps to fix it."""

    code: str = Field(examples=["missing_documents"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


#: The refusals every route may answer, for the OpenAPI schema.
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no valid credential (`not_authenticated`)"},
    403: {"model": Problem, "description": "the principal may not (`not_permitted`; "
                                           "`details.may_act` names who may)"},
    422: {"model": Problem, "description": "invalid input (`invalid_input`, "
                                           "`missing_documents`, `invalid_row`, ...)"},
}
#: A route naming a row (a path parameter, or a case to filter by) may find none.
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such case, paper, definition, event or "
                                           "subscription the principal may read "
                                           "(`case_not_found`, `not_found`, ...)"}}
#: A step on a case may be refused by the case's state or version.
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "the case is not in a state for it "
                                           "(`invalid_transition`) or has moved on since the "
                                           "`If-Match` version (`concurrent_update`)"}}
#: Opening a case may find the person's transfer of that insurance already running.
RUNNING: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "the person already has a running transfer of "
                                           "this insurance (`transfer_already_running`; "
                                           "`details.public_number` names the running case)"}}
#: Every request with a body is read up to a cap (:class:`~workflow.api.guard.BodyGuard`).
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": Problem, "description": "the body is larger than `[api] max_body_bytes` "
                                           "(`max_import_bytes` for an import): "
                                           "`payload_too_large`"}}
#: The methods whose requests carry a body.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def code_of(error: e.WorkflowError) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def status_of(error: e.WorkflowError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


#: The details of the refusals that carry plain values, by kind: their attributes' names.
_DETAILS: dict[type[e.WorkflowError], tuple[str, ...]] = {
    e.ConcurrentUpdate: ("case_id", "expected_version"),
    e.CaseNotFound: ("case_id",),
    e.PaperNotFound: ("paper_id",),
    e.RateLimited: ("retry_after",),
    # the running case: its public number, state and agencies (never the ID number)
    e.TransferAlreadyRunning: ("insurance", "public_number", "state", "origin", "destination"),
}


def details_of(error: e.WorkflowError) -> dict[str, Any]:
    """What a client needs besides the message, by kind of refusal."""
    if isinstance(error, e.MissingDocuments):
        return {"trigger": error.trigger, "missing": list(error.kinds)}
    if isinstance(error, e.InvalidTransition):
        return {"case_id": error.case_id, "trigger": error.trigger, "state": error.state,
                "allowed": list(error.allowed)}
    for kind, names in _DETAILS.items():
        if isinstance(error, kind):
            return {name: getattr(error, name) for name in names}
    if isinstance(error, e.InvalidRow):
        inner = error.error
        return {"line": error.line,
                "error": {"code": code_of(inner) if isinstance(inner, e.WorkflowError)
                          else "invalid_input", "message": str(inner),
                          "details": details_of(inner) if isinstance(inner, e.WorkflowError)
                          else {}}}
    if isinstance(error, e.NotPermitted):
        return {"may_act": [{"role": role, "agency": agency} for role, agency in error.may_act]}
    if isinstance(error, e.DefinitionError):
        return {"path": error.path, "line": error.line}
    return {}


def problem(error: e.WorkflowError) -> tuple[int, dict[str, Any]]:
    return status_of(error), {"code": code_of(error), "message": str(error),
                              "details": details_of(error)}


def problem_response(error: e.WorkflowError) -> JSONResponse:
    """The HTTP response of a refusal (401 says ``WWW-Authenticate``, 429 ``Retry-After``)."""
    status, body = problem(error)
    headers = None
    if isinstance(error, e.RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
    elif status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse(body, status_code=status, headers=headers)


def validation_response(error: RequestValidationError) -> JSONResponse:
    """A request FastAPI could not read, as ``invalid_input`` naming each field at fault."""
    found = [{"field": ".".join(str(part) for part in err.get("loc", ())),
              "message": str(err.get("msg", "")), "type": str(err.get("type", ""))}
             for err in error.errors()]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in found) or "invalid request"
    return JSONResponse({"code": "invalid_input", "message": message,
                         "details": {"errors": found}}, status_code=422)


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

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except e.WorkflowError as error:
                return problem_response(error)
            except RequestValidationError as error:
                return validation_response(error)
            except HTTPException as error:
                if error.status_code != 400:
                    raise
                # FastAPI's answer to a body it cannot decode (not UTF-8, a broken form):
                # a request it cannot read, as every other one.
                return JSONResponse({"code": "invalid_input", "message": "the request body "
                                     "cannot be read: JSON in UTF-8, or a well-formed form",
                                     "details": {"errors": []}}, status_code=422)

        return answer


__all__ = [
    "BODY_METHODS",
    "CONFLICT",
    "NOT_FOUND",
    "RESPONSES",
    "RUNNING",
    "STATUS",
    "TOO_LARGE",
    "Problem",
    "ProblemRoute",
    "check_known_query",
    "code_of",
    "details_of",
    "problem",
    "problem_response",
    "status_of",
    "validation_response",
]
