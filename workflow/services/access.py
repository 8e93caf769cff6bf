"""Who may use the service, and the record of who read whose case.

A request's actor is the server's word, never the caller's: it comes from an API token
(stored as its SHA-256 only) or from a JSON Web Token of the agency's identity provider,
verified against the configured key. What a principal may read is the core's rule
(:mod:`workflow.core.access`); every read is written to the access log by the desk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..core.access import (
    Principal,
    check_department_grant,
    check_grant,
    is_staff_role,
    token_departments,
)
from ..core.inputs import normalise
from ..errors import InvalidInput, NotAuthenticated, NotPermitted, RateLimited
from ..logs import get_logger
from ..ports import AccessStore
from ..records import AccessEntry, ApiToken, CaseReads, WebSession, now
from ..settings import Settings

log = get_logger("sstransfer.access")

TOKEN_PREFIX = "sst_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccessService:
    """Tokens, authentication, the access log and the progress page's rate limit."""

    def __init__(self, store: AccessStore, settings: Settings, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.settings = store, settings
        self._jwt_key: str | None = None
        #: token hash -> (principal, until when it may be used unchecked, on ``clock``)
        self._principals: dict[str, tuple[Principal, float]] = {}
        self._principals_lock = threading.Lock()
        self._clock = clock

    # --- tokens ---------------------------------------------------------------------------
    def create_token(self, actor_id: str, role: str, agency: str | None = None, *,
                     province: str | None = None, person_id: str | None = None,
                     label: str = "", token: str | None = None,
                     departments: str | Sequence[str] | None = None,
                     department_required: bool = False) -> tuple[str, ApiToken]:
        """A new API token for an actor; returns the token (shown once) and its record.

        ``departments``: a clerk's (``pension`` or ``medical``) or a supervisor's (one, or
        ``both``); ``department_required``: refuse a staff token that names none (the command
        line's rule); otherwise one without works as both, like a token made before departments.
        ``token``: use this secret instead of a random one (the demo's ready-made tokens)."""
        role, agency, province = check_grant(
            normalise(role), agency, None if province is None else normalise(province))
        granted = check_department_grant(role, departments, required=department_required)
        named = None if departments is None or not is_staff_role(role) else ",".join(granted)
        # The actor the token stands for must itself be valid (id, role, ID number).
        probe = Principal(actor_id, role, agency, province, person_id).actor_for()
        secret = token if token is not None else TOKEN_PREFIX + secrets.token_urlsafe(32)
        if len(secret) < 16:
            raise InvalidInput("a token is at least 16 characters long")
        digest = token_hash(secret)
        record = ApiToken(token_hash=digest, actor_id=probe.id, role=role, agency=agency,
                          province=province, person_id=probe.person_id, label=label,
                          departments=named, created_at=now())
        if self.store.token_by_hash(digest) is not None:
            raise InvalidInput("that token is already in use")
        token_id = self.store.insert_token(record)
        log.info("token_created", token_id=token_id, actor=probe.id, role=role, agency=agency,
                 departments=named)
        return secret, record.model_copy(update={"id": token_id})

    def tokens(self) -> list[ApiToken]:
        return self.store.tokens()

    def revoke_token(self, token_id: int) -> None:
        """Revoke a token; the dashboard sessions opened with it end with it."""
        stamp = now()
        if not self.store.revoke_token(token_id, stamp):
            raise InvalidInput(f"no live token has id {token_id}")
        with self._principals_lock:  # refused at once here; elsewhere within the cache's bound
            self._principals = {k: v for k, v in self._principals.items()
                                if v[0].token_id != token_id}
        ended = self.store.end_sessions_of_token(token_id, stamp)
        log.info("token_revoked", token_id=token_id, sessions_ended=ended)

    # --- the dashboard's sessions ---------------------------------------------------------
    def open_session(self, credential: str | None) -> tuple[str, Principal, WebSession]:
        """Sign in to the dashboard with a token: a new server-side session. Returns the
        session's random id (for the cookie; only its SHA-256 is stored), the principal and
        the session (its ``csrf`` is the form token of its pages). It ends at sign-out, after
        ``[api] session_hours`` (sooner if an identity token expires sooner), after
        ``session_idle_minutes`` unused, and when its token is revoked."""
        principal = self.authenticate(credential, fresh=True)
        stamp = now()
        expires = stamp + dt.timedelta(hours=self.settings.session_hours)
        if principal.token_id is None and credential:  # an identity token: its own expiry
            import jwt

            exp = jwt.decode(credential, options={"verify_signature": False}).get("exp")
            if isinstance(exp, int | float):
                expires = min(expires, dt.datetime.fromtimestamp(exp, dt.UTC))
        secret = secrets.token_urlsafe(32)
        session = WebSession(token_hash(secret), principal.token_id, principal.actor_id,
                             principal.role, principal.agency, principal.province,
                             secrets.token_urlsafe(32), stamp, stamp, expires)
        self.store.insert_session(session)
        log.info("session_opened", actor=principal.actor_id, role=principal.role,
                 token_id=principal.token_id)
        return secret, principal, session

    def session(self, secret: str | None) -> tuple[Principal, WebSession]:
        """The principal and session of a dashboard cookie (``NotAuthenticated`` when there
        is none, or it ended, expired, idled out or lost its token)."""
        found = None if not secret or len(secret) > 128 else self.store.live_session(
            token_hash(secret), now(), dt.timedelta(minutes=self.settings.session_idle_minutes))
        if found is None:
            raise NotAuthenticated("sign in again: the session ended or expired")
        return Principal(found.actor_id, found.role, found.agency, found.province, None,
                         found.token_id), found

    def end_session(self, secret: str | None) -> None:
        """Sign out: the session ends now (the cookie alone is worth nothing after)."""
        if secret and len(secret) <= 128:
            self.store.end_session(token_hash(secret), now())

    # --- authentication -------------------------------------------------------------------
    def authenticate(self, credential: str | None, *, fresh: bool = False) -> Principal:
        """The principal of a bearer credential: an API token, or a JWT if one is configured.

        A token's principal is kept ``[api] token_cache_seconds`` (5 s by default) in this
        process: a token revoked here is refused at once, one revoked by another process
        (another worker, the command line) at most that long after. ``fresh``: look the token
        up whatever is kept (signing in to the dashboard does)."""
        if not credential:
            raise NotAuthenticated("sign in: send 'Authorization: Bearer <token>'")
        if credential.count(".") == 2 and self.settings.jwt_key_file is not None:
            return self._from_jwt(credential)
        digest = token_hash(credential)
        stamp = self._clock()
        kept = None if fresh else self._principals.get(digest)
        if kept is not None and stamp < kept[1]:
            return kept[0]
        record = self.store.token_by_hash(digest)
        if record is None or record.revoked_at is not None:
            with self._principals_lock:
                self._principals.pop(digest, None)
            raise NotAuthenticated("the token is unknown or revoked")
        principal = Principal(record.actor_id, record.role, record.agency, record.province,
                              record.person_id, record.id, departments=token_departments(record))
        self._keep(digest, principal, stamp)
        return principal

    def kept_principal(self, credential: str | None) -> Principal | None:
        """The principal :meth:`authenticate` keeps for an API token, while it is kept (no
        I/O: a server's event loop may ask); None otherwise, and :meth:`authenticate` says."""
        if not credential or (credential.count(".") == 2 and self.settings.jwt_key_file):
            return None
        kept = self._principals.get(token_hash(credential))
        return kept[0] if kept is not None and self._clock() < kept[1] else None

    def _keep(self, digest: str, principal: Principal, stamp: float) -> None:
        """Keep a token's principal for ``[api] token_cache_seconds`` (the bound within which
        a revocation made by another process is seen here); at most ``_CACHED_TOKENS`` of
        them, the oldest dropped first."""
        seconds = self.settings.token_cache_seconds
        if seconds <= 0:
            return
        with self._principals_lock:
            self._principals.pop(digest, None)
            while len(self._principals) >= _CACHED_TOKENS:
                del self._principals[next(iter(self._principals))]
            self._principals[digest] = (principal, stamp + seconds)

    def _from_jwt(self, credential: str) -> Principal:
        import jwt

        if self._jwt_key is None:
            assert self.settings.jwt_key_file is not None
            try:
                self._jwt_key = self.settings.jwt_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise NotAuthenticated(f"the identity provider's key cannot be read: "
                                       f"{exc.strerror or exc}") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                credential, self._jwt_key, algorithms=list(self.settings.jwt_algorithms),
                audience=self.settings.jwt_audience, issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "sub"]})
        except jwt.PyJWTError as exc:
            raise NotAuthenticated(f"the identity token was refused: {exc}") from None
        try:
            subject = claims["sub"]
            if not isinstance(subject, str) or not subject:
                raise InvalidInput("sub must be the user's id (text)")
            if claims.get("role") == "self":
                raise InvalidInput("role 'self' cannot sign in with an identity token")
            role, agency, province = check_grant(claims.get("role"), claims.get("agency"),
                                                 claims.get("province"))
            # The department claim: a list (or one name, or "both"); none: both.
            departments = check_department_grant(role, claims.get("departments"),
                                                 required=False)
            principal = Principal(subject, role, agency, province, departments=departments)
            principal.actor_for()
        except InvalidInput as exc:
            raise NotAuthenticated(f"the identity token's claims were refused: {exc}") from None
        return principal

    # --- the access log -------------------------------------------------------------------
    def record_reads(self, principal: Principal, case_ids: Iterable[int], view: str,
                     via: str) -> None:
        """Write who read which cases (one entry naming them all), when, which view, through
        what; nothing when no case was read."""
        ids = tuple(dict.fromkeys(case_ids))
        if ids:
            self.store.log_reads(CaseReads(now(), principal.actor_id, principal.role,
                                           principal.agency, ids, view, via))

    def record_denied(self, principal: Principal, view: str, via: str) -> None:
        """Write that ``principal`` tried a read they may not make of something that is not
        a case (``view (denied)``): the reader's agency's supervisors see it."""
        self.store.log_reads(CaseReads(now(), principal.actor_id, principal.role,
                                       principal.agency, (), f"{view} (denied)", via))

    def record_operator_read(self, operator: str, case_id: int, view: str) -> None:
        """Write that an operator read a case at the command line: no token names them
        there, the login of the machine's user does (role ``operator``)."""
        self.store.log_reads(CaseReads(now(), operator, "operator", None, (case_id,), view,
                                       "cli"))

    def record_progress_read(self, case_id: int) -> None:
        """Write that the insured person read their case on the progress page (they have no
        token: the case number and ID number are their credential)."""
        self.store.log_reads(CaseReads(now(), "insured_person", "self", None, (case_id,),
                                       "progress", "progress"))

    def access_log(self, principal: Principal, *, case_id: int | None = None,
                   actor_id: str | None = None, since: dt.datetime | None = None,
                   limit: int = 100, offset: int = 0) -> list[AccessEntry]:
        """The access log of the supervisor's agency (or province); nobody else reads it."""
        if not principal.is_supervisor:
            raise NotPermitted("only a supervisor reads the access log")
        agencies: Sequence[str] | None = None if principal.province else [str(principal.agency)]
        return self.store.access_log(agencies=agencies, province=principal.province,
                                     case_id=case_id, actor_id=actor_id, since=since,
                                     limit=limit, offset=offset)

    # --- the person's progress page -------------------------------------------------------
    def claim_progress_try(self, client: str, subject: str) -> None:
        """Take one try of ``client`` on case number ``subject`` (``RateLimited`` with when to
        come back if the client used its tries of the window, or must still wait after
        failures on that number). Taken atomically: concurrent tries never get more than the
        limit judged."""
        stamp = now()
        until = self.store.claim_try(client, subject, stamp, window=self._window,
                                     tries=self.settings.progress_tries_per_client,
                                     hold=_HOLD)
        if until is not None:
            wait = max(1, int((until - stamp).total_seconds() + 0.999))
            raise RateLimited(f"too many tries; try again in {wait} seconds", wait)

    def judged_progress_try(self, client: str, subject: str, matched: bool) -> None:
        self.store.judged_try(client, subject, matched, now(),
                              free=self.settings.progress_free_failures,
                              backoff=dt.timedelta(seconds=self.settings.progress_backoff_seconds),
                              longest=self._window, window=self._window)

    @property
    def _window(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.progress_window_minutes)


#: The most token principals one process keeps (each a few hundred bytes).
_CACHED_TOKENS = 4096

#: How long a try holds its case number while it is judged (a crashed one frees it then).
_HOLD = dt.timedelta(seconds=10)


__all__ = ["AccessService", "token_hash"]
