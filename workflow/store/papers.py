"""The papers the steps issue (all SQL): their gapless numbers and the papers as kept."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..records import NewPaper, Paper, PrintedPaper
from .tables import paper_counters_t, papers_t

_PAPER_FIELDS = [papers_t.c[name] for name in Paper.model_fields]


def _upsert_counter(conn: sa.Connection) -> Any:
    """``INSERT ... ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last`` (SQLite 3.35+
    and PostgreSQL): the counter's row is locked until the step's transaction ends."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
    insert = dialect.insert(paper_counters_t)
    return insert.on_conflict_do_update(
        index_elements=["agency", "kind", "year"],
        set_={"last": paper_counters_t.c["last"] + 1},
    ).returning(paper_counters_t.c["last"])


def next_seq(conn: sa.Connection, agency: str, kind: str, year: int) -> int:
    """The next sequence number of the agency's papers of ``kind`` in ``year`` (from 1)."""
    seq = conn.execute(_upsert_counter(conn), {"agency": agency, "kind": kind, "year": year,
                                               "last": 1}).scalar_one()
    return int(seq)


def insert_paper(conn: sa.Connection, paper: NewPaper) -> int:
    row = {name: getattr(paper, name) for name in paper.__dataclass_fields__}
    return int(conn.execute(sa.insert(papers_t).values(**row).returning(papers_t.c.id))
               .scalar_one())


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
