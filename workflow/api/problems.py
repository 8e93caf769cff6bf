"""Each refusal of the engine as one HTTP status and a JSON body with a stable ``code``.

The body is ``{"code": ..., "message": str(error), "details": {...}}``: the code is the
error's class name in snake case (``missing_documents``), stable across releases; the details
are what a screen needs to help (missing document kinds, allowed triggers, ...).
"""

from __future__ import annotations

import re
from typing import Any

from .. import errors as e

#: The HTTP status of each refusal (the most specific class listed wins).
STATUS: dict[type[e.WorkflowError], int] = {
    e.InvalidInput: 422,
    e.InvalidRow: 422,
    e.CaseNotFound: 404,
    e.InvalidTransition: 409,
    e.MissingDocuments: 422,
    e.NotPermitted: 403,
    e.NotAuthenticated: 401,
    e.ConcurrentUpdate: 409,
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


def code_of(error: e.WorkflowError) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def status_of(error: e.WorkflowError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def details_of(error: e.WorkflowError) -> dict[str, Any]:
    """What a client needs besides the message, by kind of refusal."""
    if isinstance(error, e.MissingDocuments):
        return {"trigger": error.trigger, "missing": list(error.kinds)}
    if isinstance(error, e.InvalidTransition):
        return {"case_id": error.case_id, "trigger": error.trigger, "state": error.state,
                "allowed": list(error.allowed)}
    if isinstance(error, e.ConcurrentUpdate):
        return {"case_id": error.case_id, "expected_version": error.expected_version}
    if isinstance(error, e.CaseNotFound):
        return {"case_id": error.case_id}
    if isinstance(error, e.InvalidRow):
        return {"line": error.line, "error": {"code": code_of(error.error)
                                              if isinstance(error.error, e.WorkflowError)
                                              else "invalid_input", "message": str(error.error)}}
    if isinstance(error, e.RateLimited):
        return {"retry_after": error.retry_after}
    details: dict[str, Any] = {}
    for name in ("may_act", "roles", "agencies"):
        if hasattr(error, name):
            details[name] = getattr(error, name)
    return details


def problem(error: e.WorkflowError) -> tuple[int, dict[str, Any]]:
    return status_of(error), {"code": code_of(error), "message": str(error),
                              "details": details_of(error)}
