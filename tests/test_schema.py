"""The schema is managed by the migrations shipped in the package."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import open_case

from workflow import Engine, SchemaMismatch, store


def test_the_migrations_build_exactly_the_tables_the_code_uses(db_url):
    """Upgrading an empty database with the shipped migrations builds exactly the tables, columns
    and indexes the code declares for that database (an index declared for one kind of
    database only, ``ddl_if``, is compared on that one): autogenerate finds no difference."""
    db = store.connect(db_url)
    store.upgrade(db)

    def declared_here(obj, _name, kind, reflected, _compare_to) -> bool:
        only = getattr(obj, "_ddl_if", None) if kind == "index" and not reflected else None
        return only is None or only.dialect == db.dialect.name

    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": declared_here})
        diff = compare_metadata(context, store.TABLES[0].metadata)
    db.dispose()
    ours = {t.name for t in store.TABLES}
    relevant = [d for d in diff if not (d[0] in ("add_table", "remove_table")
                                        and d[1].name not in ours)]
    assert relevant == []


def _shape(url: str) -> dict[str, dict[str, object]]:
    """Every table of the database as reflected: columns (by name: their order is the order
    they were added in), primary key, foreign keys, indexes (with a partial index's WHERE),
    unique and check constraints."""
    db = store.connect(url)
    shape: dict[str, dict[str, object]] = {}
    with db.connect() as conn:
        inspector = sa.inspect(conn)
        for table in inspector.get_table_names():
            shape[table] = {
                "columns": {c["name"]: (str(c["type"].compile(dialect=db.dialect)),
                                        c["nullable"], c.get("default"))
                            for c in inspector.get_columns(table)},
                "primary key": inspector.get_pk_constraint(table),
                "foreign keys": sorted(map(repr, inspector.get_foreign_keys(table))),
                "indexes": sorted(
                    repr((i["name"], i["column_names"], bool(i["unique"]),
                          {k: str(v) for k, v in i.get("dialect_options", {}).items()}))
                    for i in inspector.get_indexes(table)),
                "unique": sorted(map(repr, inspector.get_unique_constraints(table))),
                "checks": sorted(map(repr, inspector.get_check_constraints(table))),
            }
    db.dispose()
    return shape


def _empty(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(sa.engine.make_url(url).database or "")
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        return
    db = sa.create_engine(url)
    with db.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.dispose()


def test_a_new_database_made_without_alembic_equals_one_made_by_every_migration(db_url):
    """An engine on an empty database makes the schema from the tables' declarations and
    stamps it with HEAD_REVISION, without Alembic; the result equals, table by table (columns
    with their types, nullability and defaults, keys, indexes with their WHERE, unique and
    check constraints, Alembic's version table), the database every shipped migration builds."""
    db = store.connect(db_url)
    store.upgrade(db)
    db.dispose()
    migrated = _shape(db_url)
    _empty(db_url)
    Engine(db_url).close()
    created = _shape(db_url)
    assert "transfer_case" in created and "alembic_version" in created
    assert created == migrated
    db = store.connect(db_url)
    assert store.current_revision(db) == store.head_revision()
    db.dispose()


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
