"""Alembic's environment: run on the connection the directory hands it (async engines run
migrations through `connection.run_sync`), or on a URL from the command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from directory.tables import Base

config = context.config
connection = config.attributes.get("connection")


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite changes tables by copying them: batch mode does it for every migration.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    with create_engine(url).connect() as sync_connection:
        run(sync_connection)
        sync_connection.commit()
