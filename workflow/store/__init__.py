"""Storage: the tables, migrations and repositories; the only package that knows SQL.

Services talk to it through the ports of :mod:`workflow.ports`; :class:`SqlStore` is their
SQLAlchemy implementation (SQLite and PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..records import Lease, now
from .access import AccessRepository
from .alerts import AlertRepository
from .cases import CaseRepository
from .connection import (
    DEFAULT_URL,
    POOL_SIZE,
    URL_ENV,
    connect,
    database_url,
    insert_ignoring_duplicates,
    sqlite_file,
    storage_error,
)
from .inbox import InboxRepository
from .outbox import OutboxRepository
from .reports import ReportRepository
from .scheduling import SchedulingRepository
from .schema import check_revision, current_revision, ensure_schema, head_revision, upgrade
from .tables import (
    TABLES,
    alerts_t,
    cases_t,
    definitions_t,
    deliveries_t,
    history_t,
    idempotency_t,
    leases_t,
    runs_t,
    span_changes_t,
    spans_t,
    subscribers_t,
)


class SqlStore:
    """Every repository over one SQLAlchemy engine (see :mod:`workflow.ports`)."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db
        self.cases = CaseRepository(db)
        self.alerts = AlertRepository(db)
        self.scheduling = SchedulingRepository(db)
        self.reports = ReportRepository(db)
        self.access = AccessRepository(db)
        self.inbox = InboxRepository(db)
        self.outbox = OutboxRepository(db)

    @classmethod
    def open(cls, url: str | None = None, *, echo: bool = False, lock_timeout: float = 10,
             statement_timeout: float = 300, pool_size: int = POOL_SIZE,
             auto_upgrade: bool | None = None) -> SqlStore:
        """Connect, then create the schema in an empty database (or refuse a mismatch)."""
        db = connect(url, echo=echo, lock_timeout=lock_timeout,
                     statement_timeout=statement_timeout, pool_size=pool_size)
        try:
            ensure_schema(db, auto_upgrade=auto_upgrade)
        except BaseException:
            db.dispose()
            raise
        return cls(db)

    def close(self) -> None:
        self.db.dispose()


__all__ = [
    "DEFAULT_URL", "TABLES", "URL_ENV", "Lease", "SqlStore", "alerts_t", "cases_t",
    "check_revision", "connect", "current_revision", "database_url", "definitions_t",
    "deliveries_t", "ensure_schema", "head_revision", "history_t", "idempotency_t",
    "insert_ignoring_duplicates", "leases_t", "now", "runs_t", "span_changes_t", "spans_t",
    "sqlite_file", "storage_error", "subscribers_t", "upgrade",
]
