"""Postgres adapters: the research cache and the leases that let one replica research a domain at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from enrichment.providers.batching import MicroBatcher
from enrichment.research import Research
from enrichment.store import company_research, research_leases

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


class SqlResearchLeases:
    """`research_leases`: a replica claims a domain before researching it; the claim lapses after `lease`.

    A claim is one upsert that takes the row only if nobody holds it, its lease has run out (by the database's
    clock, the same for every replica), or it is already ours; the domains claimed at the same moment go in one
    statement. A finished research is not released: the saved research is what the waiting replicas look for, and
    a statement saved per new domain is worth more than the lease row lingering until it expires.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, lease: timedelta) -> None:
        self._sessions, self._lease = sessions, lease
        self.holder = uuid.uuid4().hex  # this replica (researcher): the only one whose claims it can renew
        self._claims: MicroBatcher[str, bool] = MicroBatcher(
            self._claim_many, max_size=500, linger=0.0, max_in_flight=2
        )

    async def claim(self, domain: str) -> bool:
        """True when this replica may research `domain` now."""
        return bool(await self._claims.submit(domain))

    async def release(self, domain: str) -> None:
        """Give a claim back early (the research failed), so the next replica need not wait for it to lapse."""
        statement = delete(research_leases).where(
            research_leases.c.domain == domain, research_leases.c.holder == self.holder
        )
        async with self._sessions() as session:
            conn = await session.connection(execution_options=SINGLE_STATEMENT)
            await conn.execute(statement)

    async def _claim_many(self, domains: list[str]) -> Sequence[bool]:
        unique = list(dict.fromkeys(domains))  # an upsert may not touch one row twice: a repeat waits instead
        expires = func.now() + self._lease
        claims = [{"domain": d, "holder": self.holder, "expires_at": expires} for d in unique]
        rows = insert(research_leases).values(claims)
        statement = rows.on_conflict_do_update(
            index_elements=[research_leases.c.domain],
            set_={"holder": rows.excluded.holder, "expires_at": rows.excluded.expires_at},
            where=(research_leases.c.expires_at <= func.now()) | (research_leases.c.holder == self.holder),
        ).returning(research_leases.c.domain)
        async with self._sessions() as session:
            conn = await session.connection(execution_options=SINGLE_STATEMENT)
            claimed = set((await conn.execute(statement)).scalars())
        answers = []
        for domain in domains:
            answers.append(domain in claimed)
            claimed.discard(domain)  # the first of repeated lookups gets the claim
        return answers
