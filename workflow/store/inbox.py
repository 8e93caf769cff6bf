"""The agencies' inbox: running spans owned by an agency or a province (all SQL)."""

from __future__ import annotations

import sqlalchemy as sa

from ..core.queries import InboxQuery
from ..records import InboxSpan
from .connection import in_province
from .tables import cases_t, spans_t

#: The date a span is judged by: the committed due date where there is one.
_JUDGED_BY = sa.func.coalesce(spans_t.c.committed_due_on, spans_t.c.due_on)
_COLUMNS = [spans_t.c.id.label("span_id"), *(
    spans_t.c[name] for name in InboxSpan._fields[1:9]), *(
    cases_t.c[name] for name in InboxSpan._fields[9:])]


class InboxRepository:
    """What an agency has to do now: its running spans, soonest due first."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    def running_spans(self, query: InboxQuery) -> tuple[int, list[InboxSpan]]:
        """``agencies``: spans owned by one of them; ``province``: by an agency of it;
        ``by_agency``: ordered by the owning agency first."""
        where = _running(query)
        count = sa.select(sa.func.count()).select_from(spans_t).where(*where)
        first = [spans_t.c.owner_agency] if query.by_agency else []
        page = (sa.select(*_COLUMNS)
                .join(cases_t, cases_t.c.id == spans_t.c.case_id)
                .where(*where)
                .order_by(*first, _JUDGED_BY, spans_t.c.case_id, spans_t.c.id)
                .limit(query.limit).offset(query.offset))
        with self.db.connect() as conn:
            return int(conn.scalar(count) or 0), [InboxSpan._make(r) for r in conn.execute(page)]

    def running_per_agency(self, query: InboxQuery) -> dict[str, int]:
        """How many running spans of ``query`` each owning agency has, in code order (the
        partial index of running spans by owner serves it)."""
        owner = spans_t.c.owner_agency
        select = (sa.select(owner, sa.func.count()).where(*_running(query))
                  .group_by(owner).order_by(owner))
        with self.db.connect() as conn:
            return {str(agency): int(n) for agency, n in conn.execute(select)}


def _running(query: InboxQuery) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [spans_t.c.ended_on.is_(None)]
    if query.agencies is not None:
        where.append(spans_t.c.owner_agency.in_(query.agencies))
    if query.province is not None:
        where.append(in_province(spans_t.c.owner_agency, query.province))
    if query.insurances is not None:  # a department's scope: spans of its insurances' cases
        of = cases_t.alias("of_department")  # not the page's own join of the cases
        where.append(sa.exists().where(of.c.id == spans_t.c.case_id,
                                       of.c.insurance.in_(query.insurances)))
    return where
