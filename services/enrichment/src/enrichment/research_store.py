"""Postgres adapters: the research cache and the cost log reader."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from enrichment.research import Research
from enrichment.store import company_research

# One statement each, so no transaction around it: autocommit saves the BEGIN and COMMIT/ROLLBACK round trips.
SINGLE_STATEMENT = {"isolation_level": "AUTOCOMMIT"}


class SqlResearchStore:
    """`company_research`, one row per domain; a newer research replaces the older one."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def load(self, domain: str) -> Research | None:
        async with self._sessions() as session:
            conn = await session.connection(execution_options=SINGLE_STATEMENT)
            row = (await conn.execute(select(company_research).where(company_research.c.domain == domain))).first()
        if row is None:
            return None
        return Research(
            row.domain, row.fields, row.summary, row.summary_source, row.researched_at, row.expires_at, row.reasons
        )

    async def save(self, research: Research) -> None:
        values = {
            "fields": research.fields,
            "summary": research.summary,
            "summary_source": research.summary_source,
            "reasons": research.reasons,
            "researched_at": research.researched_at,
            "expires_at": research.expires_at,
        }
        async with self._sessions() as session:
            conn = await session.connection(execution_options=SINGLE_STATEMENT)
            await conn.execute(
                insert(company_research)
                .values(domain=research.domain, **values)
                .on_conflict_do_update(index_elements=[company_research.c.domain], set_=values)
            )
