"""Schema migrations (Alembic, shipped in ``workflow/store/migrations``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine as SAEngine

from ..errors import InvalidInput, SchemaMismatch
from .tables import TABLES

if TYPE_CHECKING:
    from alembic.config import Config


def _alembic_config(conn: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "workflow.store:migrations")
    cfg.attributes["connection"] = conn
    return cfg


#: The revision this code needs (the newest migration). Kept here so that starting an engine on
#: an up-to-date database does not load Alembic (about 13 MB); a test checks it against the
#: migrations.
HEAD_REVISION = "0016"


def head_revision() -> str:
    """The newest revision of the shipped migrations."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "the package ships its migrations"
    return head


def current_revision(db: SAEngine) -> str | None:
    """The schema revision the database is at; None for a database without our tables."""
    with db.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        if "alembic_version" in names:
            revision: str | None = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            return revision
    if "transfer_case" in names:
        raise SchemaMismatch(
            "the database has sstransfer tables but no schema revision (made by a development "
            "build before migrations): recreate it")
    return None


_SCHEMA_LOCK = 0x5573_7472  # PostgreSQL advisory lock taken while the schema is changed


def upgrade(db: SAEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the code's), all or nothing."""
    from alembic import command
    from alembic.util import CommandError

    check_revision(revision)
    try:
        with _schema_transaction(db) as conn:
            command.upgrade(_alembic_config(conn), revision)
    except CommandError as exc:  # e.g. a target older than the database
        raise InvalidInput(f"cannot upgrade the schema to {revision!r}: {exc}") from None


@contextmanager
def _schema_transaction(db: SAEngine) -> Iterator[sa.Connection]:
    """One transaction holding the schema lock: all of a schema change or none of it."""
    with db.connect() as conn:
        if conn.dialect.name == "sqlite":
            # pysqlite runs DDL outside any transaction unless the connection manages it, so
            # a killed start left half a schema: take the write lock and run it all in one.
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        with conn.begin():
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:  # one creator at a time; the others then find the schema made
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            yield conn


#: Alembic's own table, as Alembic makes it, for a schema made without Alembic.
_VERSION_TABLE = sa.Table(
    "alembic_version", sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


def create_schema(db: SAEngine) -> None:
    """Make the newest schema in an empty database from the tables' declarations and stamp it
    with :data:`HEAD_REVISION`, without loading Alembic (about 12 MB of a new process's
    memory); ``tests/test_schema.py`` pins that it equals what every migration builds.

    Under the schema lock, in one transaction: a start killed half-way leaves nothing, and a
    second start racing this one finds the schema made and leaves it.
    """
    with _schema_transaction(db) as conn:
        if sa.inspect(conn).has_table(_VERSION_TABLE.name):
            return  # another start made it meanwhile
        TABLES[0].metadata.create_all(conn, tables=TABLES)
        _VERSION_TABLE.create(conn)
        conn.execute(_VERSION_TABLE.insert().values(version_num=HEAD_REVISION))


def check_revision(revision: str) -> None:
    """Refuse a schema revision this sstransfer does not ship (before touching a database)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        if revision.strip():
            ScriptDirectory.from_config(_alembic_config()).get_revisions(revision)
            return
    except CommandError:
        pass
    raise InvalidInput(f"no schema revision {revision!r}: give `head` or one of "
                       f"{', '.join(sorted(_known_revisions()))}")


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def ensure_schema(db: SAEngine, *, auto_upgrade: bool | None = None) -> None:
    """Create the schema in an empty database; refuse one at another revision.

    ``auto_upgrade`` (default: on for SQLite files) upgrades an older schema instead.
    """
    current = current_revision(db)
    if current == HEAD_REVISION:
        return
    if current is None:
        create_schema(db)
        return
    head = head_revision()
    if current not in _known_revisions():
        raise SchemaMismatch(
            f"the database schema is at revision {current}, newer than this sstransfer "
            f"({head}): upgrade the sstransfer package")
    if auto_upgrade if auto_upgrade is not None else db.dialect.name == "sqlite":
        upgrade(db)
        return
    raise SchemaMismatch(
        f"the database schema is at revision {current} but this sstransfer needs {head}: "
        f"run `sstransfer --db URL db upgrade`")
