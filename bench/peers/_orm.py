"""The minimal schema of _race.py as SQLModel tables, for the SQLModel peers."""

from __future__ import annotations

import sqlalchemy as sa
from _race import set_pragmas
from sqlmodel import Field, Session, SQLModel, create_engine


class WfCase(SQLModel, table=True):
    __tablename__ = "wf_case"
    id: int | None = Field(default=None, primary_key=True)
    state: str
    version: int
    data: str | None = None


class WfHistory(SQLModel, table=True):
    __tablename__ = "wf_history"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="wf_case.id", index=True)
    seq: int
    trigger: str
    from_state: str
    to_state: str
    actor: str
    business_date: str
    recorded_at: str


def database(path: str, n: int) -> sa.Engine:
    """An SQLModel engine on ``path`` with the engine's pragmas and ``n`` applied cases."""
    engine = create_engine(f"sqlite:///{path}")
    sa.event.listen(engine, "connect", lambda dbapi_conn, _record: set_pragmas(dbapi_conn))
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(WfCase(id=i, state="applied", version=1) for i in range(1, n + 1))
        session.commit()
    return engine


def pragmas(engine: sa.Engine) -> dict[str, object]:
    from _race import pragmas_of

    with engine.connect() as conn:
        return pragmas_of(conn.connection.dbapi_connection)
