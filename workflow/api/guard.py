"""The door before the routes: a request's credential is checked before its body is read,
and no body is read beyond its cap.

FastAPI reads and parses a route's body before it resolves the route's dependencies (the
authentication among them), so without this anyone could make the server hold a body of any
size. This ASGI middleware, for every request that carries a body:

- under the JSON API, authenticates its bearer credential first (the principal is kept for
  the route: one authentication per request) and answers 401 without reading the body;
- answers 413 at once when ``Content-Length`` is over the cap, and stops reading a body
  sent without one (chunked) as soon as it passes the cap: ``[api] max_body_bytes`` for
  JSON and forms, ``max_import_bytes`` for a CSV import.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..engine import Engine
from ..errors import NotAuthenticated
from .auth import principal_of
from .problems import BODY_METHODS, PROBLEM_MEDIA, problem_of, problem_response
from .routes import API_PREFIX

IMPORT_PATH = f"{API_PREFIX}/cases/import"


class BodyGuard:
    """Authenticate before reading (the JSON API) and cap every body."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app, self.engine = app, engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        settings = self.engine.settings
        cap = settings.max_import_bytes if path == IMPORT_PATH else settings.max_body_bytes
        headers = _headers(scope, _GUARD_HEADERS)
        if path.startswith(API_PREFIX + "/") and not await self._authenticated(
                scope, headers.get(b"authorization"), send):
            return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await _too_large(scope, send, cap)
            return
        body = _CappedBody(scope, receive, send, cap)
        await self.app(scope, body.receive, body.send)

    async def _authenticated(self, scope: Scope, authorization: str | None,
                             send: Send) -> bool:
        """Authenticate the bearer credential and keep the principal for the route; else
        answer 401 (the body unread) and say so."""
        try:
            await principal_of(scope, self.engine, _bearer(authorization))
        except NotAuthenticated as exc:
            await problem_response(exc, HTTPConnection(scope))(scope, _no_body, send)
            return False
        return True


class _CappedBody:
    """A request's receive and send, read up to ``cap`` bytes: past it, 413 is answered and
    the route is told the client has gone (whatever it answers then is dropped)."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        self.scope, self._receive, self._send, self.cap = scope, receive, send, cap
        self.seen, self.refused, self.started = 0, False, False

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.cap:
                self.refused = True
                if not self.started:
                    await _too_large(self.scope, self._send, self.cap)
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


class SameOrigin:
    """Pages and their forms are ours only: every response may not be framed by another site
    (``X-Frame-Options: DENY``, ``frame-ancestors 'none'``; the API's /docs too), and a
    state-changing request from a browser (a POST of the dashboard or the progress page)
    whose ``Origin`` (else ``Referer``) is another site is refused with 403 before it is
    read. Requests without either (scripts, curl with a token) are not browsers' and pass;
    the JSON API takes no cookie, so no other site can act with a user's session there. The
    API's answers are not kept by caches (``Cache-Control: no-store``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The progress page rides on no session (its form carries the credential) and sends
        # no referrer, so its browsers' Origin is "null": it is not checked.
        if scope["method"] in BODY_METHODS and not scope["path"].startswith("/progress") \
                and not _same_origin(scope):
            await _cross_site(scope, send)
            return

        private = scope["path"].startswith("/api/")

        async def framed(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [h for h in _FRAMING if h[0] not in names]
                if private and b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))  # the API's answers name people
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, framed)


_FRAMING = [(b"x-frame-options", b"DENY"),
            (b"content-security-policy", b"frame-ancestors 'none'")]


async def _cross_site(scope: Scope, send: Send) -> None:
    """403 to a request from another site's page: under the JSON API a problem, as its
    schema documents every 403 (``cross_site_request``); a page's text elsewhere."""
    if scope["path"].startswith(API_PREFIX + "/"):
        answer = problem_of("cross_site_request", 403,
                            "a request from another site's page is refused", {},
                            HTTPConnection(scope))
        body, media = answer.body, PROBLEM_MEDIA.encode()
    else:
        body, media = b"cross-site request refused", b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", media), (b"content-length", str(len(body)).encode()), *_FRAMING]})
    await send({"type": "http.response.body", "body": body})


def _same_origin(scope: Scope) -> bool:
    """Whether a request's ``Origin`` (else ``Referer``) names this server (scheme, host and
    port as the request reached it), or names nothing."""
    headers = _headers(scope, _ORIGIN_HEADERS)
    claimed = headers.get(b"origin") or headers.get(b"referer")
    if claimed is None:
        return True
    host = headers.get(b"host")
    if host is None or claimed == "null":
        return False
    scheme = str(scope.get("scheme", "http"))
    own = f"{scheme}://{host}"
    return claimed == own or claimed.startswith(own + "/")


_GUARD_HEADERS = frozenset({b"authorization", b"content-length"})
_ORIGIN_HEADERS = frozenset({b"origin", b"referer", b"host"})


def _headers(scope: Scope, names: frozenset[bytes]) -> dict[bytes, str]:
    """The request's headers of these (lower-case) names, each's first value (as Starlette's
    ``Headers.get`` gives it to the routes): one pass over the raw headers, decoding only
    these."""
    found: dict[bytes, str] = {}
    for key, value in scope["headers"]:
        key = key.lower()
        if key in names and key not in found:
            found[key] = value.decode("latin-1")
    return found


def _bearer(value: str | None) -> str | None:
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _too_large(scope: Scope, send: Send, cap: int) -> None:
    answer = problem_of("payload_too_large", 413, f"the request body is larger than {cap} bytes",
                        {"max_bytes": cap}, HTTPConnection(scope))
    body = bytes(answer.body)
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", PROBLEM_MEDIA.encode()), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), *((k, v) for k, v in answer.raw_headers
                                     if k in (b"content-language", b"vary"))]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["BodyGuard", "SameOrigin"]
