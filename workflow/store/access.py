"""API tokens, the access log and the progress page's tries (all SQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ..records import AccessEntry, ApiToken, CaseReads, WebSession
from .connection import in_province, insert_ignoring_duplicates
from .tables import access_log_t, cases_t, progress_tries_t, sessions_t, tokens_t

_LOG_READS = access_log_t.insert()


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
        """One entry: of the one case read, of the many read at once, or of none."""
        many = len(reads.case_ids) > 1
        with self.db.begin() as conn:  # values as parameters: the statement is built once
            conn.execute(_LOG_READS, dict(
                at=reads.at, actor_id=reads.actor_id, role=reads.role, agency=reads.agency,
                case_id=reads.case_ids[0] if len(reads.case_ids) == 1 else None,
                case_ids="," + ",".join(map(str, reads.case_ids)) + "," if many else None,
                view=reads.view, via=reads.via))

    def access_log(self, *, agencies: Sequence[str] | None = None, province: str | None = None,
                   case_id: int | None = None, actor_id: str | None = None,
                   since: dt.datetime | None = None, limit: int = 100,
                   offset: int = 0) -> list[AccessEntry]:
        """Entries newest first. ``agencies``/``province``: the scope of the reader of the log:
        entries of a case whose origin or destination is in it, and entries of readers of its
        agencies (their lists, reports and refused reads). ``case_id``: every entry naming that
        case (when it is in the scope), whoever read it."""
        log, c = access_log_t.c, cases_t.c
        scoped = agencies is not None or province is not None

        def in_scope(column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
            return sa.or_(*([column.in_(agencies)] if agencies is not None else []),
                          *([in_province(column, province)] if province is not None else []))

        query = sa.select(access_log_t).order_by(log.id.desc())
        if case_id is not None:
            query = query.where(sa.or_(log.case_id == case_id, sa.and_(
                log.case_ids.is_not(None), log.case_ids.contains(f",{int(case_id)},"))))
            if scoped:
                query = query.where(sa.exists().where(
                    c.id == case_id, sa.or_(in_scope(c.origin), in_scope(c.destination))))
        elif scoped:
            query = query.outerjoin(cases_t, c.id == log.case_id).where(sa.or_(
                in_scope(log.agency), in_scope(c.origin), in_scope(c.destination)))
        if actor_id is not None:
            query = query.where(log.actor_id == actor_id)
        if since is not None:
            query = query.where(log.at >= since)
        with self.db.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [_entry(row) for row in rows]

    # --- the progress page ----------------------------------------------------------------
    def claim_try(self, client: str, subject: str, stamp: dt.datetime, *, window: dt.timedelta,
                  tries: int, hold: dt.timedelta) -> dt.datetime | None:
        """Take one try of ``client`` on case number ``subject``, atomically: one of the
        client's ``tries`` per ``window`` and, for that number, only once its back-off has
        passed (the try holds the number for ``hold`` while it is judged). None when taken;
        else when the client may try again."""
        t = progress_tries_t.c
        cut = stamp - window
        with self.db.begin() as conn:
            for key in ("", subject):
                conn.execute(insert_ignoring_duplicates(conn, progress_tries_t).values(
                    client=client, subject=key, window_start=stamp, tries=0, failures=0,
                    next_try_at=stamp))
            fresh = t.window_start <= cut
            taken = conn.execute(progress_tries_t.update().where(
                t.client == client, t.subject == "", sa.or_(fresh, t.tries < tries)).values(
                tries=sa.case((fresh, 1), else_=t.tries + 1),
                window_start=sa.case((fresh, stamp), else_=t.window_start))).rowcount
            if not taken:
                start = conn.scalar(sa.select(t.window_start).where(
                    t.client == client, t.subject == ""))
                return None if start is None else start + window
            held = conn.execute(progress_tries_t.update().where(
                t.client == client, t.subject == subject, t.next_try_at <= stamp).values(
                next_try_at=stamp + hold)).rowcount
            if not held:
                until = conn.scalar(sa.select(t.next_try_at).where(
                    t.client == client, t.subject == subject))
                # The budget's try is given back: the number was not judged.
                conn.execute(progress_tries_t.update().where(
                    t.client == client, t.subject == "", t.tries > 0).values(tries=t.tries - 1))
                return until
        return None

    def judged_try(self, client: str, subject: str, matched: bool, stamp: dt.datetime, *,
                   free: int, backoff: dt.timedelta, longest: dt.timedelta,
                   window: dt.timedelta) -> None:
        """Record how a claimed try was judged: a match clears the number's failures; a
        mismatch counts one more, and from the ``free``-th on the next try waits ``backoff``,
        doubled each further failure up to ``longest``. A failure a window and the longest
        wait after the last counts as the first again; numbers left alone that long are
        forgotten."""
        t = progress_tries_t.c
        with self.db.begin() as conn:
            if matched:
                conn.execute(progress_tries_t.delete().where(
                    t.client == client, t.subject == subject))
            else:
                last = conn.execute(sa.select(t.failures, t.window_start).where(
                    t.client == client, t.subject == subject)).first()
                # Forgiven after a window past the longest wait: the count starts again.
                failures = 1 if last is None or last[1] <= stamp - window - longest \
                    else last[0] + 1
                over = failures - free
                wait = dt.timedelta(0) if over < 0 else min(longest, backoff * 2 ** min(over, 30))
                conn.execute(progress_tries_t.update().where(
                    t.client == client, t.subject == subject).values(
                    failures=failures, window_start=stamp, next_try_at=stamp + wait))
            conn.execute(progress_tries_t.delete().where(
                t.subject != "", t.window_start <= stamp - window - longest,
                t.next_try_at <= stamp))

    # --- the dashboard's sessions ---------------------------------------------------------
    def insert_session(self, session: WebSession) -> None:
        with self.db.begin() as conn:
            conn.execute(sessions_t.insert().values(**dataclasses.asdict(session)))

    def live_session(self, id_hash: str, stamp: dt.datetime,
                     idle: dt.timedelta) -> WebSession | None:
        """The session of that id if it has not ended, expired, idled out or lost its token;
        its last use is moved on (at most once a minute: a page view writes rarely)."""
        s, tok = sessions_t.c, tokens_t.c
        with self.db.begin() as conn:
            row = conn.execute(sa.select(sessions_t).where(
                s.id_hash == id_hash, s.ended_at.is_(None), s.expires_at > stamp,
                s.last_seen_at > stamp - idle,
                sa.or_(s.token_id.is_(None), sa.exists().where(
                    tok.id == s.token_id, tok.revoked_at.is_(None))))).mappings().first()
            if row is None:
                return None
            if row["last_seen_at"] < stamp - dt.timedelta(minutes=1):
                conn.execute(sessions_t.update().where(s.id_hash == id_hash)
                             .values(last_seen_at=stamp))
        return WebSession(**row)

    def end_session(self, id_hash: str, stamp: dt.datetime) -> None:
        s = sessions_t.c
        with self.db.begin() as conn:
            conn.execute(sessions_t.update().where(s.id_hash == id_hash, s.ended_at.is_(None))
                         .values(ended_at=stamp))

    def end_sessions_of_token(self, token_id: int, stamp: dt.datetime) -> int:
        s = sessions_t.c
        with self.db.begin() as conn:
            return int(conn.execute(sessions_t.update().where(
                s.token_id == token_id, s.ended_at.is_(None)).values(ended_at=stamp)).rowcount)


def _entry(row: Any) -> AccessEntry:
    many = row["case_ids"]
    cases = [int(n) for n in many.strip(",").split(",")] if many else (
        [row["case_id"]] if row["case_id"] is not None else [])
    return AccessEntry(id=row["id"], at=row["at"], actor_id=row["actor_id"], role=row["role"],
                       agency=row["agency"], case_id=row["case_id"], cases=cases,
                       view=row["view"], via=row["via"])
