"""Postgres adapters: the research cache and the cost log reader."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from enrichment.providers.batching import MicroBatcher
from enrichment.research import Research
from enrichment.store import company_research

# One statement each, so no transaction around it: autocommit saves the BEGIN and COMMIT/ROLLBACK round trips.
SINGLE_STATEMENT = {"isolation_level": "AUTOCOMMIT"}
COLUMNS = ("fields", "summary", "summary_source", "reasons", "researched_at", "expires_at")


class SqlResearchStore:
    """`company_research`, one row per domain; a newer research replaces the older one.

    The domains researched at the same moment are read in one statement and written in one (a micro-batch with no
    linger: what gathered while the previous statement ran goes next), as the group commit does for leads.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        size, linger, in_flight = 500, 0.0, 2
        self._loads: MicroBatcher[str, Research] = MicroBatcher(
            self._load_many, max_size=size, linger=linger, max_in_flight=in_flight
        )
        self._saves: MicroBatcher[Research, None] = MicroBatcher(
            self._save_many, max_size=size, linger=linger, max_in_flight=in_flight
        )

    async def load(self, domain: str) -> Research | None:
        return await self._loads.submit(domain)

    async def save(self, research: Research) -> None:
        await self._saves.submit(research)

    async def _load_many(self, domains: list[str]) -> Sequence[Research | None]:
        async with self._sessions() as session:
            conn = await session.connection(execution_options=SINGLE_STATEMENT)
            rows = (await conn.execute(select(company_research).where(company_research.c.domain.in_(domains)))).all()
        found = {
            row.domain: Research(
                row.domain, row.fields, row.summary, row.summary_source, row.researched_at, row.expires_at, row.reasons
            )
            for row in rows
        }
        return [found.get(domain) for domain in domains]

    async def _save_many(self, researches: list[Research]) -> Sequence[None]:
        # One row per domain: an upsert may not touch the same row twice in one statement (the newest wins).
        latest = {r.domain: r for r in researches}
        rows = [{"domain": r.domain, **{c: getattr(r, c) for c in COLUMNS}} for r in latest.values()]
        statement = insert(company_research)
        statement = statement.on_conflict_do_update(
            index_elements=[company_research.c.domain], set_={c: statement.excluded[c] for c in COLUMNS}
        )
        async with self._sessions() as session:
            conn = await session.connection(execution_options=SINGLE_STATEMENT)
            await conn.execute(statement, rows)
        return [None] * len(researches)
