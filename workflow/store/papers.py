"""The papers the steps issue (all SQL): their gapless numbers and the papers as kept."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import sqlalchemy as sa

from ..records import NewPaper, Paper, PrintedPaper
from .fast import FastPath
from .tables import paper_counters_t, papers_t

_PAPER_FIELDS = [papers_t.c[name] for name in Paper.model_fields]


_COUNTER_KEY = ("agency", "kind", "year")


def _next_seq_sql(mark: str, quote: Callable[[str], str]) -> str:
    """``INSERT ... ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last`` (SQLite 3.35+
    and PostgreSQL): the counter's row is locked until the step's transaction ends."""
    table, last, key = quote(paper_counters_t.name), quote("last"), ", ".join(
        map(quote, _COUNTER_KEY))
    return (f"INSERT INTO {table} ({key}, {last}) VALUES ({mark}, {mark}, {mark}, 1) "
            f"ON CONFLICT ({key}) DO UPDATE SET {last} = {table}.{last} + 1 RETURNING {last}")


_PAPER_COLUMNS = tuple(f.name for f in dataclasses.fields(NewPaper))


def next_seq(fast: FastPath, agency: str, kind: str, year: int) -> int:
    """The next sequence number of the agency's papers of ``kind`` in ``year`` (from 1), on
    the step's own cursor (:mod:`workflow.store.fast`)."""
    [seq] = fast.run_returning("next_paper_seq", _next_seq_sql, paper_counters_t,
                               tuple(zip(_COUNTER_KEY, (agency, kind, year), strict=True)))
    return int(seq)


def insert_paper(fast: FastPath, paper: NewPaper) -> int:
    """Keep ``paper`` (on the step's own cursor); its id."""
    return int(fast.insert_one(papers_t, {name: getattr(paper, name) for name in _PAPER_COLUMNS},
                               "id"))


def papers(conn: sa.Connection, case_id: int) -> list[Paper]:
    return [Paper(**r._mapping) for r in conn.execute(
        sa.select(*_PAPER_FIELDS).where(papers_t.c.case_id == case_id).order_by(papers_t.c.id))]


def paper(conn: sa.Connection, paper_id: int) -> PrintedPaper | None:
    row = conn.execute(sa.select(*_PAPER_FIELDS, papers_t.c.content, papers_t.c.html)
                       .where(papers_t.c.id == paper_id)).first()
    if row is None:
        return None
    values = dict(row._mapping)
    content, html = values.pop("content"), values.pop("html")
    return PrintedPaper(Paper(**values), content, html)
