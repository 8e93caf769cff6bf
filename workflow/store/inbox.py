"""The agencies' inbox: running spans owned by an agency or a province (all SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from .tables import cases_t, spans_t

#: The date a span is judged by: the committed due date where there is one.
_JUDGED_BY = sa.func.coalesce(spans_t.c.committed_due_on, spans_t.c.due_on)


class InboxRepository:
    """What an agency has to do now: its running spans, soonest due first."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    def running_spans(self, *, agencies: Sequence[str] | None = None,
                      province: str | None = None, limit: int = 100,
                      offset: int = 0) -> tuple[int, list[Any]]:
        """How many spans are running for ``agencies`` (or every agency of the 2-digit
        ``province``), and one page of them with their case, by the date each is judged by
        (the committed due date where there is one, else the statutory one)."""
        where: list[sa.ColumnElement[bool]] = [spans_t.c.ended_on.is_(None)]
        if agencies is not None:
            where.append(spans_t.c.owner_agency.in_(list(agencies)))
        if province is not None:
            where.append(spans_t.c.owner_agency.like(f"{province}%"))
        count = sa.select(sa.func.count()).select_from(spans_t).where(*where)
        query = (sa.select(spans_t.c.id.label("span_id"), spans_t.c.name, spans_t.c.owner,
                           spans_t.c.owner_agency, spans_t.c.started_on, spans_t.c.due_on,
                           spans_t.c.committed_due_on, spans_t.c.provisional,
                           spans_t.c.case_id, cases_t.c.definition_name,
                           cases_t.c.definition_version, cases_t.c.insurance, cases_t.c.state,
                           cases_t.c.person_name, cases_t.c.origin, cases_t.c.destination)
                 .join(cases_t, cases_t.c.id == spans_t.c.case_id)
                 .where(*where)
                 .order_by(_JUDGED_BY, spans_t.c.case_id, spans_t.c.id)
                 .limit(limit).offset(offset))
        with self.db.connect() as conn:
            return int(conn.scalar(count) or 0), list(conn.execute(query))
