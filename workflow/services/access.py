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
from collections.abc import Iterable, Sequence
from typing import Any

import structlog

from ..core.access import Principal, check_grant
from ..core.inputs import normalise
from ..errors import InvalidInput, NotAuthenticated, NotPermitted, RateLimited
from ..ports import AccessStore
from ..records import AccessEntry, ApiToken, CaseReads, now
from ..settings import Settings

log = structlog.get_logger("sstransfer.access")

TOKEN_PREFIX = "sst_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccessService:
    """Tokens, authentication, the access log and the progress page's rate limit."""

    def __init__(self, store: AccessStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self._jwt_key: str | None = None

    # --- tokens ---------------------------------------------------------------------------
    def create_token(self, actor_id: str, role: str, agency: str | None = None, *,
                     province: str | None = None, person_id: str | None = None,
                     label: str = "", token: str | None = None) -> tuple[str, ApiToken]:
        """A new API token for an actor; returns the token (shown once) and its record.

        ``token``: use this secret instead of a random one (the demo's ready-made tokens)."""
        role, agency, province = check_grant(
            normalise(role), agency, None if province is None else normalise(province))
        # The actor the token stands for must itself be valid (id, role, ID number).
        probe = Principal(actor_id, role, agency, province, person_id).actor_for()
        secret = token if token is not None else TOKEN_PREFIX + secrets.token_urlsafe(32)
        if len(secret) < 16:
            raise InvalidInput("a token is at least 16 characters long")
        digest = token_hash(secret)
        record = ApiToken(token_hash=digest, actor_id=probe.id, role=role, agency=agency,
                          province=province, person_id=probe.person_id, label=label,
                          created_at=now())
        if self.store.token_by_hash(digest) is not None:
            raise InvalidInput("that token is already in use")
        token_id = self.store.insert_token(record)
        log.info("token_created", token_id=token_id, actor=probe.id, role=role, agency=agency)
        return secret, record.model_copy(update={"id": token_id})

    def tokens(self) -> list[ApiToken]:
        return self.store.tokens()

    def revoke_token(self, token_id: int) -> None:
        if not self.store.revoke_token(token_id, now()):
            raise InvalidInput(f"no live token has id {token_id}")
        log.info("token_revoked", token_id=token_id)

    # --- authentication -------------------------------------------------------------------
    def authenticate(self, credential: str | None) -> Principal:
        """The principal of a bearer credential: an API token, or a JWT if one is configured."""
        if not credential:
            raise NotAuthenticated("sign in: send 'Authorization: Bearer <token>'")
        if credential.count(".") == 2 and self.settings.jwt_key_file is not None:
            return self._from_jwt(credential)
        record = self.store.token_by_hash(token_hash(credential))
        if record is None or record.revoked_at is not None:
            raise NotAuthenticated("the token is unknown or revoked")
        return Principal(record.actor_id, record.role, record.agency, record.province,
                         record.person_id, record.id)

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
            principal = Principal(subject, role, agency, province)
            principal.actor_for()
        except InvalidInput as exc:
            raise NotAuthenticated(f"the identity token's claims were refused: {exc}") from None
        return principal

    # --- the access log -------------------------------------------------------------------
    def record_reads(self, principal: Principal, case_ids: Iterable[int], view: str,
                     via: str) -> None:
        """Write who read which cases (one row each), when, which view, through what."""
        self.store.log_reads(CaseReads(now(), principal.actor_id, principal.role,
                                       principal.agency, tuple(dict.fromkeys(case_ids)), view,
                                       via))

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
    def check_progress_rate(self, client: str, case_id: int) -> None:
        """Refuse a try when the client tried too often, or the case saw too many wrong ID
        numbers, within the window."""
        window = self.settings.progress_window_minutes
        since = now() - dt.timedelta(minutes=window)
        if (self.store.lookups(since=since, client=client)
                >= self.settings.progress_tries_per_client
                or self.store.lookups(since=since, case_id=case_id, failed_only=True)
                >= self.settings.progress_failures_per_case):
            raise RateLimited(f"too many tries; try again in {window} minutes", window * 60)

    def record_lookup(self, client: str, case_id: int, matched: bool) -> None:
        self.store.record_lookup(client, case_id, matched, now())


__all__ = ["AccessService", "token_hash"]
