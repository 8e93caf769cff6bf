"""The step's read and writes on the driver's cursor (workflow/store/fast.py, issue 22): they
store what SQLAlchemy would, show in ``echo=True`` without their values, and fail as
SQLAlchemy's path fails."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import sqlalchemy as sa
from conftest import PERSON_ID, SHIPPED, open_case, snapshot
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg

from workflow import Actor, Engine
from workflow.records import NewHistoryEntry
from workflow.store import cases_t, history_t, spans_t
from workflow.store.fast import _converters
from workflow.store.tables import events_t, paper_counters_t, papers_t

DEST_CLERK = Actor("c-12", "destination_clerk", "440300")
# One value of each kind the fast path writes, by the column's type.
SAMPLES = {
    sa.Date: [dt.date(2025, 10, 9), None],
    sa.DateTime: [dt.datetime(2025, 10, 9, 8, 30, tzinfo=dt.UTC),
                  dt.datetime(2025, 10, 9, 8, 30, 1, 7, tzinfo=dt.timezone(dt.timedelta(hours=8)))],
    sa.JSON: [[], {}, ["id_card", "户口簿"], {"amount": "12.30", "n": [1, None]}],
    sa.Boolean: [True, False, None],
}


def _sqlalchemy_bind(column: sa.Column, dialect: sa.Dialect, value: object) -> object:
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return value if processor is None else processor(value)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), psycopg.dialect()], ids=["sqlite", "pg"])
@pytest.mark.parametrize("table", [cases_t, history_t, spans_t, events_t, papers_t],
                         ids=lambda t: t.name)
def test_each_column_the_fast_path_writes_gets_the_value_sqlalchemy_would_bind(table, dialect):
    """For every column of the tables a step writes, the fast path's conversion gives what
    SQLAlchemy's own bind processing gives (dates, UTC timestamps, JSON, booleans), and the
    columns it leaves alone are those SQLAlchemy leaves alone."""
    convert = _converters(table, dialect.name)
    checked = 0
    for column in table.c:
        kind = column.type.impl if isinstance(column.type, sa.TypeDecorator) else column.type
        samples = next((v for t, v in SAMPLES.items() if isinstance(kind, t)), None)
        if samples is None:
            assert column.name not in convert
            assert _sqlalchemy_bind(column, dialect, "text") == "text"
            continue
        for value in samples:
            if value is None and isinstance(kind, sa.JSON):
                continue
            ours = convert[column.name](value) if column.name in convert else value
            theirs = _sqlalchemy_bind(column, dialect, value)
            if dialect.name == "postgresql" and isinstance(kind, sa.JSON):
                ours, theirs = ours.obj, theirs.obj  # both psycopg's Json wrapper
            assert ours == theirs, (column.name, value)
            checked += 1
    assert checked > 0


def logged_step(url: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    """What SQLAlchemy's engine logger says of one step fired with ``echo=True``."""
    with Engine(url) as engine:
        case = open_case(engine)
    with Engine(url, echo=True) as engine, \
            caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
        engine.fire(case.id, "review", actor=DEST_CLERK, on=dt.date(2025, 10, 9))
    return [r.getMessage() for r in caplog.records]


def test_with_echo_the_step_statements_are_logged_without_their_values(
        db_url, schema_copy, caplog):
    """``echo=True`` shows the fast path's statements on SQLAlchemy's engine logger, saying
    how many rows, but never the values: no ID number of the case read or written."""
    fast = [m for m in logged_step(schema_copy(db_url), caplog) if "[driver's cursor" in m]
    assert any(m.startswith("SELECT") and "transfer_case" in m for m in fast)
    assert any(m.startswith("UPDATE transfer_case") for m in fast)
    assert any(m.startswith("INSERT INTO case_history") for m in fast)
    assert not any(PERSON_ID in m or "440300" in m for m in fast)


def test_with_echo_no_statement_shows_its_values_sqlalchemys_own_included(
        db_url, schema_copy, caplog):
    """People's ID numbers never appear in logs: with ``echo=True``, the statements that go
    through SQLAlchemy (opening a case, a paper's step, a search) are logged without their
    parameters too, as the fast path's are."""
    with Engine(schema_copy(db_url), definitions=SHIPPED, echo=True) as engine, \
            caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
        case = open_case(engine, person_id=PERSON_ID)
        for trigger in ("review", "send_letter"):
            engine.fire(case.id, trigger, actor=DEST_CLERK, on=dt.date(2025, 10, 9))
        assert [c.id for c in engine.cases(person_id=PERSON_ID)] == [case.id]
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("INSERT INTO transfer_case") for m in messages)
    assert not [m for m in messages if PERSON_ID in m or "张三" in m]


def test_a_constraint_broken_on_the_fast_path_is_sqlalchemys_integrity_error_and_rolls_back(
        engine):
    """A history row whose step number the case has already is refused by the unique key as
    ``sqlalchemy.exc.IntegrityError`` (as before the fast path), and the transaction's other
    writes are rolled back with it."""
    case = open_case(engine)
    before = snapshot(engine)

    def step(seq: int) -> NewHistoryEntry:
        return NewHistoryEntry(case.id, seq, "review", "applied", "reviewed", "c-12",
                               "destination_clerk", "440300", dt.date(2025, 10, 9),
                               dt.datetime.now(dt.UTC), [], None, {})

    with pytest.raises(sa.exc.IntegrityError), engine.store.cases.transaction() as tx:
        tx.insert_history([step(2)])
        tx.insert_history([step(1)])  # seq 1 is the opening's
    assert snapshot(engine) == before


