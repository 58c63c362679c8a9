"""Alembic environment: the engine comes from arbridge, never from a URL in a file."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import arbridge.store.tables  # noqa: F401  (registers the tables on the metadata)

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
