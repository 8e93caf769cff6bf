"""Leases of scheduled jobs (fenced by their generation) and their run records (all SQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ..errors import LeaseLost
from ..records import AbandonedRun, Lease, Run, now
from .connection import insert_ignoring_duplicates
from .tables import leases_t, runs_t

_RUN_FIELDS = [runs_t.c[name] for name in Run._fields]


def take_lease(conn: sa.Connection, job: str, holder: str,
               seconds: float) -> tuple[Lease | None, list[AbandonedRun]]:
    """Take ``job``'s lease if it is free or has expired; with it, the runs it abandons.

    A run still ``running`` when its job's lease can be taken belongs to a holder that was
    killed or stopped renewing: it is marked ``abandoned``.
    """
    stamp = now()
    conn.execute(insert_ignoring_duplicates(conn, leases_t).values(
        job=job, holder="", generation=0, expires_at=stamp - dt.timedelta(seconds=1)))
    generation = conn.execute(
        sa.update(leases_t).where(leases_t.c.job == job, leases_t.c.expires_at < stamp)
        .values(holder=holder, generation=leases_t.c.generation + 1,
                expires_at=stamp + dt.timedelta(seconds=seconds))
        .returning(leases_t.c.generation)).scalar()
    if generation is None:
        return None, []
    abandoned = conn.execute(
        sa.update(runs_t).where(runs_t.c.job == job, runs_t.c.status == "running")
        .values(status="abandoned", finished_at=stamp,
                detail="its instance stopped renewing the lease (killed or stalled)")
        .returning(runs_t.c.id, runs_t.c.holder)).all()
    return Lease(job, holder, generation), [AbandonedRun._make(r) for r in abandoned]


# Built once (building SQLAlchemy statements costs more than running them): the delivery loop
# runs them twice per alert.
_HELD = sa.update(leases_t).where(leases_t.c.job == sa.bindparam("_job"),
                                  leases_t.c.holder == sa.bindparam("_holder"),
                                  leases_t.c.generation == sa.bindparam("_generation"))
_FENCE = _HELD.values(holder=leases_t.c.holder)
_SET_EXPIRY = _HELD.values(expires_at=sa.bindparam("_expires_at"))


def _held(lease: Lease, **values: Any) -> dict[str, Any]:
    return {"_job": lease.job, "_holder": lease.holder, "_generation": lease.generation,
            **values}


def renew_lease(conn: sa.Connection, lease: Lease, seconds: float) -> bool:
    """Extend a held lease by ``seconds`` from now; False if it was taken over."""
    expires_at = now() + dt.timedelta(seconds=seconds)
    return conn.execute(_SET_EXPIRY, _held(lease, _expires_at=expires_at)).rowcount == 1


def fence(conn: sa.Connection, lease: Lease) -> None:
    """Check, first in a write transaction, that ``lease`` is still held; else LeaseLost.

    The check is a write on the lease row, so it holds that row (PostgreSQL) or the write
    lock (SQLite) until the transaction ends: no takeover can slip in before the commit.
    """
    if conn.execute(_FENCE, _held(lease)).rowcount != 1:
        raise LeaseLost(f"the {lease.job} lease was taken over by another instance; "
                        "this run stopped")


def release_lease(conn: sa.Connection, lease: Lease) -> None:
    conn.execute(_SET_EXPIRY, _held(lease, _expires_at=now()))


def lease_expiry(conn: sa.Connection, job: str) -> dt.datetime | None:
    return conn.scalar(sa.select(leases_t.c.expires_at).where(leases_t.c.job == job))


def start_run(conn: sa.Connection, lease: Lease, as_of: dt.date) -> int:
    fence(conn, lease)
    key = conn.execute(sa.insert(runs_t).values(
        job=lease.job, as_of=as_of, holder=lease.holder, started_at=now(),
        status="running")).inserted_primary_key
    assert key is not None  # a single-row INSERT always has its primary key
    run_id: int = key[0]
    return run_id


def finish_run(conn: sa.Connection, lease: Lease, run_id: int, status: str, detail: str) -> None:
    fence(conn, lease)
    conn.execute(sa.update(runs_t).where(runs_t.c.id == run_id).values(
        status=status, detail=detail[:2000], finished_at=now()))


class SchedulingRepository:
    """Leases and run records over one SQLAlchemy engine; each call is its own transaction."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    def take_lease(self, job: str, holder: str,
                   seconds: float) -> tuple[Lease | None, list[AbandonedRun]]:
        with self.db.begin() as conn:
            return take_lease(conn, job, holder, seconds)

    def renew_lease(self, lease: Lease, seconds: float) -> bool:
        with self.db.begin() as conn:
            return renew_lease(conn, lease, seconds)

    def release_lease(self, lease: Lease) -> None:
        with self.db.begin() as conn:
            release_lease(conn, lease)

    def lease_expiry(self, job: str) -> dt.datetime | None:
        with self.db.connect() as conn:
            return lease_expiry(conn, job)

    def start_run(self, lease: Lease, as_of: dt.date) -> int:
        with self.db.begin() as conn:
            return start_run(conn, lease, as_of)

    def finish_run(self, lease: Lease, run_id: int, status: str, detail: str) -> None:
        with self.db.begin() as conn:
            finish_run(conn, lease, run_id, status, detail)

    def last_done(self, job: str) -> dt.date | None:
        """The business date of the last completed run of ``job``."""
        with self.db.connect() as conn:
            last: dt.date | None = conn.scalar(sa.select(sa.func.max(runs_t.c.as_of)).where(
                runs_t.c.job == job, runs_t.c.status == "done"))
            return last

    def last_done_run(self, job: str) -> Run | None:
        r = runs_t.c
        with self.db.connect() as conn:
            row = conn.execute(sa.select(*_RUN_FIELDS).where(r.job == job, r.status == "done")
                               .order_by(r.as_of.desc(), r.id.desc()).limit(1)).first()
        return None if row is None else Run._make(row)

    def runs(self, job: str | None = None) -> list[Run]:
        query = sa.select(*_RUN_FIELDS).order_by(runs_t.c.id)
        if job:
            query = query.where(runs_t.c.job == job)
        with self.db.connect() as conn:
            return [Run._make(r) for r in conn.execute(query)]
