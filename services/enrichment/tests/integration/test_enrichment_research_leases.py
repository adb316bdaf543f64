"""Replicas sharing one database research a new domain once: real Postgres, DNS and HTTP provider fakes.

Each "replica" is its own engine (connection pool) and its own enrichers, built as the service builds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from coldstream.fakes.dns import serve_dns
from coldstream.fakes.providers import ProviderState, serve_providers
from coldstream_shared.db import make_engine, make_sessionmaker
from coldstream_shared.migrations import upgrade
from enrichment.enrichers import Enrichers, build_enrichers
from enrichment.research import CompanyResearcher, Research
from enrichment.research_store import SqlResearchLeases
from enrichment.spending import Spend, SpendLedger
from enrichment.store import research_leases
from enrichment.testing import FAKE_ZONE, settings_for_fakes

pytestmark = pytest.mark.integration


@dataclass
class Replica:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    enrichers: Enrichers
    lease_statements: list[str]

    @property
    def researcher(self) -> CompanyResearcher:
        assert self.enrichers.researcher is not None
        return self.enrichers.researcher


@dataclass
class Fleet:
    database_url: str
    providers_url: str
    port: str
    state: ProviderState
    replicas: list[Replica]

    def website(self, domain: str) -> str:
        return f"http://{domain}:{self.port}/"

    async def research(self, replica: Replica, domain: str) -> Research:
        groups = [("company", list(replica.enrichers.company.values()))]
        groups.append(("website", list(replica.enrichers.website.values())))
        spend = Spend("c1", None, SpendLedger(no_spend))
        return await replica.researcher.research(domain, self.website(domain), spend, groups)


async def no_spend(_: str) -> float:
    return 0.0


@pytest.fixture
def fakes() -> Iterator[tuple[int, str, ProviderState]]:
    # Every provider answers after 200 ms, so the replicas' leads are all in flight while the research runs.
    with serve_dns(FAKE_ZONE) as dns_port, serve_providers(ProviderState(latency=0.2)) as (url, state):
        yield dns_port, url, state


@pytest.fixture
async def fleet(fresh_database_url: str, tmp_path: Path, fakes: tuple[int, str, ProviderState]) -> AsyncIterator[Fleet]:
    dns_port, url, state = fakes
    await asyncio.to_thread(upgrade, "enrichment", fresh_database_url)
    settings = settings_for_fakes(
        nats_url="nats://127.0.0.1:4222",  # not used: no broker here, the researchers alone
        database_url=fresh_database_url,
        data_dir=tmp_path,
        providers_url=url,
        dns_port=dns_port,
        dns_timeout=1.0,
        research_poll_seconds=0.05,
    )
    async with AsyncExitStack() as stack:
        replicas = []
        for _ in range(2):
            engine = make_engine(fresh_database_url, service="enrichment")
            stack.push_async_callback(engine.dispose)
            statements: list[str] = []

            def count(conn: Any, cursor: Any, statement: str, *args: Any, into: list[str] = statements) -> None:
                if "research_leases" in statement:
                    into.append(statement)

            event.listen(engine.sync_engine, "before_cursor_execute", count)
            sessions = make_sessionmaker(engine)
            replicas.append(Replica(engine, sessions, build_enrichers(settings, sessions), statements))
        yield Fleet(fresh_database_url, url, url.rsplit(":", 1)[1], state, replicas)


async def test_two_replicas_meeting_a_new_domain_at_once_research_it_once(fleet: Fleet) -> None:
    a, b = fleet.replicas
    leads = [fleet.research(replica, "acme.example") for _ in range(50) for replica in (a, b)]
    results = await asyncio.gather(*leads)

    assert (fleet.state.count("pdl_company"), fleet.state.count("website")) == (1, 1)
    assert a.researcher.researched + b.researcher.researched == 1
    assert results[0].summary
    assert {r.summary for r in results} == {results[0].summary}
    assert {r.researched_at for r in results} == {results[0].researched_at}, "the waiting replica got the same one"
    # The winner claimed once; the waiter claimed once, then once per poll until the research landed.
    winner = a if a.researcher.researched else b
    assert len(winner.lease_statements) == 1

    # A domain already researched costs no lease statement at all, in either replica (a fresh process included).
    before = len(a.lease_statements) + len(b.lease_statements)
    await asyncio.gather(*(fleet.research(replica, "acme.example") for _ in range(20) for replica in (a, b)))
    assert len(a.lease_statements) + len(b.lease_statements) == before
    assert fleet.state.count("pdl_company") == 1


async def test_new_domains_at_once_share_their_lease_claims(fleet: Fleet) -> None:
    a, _ = fleet.replicas
    domains = [f"co{i}.example" for i in range(20)]
    await asyncio.gather(*(fleet.research(a, domain) for domain in domains for _ in range(5)))

    assert fleet.state.count("pdl_company") == 20
    assert 1 <= len(a.lease_statements) <= 20, "at most one claim per new domain, several per statement"


async def test_a_lease_left_by_a_replica_that_died_is_taken_over_once_it_has_run_out(fleet: Fleet) -> None:
    a, b = fleet.replicas
    async with a.sessions() as session:
        await session.execute(
            insert(research_leases).values(
                domain="dead.example", holder="crashed", expires_at=text("now() - interval '1 minute'")
            )
        )
        await session.commit()
    await fleet.research(a, "dead.example")
    assert fleet.state.count("pdl_company") == 1

    # A replica claims a domain and dies mid-research: its lease holds the others off until it runs out.
    crashed = SqlResearchLeases(a.sessions, lease=timedelta(seconds=1))
    assert await crashed.claim("held.example")
    results = await asyncio.gather(*(fleet.research(replica, "held.example") for _ in range(10) for replica in (a, b)))

    assert fleet.state.count("pdl_company") == 2, "one research for held.example, by whichever replica claimed it"
    assert {r.researched_at for r in results} == {results[0].researched_at}
    async with a.sessions() as session:
        lease = select(research_leases.c.holder).where(research_leases.c.domain == "held.example")
        assert await session.scalar(lease) != crashed.holder, "a live replica took the lease over"
