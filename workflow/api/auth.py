"""The request's engine, authenticated principal and desk (FastAPI dependencies)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from ..core.access import Principal
from ..desk import Desk
from ..engine import Engine

#: The dashboard's sign-in: this cookie holds a server-side session's random id (HttpOnly,
#: SameSite=Strict), never the token signed in with.
SESSION_COOKIE = "sstransfer_session"
#: Before signing in: the sign-in form's own form token (checked against the form's field).
SIGNIN_COOKIE = "sstransfer_signin"


#: The API's security scheme in its OpenAPI description (so /docs's "Authorize" sends it);
#: the credential itself is read by :func:`bearer` and checked by :func:`get_principal`.
API_TOKEN = HTTPBearer(auto_error=False, scheme_name="token", description=(
    "An API token (`sstransfer tokens create`) or an identity token (JWT) of the agency's "
    "identity provider"))


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def bearer(request: Request) -> str | None:
    """The API credential of a request: ``Authorization: Bearer <token>`` only. The API never
    takes the dashboard's cookie, which a browser would send on its own."""
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip()
    return None


def get_principal(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> Principal:
    """The caller, from their credential (401 without a valid one)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is None:
        cached = engine.authenticate(bearer(request))
        request.state.principal = cached
    return cached


def get_desk(engine: Annotated[Engine, Depends(get_engine)],
             principal: Annotated[Principal, Depends(get_principal)]) -> Desk:
    """The caller's desk: every read scoped and logged, every step as their actor."""
    return engine.desk(principal, via="api")


EngineDep = Annotated[Engine, Depends(get_engine)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
DeskDep = Annotated[Desk, Depends(get_desk)]
