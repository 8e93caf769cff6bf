"""The request's engine, authenticated principal and desk (FastAPI dependencies)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..core.access import Principal
from ..desk import Desk
from ..engine import Engine

#: The dashboard keeps the signed-in token in this cookie (HttpOnly, SameSite=Strict).
TOKEN_COOKIE = "sstransfer_token"


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


def signed_in_token(request: Request) -> str | None:
    """The dashboard's credential: its sign-in cookie, else a bearer header."""
    return request.cookies.get(TOKEN_COOKIE) or bearer(request)


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
