"""API tokens, the access log and the progress page's tries (all SQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from ..records import AccessEntry, ApiToken, CaseReads
from .connection import in_province
from .tables import access_log_t, cases_t, progress_lookups_t, tokens_t


class AccessRepository:
    """Who may call the service and who read what."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    # --- tokens ---------------------------------------------------------------------------
    def insert_token(self, token: ApiToken) -> int:
        with self.db.begin() as conn:
            return int(conn.execute(tokens_t.insert().values(**token.model_dump(exclude={"id"}))
                                    .returning(tokens_t.c.id)).scalar_one())

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(tokens_t).where(tokens_t.c.token_hash == token_hash)
                               ).mappings().first()
        return None if row is None else ApiToken(**row)

    def tokens(self) -> list[ApiToken]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(tokens_t).order_by(tokens_t.c.id)).mappings().all()
        return [ApiToken(**row) for row in rows]

    def revoke_token(self, token_id: int, stamp: dt.datetime) -> bool:
        """Revoke a live token; False if there is none with that id (or it was revoked)."""
        with self.db.begin() as conn:
            done = conn.execute(tokens_t.update()
                                .where(tokens_t.c.id == token_id, tokens_t.c.revoked_at.is_(None))
                                .values(revoked_at=stamp))
            return bool(done.rowcount)

    # --- the access log -------------------------------------------------------------------
    def log_reads(self, reads: CaseReads) -> None:
        if reads.case_ids:
            with self.db.begin() as conn:
                conn.execute(access_log_t.insert(), [dict(
                    at=reads.at, actor_id=reads.actor_id, role=reads.role, agency=reads.agency,
                    case_id=case_id, view=reads.view, via=reads.via)
                    for case_id in reads.case_ids])

    def access_log(self, *, agencies: Sequence[str] | None = None, province: str | None = None,
                   case_id: int | None = None, actor_id: str | None = None,
                   since: dt.datetime | None = None, limit: int = 100,
                   offset: int = 0) -> list[AccessEntry]:
        """Entries newest first. ``agencies``/``province``: only reads of cases whose origin or
        destination is one of those agencies, or in that province (2-digit prefix)."""
        query = sa.select(access_log_t).order_by(access_log_t.c.id.desc())
        if agencies is not None or province is not None:
            query = query.join(cases_t, cases_t.c.id == access_log_t.c.case_id)
            if agencies is not None:
                query = query.where(sa.or_(cases_t.c.origin.in_(agencies),
                                           cases_t.c.destination.in_(agencies)))
            if province is not None:
                query = query.where(sa.or_(in_province(cases_t.c.origin, province),
                                           in_province(cases_t.c.destination, province)))
        if case_id is not None:
            query = query.where(access_log_t.c.case_id == case_id)
        if actor_id is not None:
            query = query.where(access_log_t.c.actor_id == actor_id)
        if since is not None:
            query = query.where(access_log_t.c.at >= since)
        with self.db.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [AccessEntry(**row) for row in rows]

    # --- the progress page ----------------------------------------------------------------
    def record_lookup(self, client: str, case_id: int, matched: bool, stamp: dt.datetime) -> None:
        with self.db.begin() as conn:
            conn.execute(progress_lookups_t.insert().values(
                at=stamp, client=client, case_id=case_id, matched=matched))

    def lookups(self, *, since: dt.datetime, client: str | None = None,
                case_id: int | None = None, failed_only: bool = False) -> int:
        """Tries since ``since`` (only those whose ID number did not match, if
        ``failed_only``), by one client or on one case."""
        query = (sa.select(sa.func.count()).select_from(progress_lookups_t)
                 .where(progress_lookups_t.c.at >= since))
        if failed_only:
            query = query.where(progress_lookups_t.c.matched.is_(False))
        if client is not None:
            query = query.where(progress_lookups_t.c.client == client)
        if case_id is not None:
            query = query.where(progress_lookups_t.c.case_id == case_id)
        with self.db.connect() as conn:
            return int(conn.scalar(query) or 0)
