"""The request's engine, authenticated principal and desk (FastAPI dependencies)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

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


# The dependencies are coroutines that do no I/O (a token not kept in the principal cache is
# looked up in the thread pool), each taking the request alone: FastAPI runs a synchronous
# dependency in a thread (a hop each) and solves every sub-dependency's parameters apart.
async def _engine(request: Request) -> Engine:
    return get_engine(request)


async def get_principal(request: Request) -> Principal:
    """The caller, from their credential (401 without a valid one)."""
    return await principal_of(request.scope, get_engine(request), bearer(request))


async def principal_of(scope: Scope, engine: Engine, credential: str | None) -> Principal:
    """The principal of a request's credential, authenticated once per request (kept in the
    request's state) and at most once per ``[api] token_cache_seconds`` per token: a kept
    one is taken without leaving the event loop."""
    state = scope.setdefault("state", {})
    found: Principal | None = state.get("principal")
    if found is None:
        found = engine.access_service.kept_principal(credential)
    if found is None:
        found = await run_in_threadpool(engine.authenticate, credential)
    state["principal"] = found
    return found


async def get_desk(request: Request) -> Desk:
    """The caller's desk: every read scoped and logged, every step as their actor."""
    engine = get_engine(request)
    principal = await principal_of(request.scope, engine, bearer(request))
    return engine.desk(principal, via="api")


EngineDep = Annotated[Engine, Depends(_engine)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
DeskDep = Annotated[Desk, Depends(get_desk)]
