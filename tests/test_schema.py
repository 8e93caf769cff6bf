"""The schema is managed by the migrations shipped in the package."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import open_case

from workflow import Engine, SchemaMismatch, store


def test_the_migrations_build_exactly_the_tables_the_code_uses(db_url):
    """Upgrading an empty database with the shipped migrations builds exactly the tables, columns
    and indexes the code declares: autogenerate finds no difference."""
    db = store.connect(db_url)
    store.upgrade(db)
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), store.TABLES[0].metadata)
    db.dispose()
    ours = {t.name for t in store.TABLES}
    relevant = [d for d in diff if not (d[0] in ("add_table", "remove_table")
                                        and d[1].name not in ours)]
    assert relevant == []


def test_an_engine_on_an_empty_database_creates_the_schema(db_url):
    """An engine started on an empty database creates the schema at the newest revision."""
    with Engine(db_url) as engine:
        assert store.current_revision(engine.db) == store.head_revision()


def test_an_older_schema_is_refused_with_the_command_to_run(db_url):
    """An engine without auto_upgrade refuses a database at an older revision, naming the command
    that upgrades it; with auto_upgrade it upgrades and works."""
    db = store.connect(db_url)
    store.upgrade(db, "0001")
    db.dispose()
    with pytest.raises(SchemaMismatch, match="sstransfer --db URL db upgrade"):
        Engine(db_url, auto_upgrade=False)
    with Engine(db_url, auto_upgrade=True) as engine:
        assert store.current_revision(engine.db) == store.head_revision()
        assert open_case(engine).state == "applied"


def test_an_older_sqlite_file_is_upgraded_automatically(tmp_path):
    """A SQLite file at an older revision is upgraded to the newest when an engine opens it."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = store.connect(url)
    store.upgrade(db, "0001")
    db.dispose()
    with Engine(url) as engine:
        assert store.current_revision(engine.db) == store.head_revision()


def test_a_newer_schema_is_refused(db_url):
    """A database at a revision newer than this sstransfer knows is refused, never written to."""
    with Engine(db_url) as engine, engine.db.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaMismatch, match="newer than this sstransfer"):
        Engine(db_url)


def _create_schema_until_killed(url, ready):
    """Start an engine on an empty database and stop, as if killed, after the third table."""
    import time

    from sqlalchemy import event

    made = []

    @event.listens_for(sa.engine.Engine, "after_cursor_execute")
    def _count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            made.append(statement)
            if len(made) == 3:
                ready.set()
                time.sleep(600)  # killed long before

    Engine(url)


def test_a_start_killed_while_creating_the_schema_leaves_nothing_and_the_next_start_completes_it(
        db_url):
    """SIGKILL in the middle of schema creation: no table is left; the next Engine makes them all."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    child = ctx.Process(target=_create_schema_until_killed, args=(db_url, ready))
    child.start()
    try:
        assert ready.wait(60), "the child never reached the third table"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    db = store.connect(db_url)
    with db.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    db.dispose()
    with Engine(db_url) as engine:
        assert store.current_revision(engine.db) == store.head_revision()
        assert open_case(engine).state == "applied"


def test_the_revision_the_code_needs_is_the_newest_migration():
    """store.schema.HEAD_REVISION (checked at start without loading Alembic) is the head of
    the shipped migrations: a new migration must move it."""
    from workflow.store.schema import HEAD_REVISION

    assert store.head_revision() == HEAD_REVISION
