"""Company research, cached per domain with a freshness TTL: a hundred leads at one company cost one research.

Three guards make that hold under concurrency: in this process, concurrent leads of one domain share a single
research (single flight: the first lead researches, the others await its result); across restarts and
replicas, the `company_research` table is read before researching; and replicas meeting the same new domain at
once race for its lease: the winner researches, the others poll the cache until its research lands, or until
the lease lapses (the winner died) and one of them claims it. The lead that researched pays and logs the
calls; the others get the result for free. Research that missed a group (budget, provider down) is kept for an
hour only, so it is completed soon after instead of living for the full TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from enrichment.spending import Spend
from enrichment.waterfall import Provider, Waterfall

INCOMPLETE_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Research:
    """What we know about a company, from where, and when we learned it."""

    domain: str
    fields: dict[str, Any]
    summary: str | None
    summary_source: str | None
    researched_at: datetime
    expires_at: datetime
    reasons: list[str] = field(default_factory=list)


class ResearchStore(Protocol):
    """Durable research cache."""

    async def load(self, domain: str) -> Research | None: ...

    async def save(self, research: Research) -> None: ...


class ResearchLeases(Protocol):
    """Who researches a domain right now, across replicas (a claim lapses on its own if its holder dies)."""

    async def claim(self, domain: str) -> bool: ...

    async def release(self, domain: str) -> None: ...


class CompanyResearcher:
    """Firmographics and website waterfalls for a domain, behind the cache."""

    def __init__(
        self,
        store: ResearchStore,
        *,
        ttl: timedelta,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        memory_entries: int = 50_000,
        leases: ResearchLeases | None = None,
        poll_seconds: float = 0.25,
    ) -> None:
        self._store, self._ttl, self._now = store, ttl, now
        self._leases, self._poll = leases, poll_seconds
        self._memory: dict[str, Research] = {}
        self._memory_entries = memory_entries
        self._in_flight: dict[str, asyncio.Future[Research]] = {}
        self.researched = 0  # research runs by this process (the benchmark's "one per domain")

    def _fresh(self, research: Research | None, max_age: timedelta | None) -> bool:
        if research is None:
            return False
        now = self._now()
        return research.expires_at > now and (max_age is None or now - research.researched_at <= max_age)

    async def research(
        self,
        domain: str,
        website: str | None,
        spend: Spend,
        groups: Sequence[tuple[str, Sequence[Provider]]],
        max_age: timedelta | None = None,
    ) -> Research:
        key = domain.lower().rstrip(".")
        if self._fresh(cached := self._memory.get(key), max_age):
            assert cached is not None
            return cached
        if (pending := self._in_flight.get(key)) is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Research] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            stored = await self._store.load(key)
            if self._fresh(stored, max_age):
                assert stored is not None
                result = stored
            else:
                result = await self._research_once(key, website, spend, groups, max_age)
            self._remember(result)
            future.set_result(result)
            return result
        except BaseException as error:
            if isinstance(error, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(error)
                future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._in_flight[key]

    async def _research_once(
        self,
        domain: str,
        website: str | None,
        spend: Spend,
        groups: Sequence[tuple[str, Sequence[Provider]]],
        max_age: timedelta | None,
    ) -> Research:
        """Research and save, unless another replica holds the domain: then wait for its research to land."""
        leases = self._leases
        if leases is not None and not await leases.claim(domain):
            while True:
                await asyncio.sleep(self._poll)
                stored = await self._store.load(domain)
                if self._fresh(stored, max_age):
                    assert stored is not None
                    return stored
                if await leases.claim(domain):  # its holder's lease lapsed (it died): research it ourselves
                    break
        try:
            result = await self._run(domain, website, spend, groups)
            await self._store.save(result)
        except Exception:
            if leases is not None:
                with contextlib.suppress(Exception):  # best effort: an unreleased lease still lapses on its own
                    await leases.release(domain)
            raise
        return result

    async def _run(
        self, domain: str, website: str | None, spend: Spend, groups: Sequence[tuple[str, Sequence[Provider]]]
    ) -> Research:
        self.researched += 1
        query = {"domain": domain, "website": website or f"https://{domain}/"}
        outcomes = await asyncio.gather(*(Waterfall(name, providers).run(query, spend) for name, providers in groups))
        fields: dict[str, Any] = {}
        reasons: list[str] = []
        complete = True
        for outcome in outcomes:
            fields.update(outcome.fields)
            reasons += outcome.reasons
            complete = complete and (bool(outcome.fields) or not (outcome.unavailable or outcome.over_budget))
        summary = fields.pop("summary", None)
        source = fields.pop("summary_source", None)
        now = self._now()
        expires = now + (self._ttl if complete else min(self._ttl, INCOMPLETE_TTL))
        return Research(domain, fields, summary, source, now, expires, reasons)

    def _remember(self, research: Research) -> None:
        if len(self._memory) >= self._memory_entries:
            self._memory.pop(next(iter(self._memory)))  # oldest first: bounded memory
        self._memory[research.domain] = research
