"""The asyncpg connection under a SQLAlchemy session, for the statements where SQLAlchemy's per-execution work is
the larger cost: COPY of a batch's rows, and the single-address known-contact lookup on a provider's hot path."""

from __future__ import annotations

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def driver_connection(session: AsyncSession, *, in_transaction: bool = True) -> asyncpg.Connection:
    """The session's asyncpg connection; inside the session's transaction unless `in_transaction` is False (a read
    that must not cost a round trip for BEGIN)."""
    connection = await session.connection()
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    if in_transaction and not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement; a write must not run before it.
        await session.execute(text("SELECT 1"))
    return driver
