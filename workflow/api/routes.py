"""The JSON API (``/api/v1``): everything the Python API does, as the authenticated actor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field

from ..core.views import Case
from .auth import EngineDep, PrincipalDep


class FireRequest(BaseModel):
    trigger: str
    on: str | None = None
    documents: list[str] = Field(default_factory=list)
    explanation: str | None = None
    documents_needed: list[str] | None = None
    amount: str | None = None
    contribution_months: int | None = None


def _etag(case: Case) -> str:
    return f'"{case.id}-{case.version}"'


def _version_of(if_match: str | None) -> int | None:
    """The case version an ``If-Match`` ETag names (``"<id>-<version>"``)."""
    if if_match is None:
        return None
    from ..errors import InvalidInput

    try:
        return int(if_match.strip().strip('"').rsplit("-", 1)[1])
    except (IndexError, ValueError):
        raise InvalidInput(f"If-Match must be an ETag this API gave, not {if_match!r}") from None


def router() -> APIRouter:
    """The API's routes; mount them in a host FastAPI app with ``app.include_router``
    (the host app must set ``app.state.engine``)."""
    api = APIRouter(prefix="/api/v1", tags=["cases"])

    @api.get("/cases/{case_id}")
    def get_case(case_id: int, engine: EngineDep, principal: PrincipalDep,
                 response: Response) -> dict[str, Any]:
        case = engine.get(case_id)
        principal.check_read(case)
        engine.access_service.record_reads(principal, [case.id], "case", "api")
        response.headers["ETag"] = _etag(case)
        return case.to_dict()

    @api.post("/cases/{case_id}/fire")
    def fire(case_id: int, body: FireRequest, engine: EngineDep, principal: PrincipalDep,
             response: Response, if_match: str | None = Header(default=None),
             idempotency_key: str | None = Header(default=None)) -> dict[str, Any]:
        from ..core.rules import parse_date

        current = engine.get(case_id)
        principal.check_read(current)
        case = engine.fire(
            case_id, body.trigger, actor=principal.actor_for(current),
            on=None if body.on is None else parse_date(body.on, "on"),
            documents=body.documents, expected_version=_version_of(if_match),
            explanation=body.explanation, documents_needed=body.documents_needed,
            amount=body.amount, contribution_months=body.contribution_months,
            idempotency_key=idempotency_key)
        response.headers["ETag"] = _etag(case)
        return case.to_dict()

    return api