def test_values_converted_once_are_shared_only_when_their_json_would_be_the_same():
    """Both write paths convert each distinct value once (``content_key``): [1] and [True],
    or {"n": 1} and {"n": True}, are equal in Python but not the same JSON, so they never
    share a conversion; equal lists do."""
    from workflow.store.fast import content_key

    assert content_key([1]) != content_key([True])
    assert content_key({"n": 1}) != content_key({"n": True})
    assert content_key(1) != content_key(True)
    assert content_key(["id_card"]) == content_key(["id_card"])


def _history_row(case_id: int, seq: int) -> NewHistoryEntry:
    return NewHistoryEntry(case_id, seq, "review", "applied", "reviewed", "c-12",
                           "destination_clerk", "440300", dt.date(2025, 10, 9),
                           dt.datetime.now(dt.UTC), [], None, {})


def test_the_cursors_writes_and_sqlalchemys_statements_of_one_transaction_roll_back_together(
        engine):
    """The store's transaction runs on the pooled DB-API connection and makes SQLAlchemy's
    connection only when a statement needs it (here an idempotency key): that statement and
    the fast path's writes before and after it are one transaction, so an error undoes all
    of them, and the connection is back in the pool."""
    case = open_case(engine)
    before = snapshot(engine)
    with pytest.raises(RuntimeError, match="after both"), \
            engine.store.cases.transaction() as tx:
        tx.insert_history([_history_row(case.id, 2)])
        assert tx.claim_idempotency_key("k-1", case.id, "hash", dt.datetime.now(dt.UTC)) is None
        tx.insert_history([_history_row(case.id, 3)])
        raise RuntimeError("after both")
    assert snapshot(engine) == before
    assert engine.db.pool.checkedout() == 0


def test_the_cursors_writes_and_sqlalchemys_statements_of_one_transaction_commit_together(
        engine):
    """Without an error, the fast path's writes and the statement SQLAlchemy ran on the same
    connection are all committed, visible to another connection, and the connection is back
    in the pool."""
    case = open_case(engine)
    with engine.store.cases.transaction() as tx:
        tx.insert_history([_history_row(case.id, 2)])
        tx.claim_idempotency_key("k-2", case.id, "hash", dt.datetime.now(dt.UTC))
    with engine.db.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(history_t)
                           .where(history_t.c.case_id == case.id)) == 2
        assert conn.scalar(sa.text("SELECT count(*) FROM idempotency_key WHERE key = 'k-2'")) == 1
    assert engine.db.pool.checkedout() == 0


def test_a_step_that_issues_a_paper_writes_it_on_the_drivers_cursor_in_the_steps_transaction(
        db_url, schema_copy):
    """A step that issues a paper (``send_letter``: the contact letter) takes the paper's
    number and keeps the paper on the fast path: no SQLAlchemy ``Connection`` is made for
    it, and the paper, its number and the step are committed together."""
    with Engine(schema_copy(db_url), definitions=SHIPPED) as engine:
        _paper_step_alone(engine)


def _paper_step_alone(engine: Engine) -> None:
    case = open_case(engine)
    engine.fire(case.id, "review", actor=DEST_CLERK, on=dt.date(2025, 10, 9))
    made: list[object] = []

    def connected(conn: sa.Connection) -> None:
        made.append(conn)

    sa.event.listen(engine.db, "engine_connect", connected)
    try:
        engine.fire(case.id, "send_letter", actor=DEST_CLERK, on=dt.date(2025, 10, 9))
    finally:
        sa.event.remove(engine.db, "engine_connect", connected)
    assert made == []
    [paper] = engine.papers(case.id)
    assert (paper.kind, paper.seq) == ("contact_letter", 1)
    with engine.db.connect() as conn:
        assert conn.scalar(sa.select(paper_counters_t.c["last"])) == 1
        assert conn.scalar(sa.select(papers_t.c.html).where(papers_t.c.id == paper.id))


def test_with_echo_the_steps_commit_is_logged(db_url, schema_copy, caplog):
    """``echo=True`` shows the commit of a step's transaction, which no longer goes through
    SQLAlchemy's ``Connection``, beside its statements."""
    messages = logged_step(schema_copy(db_url), caplog)
    assert "COMMIT [driver's connection]" in messages
    last_update = max(i for i, m in enumerate(messages) if m.startswith("UPDATE transfer_case"))
    assert messages.index("COMMIT [driver's connection]") > last_update


def test_event_ids_read_at_once_are_distinct_version_4_uuids_as_uuid4_hex_writes_them():
    """A bulk opening takes its events' ids from one read of the system's randomness: each is
    a random UUID (version 4, RFC 4122 variant) in ``uuid.uuid4().hex``'s form, none twice."""
    import uuid

    from workflow.records import event_ids

    ids = event_ids(5000)
    assert len(set(ids)) == 5000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, text)
