"""Alembic environment: runs the package's migrations on the connection it is given."""

from alembic import context

from workflow.store.tables import TABLES

target_metadata = TABLES[0].metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # pragma: no cover - the engine always passes its connection
        raise RuntimeError("run migrations through `sstransfer db upgrade`")
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      include_name=lambda name, type_, _: type_ != "table"
                      or name in {t.name for t in TABLES})
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
