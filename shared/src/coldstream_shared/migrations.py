"""Per-service Alembic environments: each schema has its own migration chain and version table."""

from __future__ import annotations

import asyncio

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


def alembic_config(package: str, database_url: str) -> Config:
    """An in-memory Alembic config for `<package>/migrations` (no alembic.ini to keep in sync)."""
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(package: str, database_url: str) -> None:
    """Bring one service's schema to its latest revision. Safe to run concurrently (advisory lock)."""
    command.upgrade(alembic_config(package, database_url), "head")


def run_env(metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    schema = metadata.schema
    assert schema, "service metadata must name its schema"
    url = context.config.get_main_option("sqlalchemy.url")
    assert url

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            # Serialise concurrent starts of the same service (replicas, `coldstream up` + service start).
            context.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))").bindparams(s=f"migrate:{schema}"))
            context.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(main())


def create_standard_tables(schema: str) -> None:
    """Revision-0001 helper: the processed-events inbox and the outbox (frozen: change them in new revisions)."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=schema,
    )
    op.create_table(
        "outbox",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        schema=schema,
    )
    op.create_index(
        f"ix_{schema}_outbox_pending",
        "outbox",
        ["created_at"],
        schema=schema,
        postgresql_where=sa.text("published_at IS NULL"),
    )
