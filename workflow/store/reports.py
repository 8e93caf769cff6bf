"""The rows of the overdue report (all SQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from ..records import ClosedSpans, Gauges, OverdueRow
from .connection import in_province
from .tables import alerts_t, cases_t, events_t, spans_t

#: The date a span is judged by: the committed due date where there is one.
_JUDGED_BY = sa.func.coalesce(spans_t.c.committed_due_on, spans_t.c.due_on)


def _owned_by(query: sa.Select[Any], agencies: Sequence[str] | None,
              province: str | None, insurances: Sequence[str] | None = None) -> sa.Select[Any]:
    """Only spans owned by one of ``agencies`` / an agency of ``province`` (2 digits); of
    cases of ``insurances`` (a department's scope)."""
    if insurances is not None:
        of_case = cases_t.alias("department_case")
        query = query.where(sa.exists().where(of_case.c.id == spans_t.c.case_id,
                                              of_case.c.insurance.in_(insurances)))
    if agencies is not None:
        query = query.where(spans_t.c.owner_agency.in_(agencies))
    if province is not None:
        # A range of codes, not substr(): the index of running spans by agency serves it.
        query = query.where(in_province(spans_t.c.owner_agency, province))
    return query


def _overdue_query(as_of: dt.date, agencies: Sequence[str] | None = None,
                   province: str | None = None,
                   insurances: Sequence[str] | None = None) -> sa.Select[Any]:
    """Spans running on ``as_of`` and past their (committed, else statutory) due date."""
    return _owned_by(sa.select(spans_t.c.owner_agency, spans_t.c.case_id, cases_t.c.insurance,
                      cases_t.c.person_name, cases_t.c.person_id, spans_t.c.name,
                      spans_t.c.owner, spans_t.c.started_on, spans_t.c.committed_due_on,
                      spans_t.c.due_on, spans_t.c.provisional, cases_t.c.definition_name,
                      cases_t.c.definition_version)
            .join(cases_t, cases_t.c.id == spans_t.c.case_id)
            .where(sa.or_(spans_t.c.ended_on.is_(None), spans_t.c.ended_on > as_of),
                   as_of > _JUDGED_BY, spans_t.c.started_on <= as_of),
            agencies, province, insurances)


class ReportRepository:
    """What the overdue report reads, streamed in chunks."""

    def __init__(self, db: sa.Engine, chunk: int = 2000) -> None:
        self.db, self.chunk = db, chunk

    # ``agencies``/``province``: only the spans owned by those agencies / that province.
    def gauges(self) -> Gauges:
        """Counts for the metrics, in one read: cases by (insurance, state), unresolved alerts
        of spans still running by level (advisories, which have no span, are left out),
        outbox events by state (pending: not yet delivered to all their recipients)."""
        c, a, s, e = cases_t.c, alerts_t.c, spans_t.c, events_t.c
        with self.db.connect() as conn:
            cases = {(r[0], r[1]): int(r[2]) for r in conn.execute(
                sa.select(c.insurance, c.state, sa.func.count()).group_by(c.insurance, c.state))}
            alerts = {r[0]: int(r[1]) for r in conn.execute(
                sa.select(a.level, sa.func.count()).join(spans_t, s.id == a.span_id)
                .where(a.resolved_on.is_(None), s.ended_on.is_(None)).group_by(a.level))}
            outbox = {r[0]: int(r[1]) for r in conn.execute(
                sa.select(e.state, sa.func.count()).group_by(e.state))}
        return Gauges(cases, alerts, outbox)

    def overdue_count(self, as_of: dt.date, *, agencies: Sequence[str] | None = None,
                      province: str | None = None,
                      insurances: Sequence[str] | None = None) -> int:
        with self.db.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(
                _overdue_query(as_of, agencies, province, insurances).subquery())) or 0)

    def overdue_due_dates(self, as_of: dt.date, *, agencies: Sequence[str] | None = None,
                          province: str | None = None,
                          insurances: Sequence[str] | None = None,
                          ) -> Iterator[tuple[str, dt.date, dt.date]]:
        """(owner agency, date judged by, statutory due date) of each overdue span."""
        due = _overdue_query(as_of, agencies, province, insurances).with_only_columns(
            spans_t.c.owner_agency, _JUDGED_BY, spans_t.c.due_on)
        with self.db.connect() as conn:
            rows = conn.execution_options(yield_per=self.chunk).execute(due)
            yield from ((agency, judged_by, due_on) for agency, judged_by, due_on in rows)

    def closed_in_period(self, start: dt.date, end: dt.date, *,
                         agencies: Sequence[str] | None = None,
                         province: str | None = None,
                         insurances: Sequence[str] | None = None) -> list[ClosedSpans]:
        """Per owner agency: spans closed from ``start`` to ``end``, how many on or before the
        date they are judged by, and how many within the statutory limit."""
        query = (sa.select(spans_t.c.owner_agency, sa.func.count(),
                           sa.func.sum(sa.case((spans_t.c.ended_on <= _JUDGED_BY, 1), else_=0)),
                           sa.func.sum(sa.case((spans_t.c.ended_on <= spans_t.c.due_on, 1),
                                               else_=0)))
                 .where(spans_t.c.ended_on.between(start, end))
                 .group_by(spans_t.c.owner_agency))
        query = _owned_by(query, agencies, province, insurances)
        with self.db.connect() as conn:
            return [ClosedSpans(a, int(n), int(on_time or 0), int(within or 0))
                    for a, n, on_time, within in conn.execute(query)]

    def overdue_rows(self, as_of: dt.date, *, agencies: Sequence[str] | None = None,
                     province: str | None = None,
                     insurances: Sequence[str] | None = None) -> Iterator[OverdueRow]:
        """Every overdue span with its case's person, by agency and due date (streamed)."""
        query = _overdue_query(as_of, agencies, province, insurances).order_by(
            spans_t.c.owner_agency, spans_t.c.due_on, spans_t.c.case_id, spans_t.c.id)
        with self.db.connect() as conn:
            for row in conn.execution_options(yield_per=self.chunk).execute(query):
                yield OverdueRow._make(row)
