"""Waterfall order, validation, budget and the per-domain research cache (in-memory providers, no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from enrichment.providers.resilient import ProviderRejectedError, ProviderUnavailableError
from enrichment.research import CompanyResearcher, Research
from enrichment.spending import Spend, SpendLedger
from enrichment.waterfall import Waterfall, order


class Stub:
    def __init__(self, name: str, cost: float, answer: Any = None, delay: float = 0.0) -> None:
        self.name, self.cost_usd, self._answer, self._delay = name, cost, answer, delay
        self.calls = 0

    async def fetch(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        self.calls += 1
        if self._delay:
            await asyncio.sleep(self._delay)
        if isinstance(self._answer, Exception):
            raise self._answer
        return self._answer


async def no_spend(_: str) -> float:
    return 0.0


def spend(budget: float | None = None, campaign: str = "c1", ledger: SpendLedger | None = None) -> Spend:
    return Spend(campaign, budget, ledger or SpendLedger(no_spend))


async def test_first_valid_result_stops_the_waterfall_and_only_it_is_paid() -> None:
    free_miss = Stub("pattern", 0.0, None)
    down = Stub("down", 0.05, ProviderUnavailableError("down", "answered 503"))
    refuses = Stub("refuses", 0.05, ProviderRejectedError("refuses", "answered 400"))
    invalid = Stub("junk", 0.05, {"title": ""})
    good = Stub("good", 0.10, {"title": "CEO"})
    never = Stub("never", 0.01, {"title": "CTO"})
    s = spend()
    outcome = await Waterfall(
        "person", [free_miss, down, refuses, invalid, good, never], lambda f: bool(f["title"])
    ).run({}, s)
    assert (outcome.fields, outcome.provider) == ({"title": "CEO"}, "good")
    assert never.calls == 0
    assert [(c.provider, c.cost_usd, c.success) for c in s.calls] == [
        ("pattern", 0.0, True),
        ("down", 0.0, False),
        ("refuses", 0.0, False),
        ("junk", 0.05, True),
        ("good", 0.10, True),
    ]
    assert s.ledger.spent("c1") == pytest.approx(0.15)
    assert outcome.reasons[1] == "person: down: answered 503"


async def test_budget_stops_paid_calls_but_free_steps_still_run() -> None:
    ledger = SpendLedger(no_spend)
    paid = Stub("paid", 0.6, {"x": 1})
    first = spend(1.0, ledger=ledger)
    assert (await Waterfall("g", [paid]).run({}, first)).provider == "paid"
    second = spend(1.0, ledger=ledger)
    free = Stub("free", 0.0, {"x": 2})
    outcome = await Waterfall("g", [paid, free]).run({}, second)
    assert (outcome.provider, outcome.over_budget, paid.calls) == ("free", True, 1)
    assert second.over_budget
    assert outcome.reasons[0] == "g: paid skipped (budget reached)"


async def test_ledger_is_seeded_from_the_cost_log_once() -> None:
    loads: list[str] = []

    async def load(campaign: str) -> float:
        loads.append(campaign)
        return 0.95

    ledger = SpendLedger(load)
    assert not await ledger.reserve("c9", 0.1, 1.0)
    assert await ledger.reserve("c9", 0.05, 1.0)
    assert loads == ["c9"]


def test_campaign_order_keeps_only_configured_providers() -> None:
    a, b = Stub("a", 0, None), Stub("b", 0, None)
    assert [p.name for p in order({"a": a, "b": b}, ["b", "zzz", "a"], ("a",))] == ["b", "a"]
    assert [p.name for p in order({"a": a, "b": b}, None, ("a",))] == ["a"]
    assert order({"a": a}, [], ("a",)) == []


class MemoryStore:
    def __init__(self) -> None:
        self.rows: dict[str, Research] = {}

    async def load(self, domain: str) -> Research | None:
        await asyncio.sleep(0)
        return self.rows.get(domain)

    async def save(self, research: Research) -> None:
        self.rows[research.domain] = research


async def test_a_hundred_concurrent_leads_at_one_company_cost_one_research() -> None:
    firmographics = Stub("pdl", 0.1, {"company_size": 120}, delay=0.05)
    website = Stub("website", 0.0, {"summary": "Acme builds rockets.", "summary_source": "https://acme.example/"})
    researcher = CompanyResearcher(MemoryStore(), ttl=timedelta(days=30))
    ledger = SpendLedger(no_spend)
    spends = [spend(ledger=ledger) for _ in range(100)]
    groups = [("company", [firmographics]), ("website", [website])]
    results = await asyncio.gather(
        *(researcher.research("Acme.example", None, s, groups) for s in spends),
        *(researcher.research("other.example", None, s, groups) for s in spends[:10]),
    )
    assert (firmographics.calls, website.calls, researcher.researched) == (2, 2, 2)
    assert results[0].summary == "Acme builds rockets."
    assert results[0].fields == {"company_size": 120}
    assert sum(len(s.calls) for s in spends) == 4, "only the leads that researched log (and pay for) the calls"
    assert ledger.spent("c1") == pytest.approx(0.2)


async def test_research_is_refreshed_after_its_ttl_or_a_campaigns_max_age() -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    firmographics = Stub("pdl", 0.1, {"company_size": 120})
    store = MemoryStore()
    groups = [("company", [firmographics])]

    def researcher() -> CompanyResearcher:  # a fresh process: only the durable store remembers
        return CompanyResearcher(store, ttl=timedelta(days=30), now=lambda: now[0])

    await researcher().research("acme.example", None, spend(), groups)
    now[0] += timedelta(days=10)
    await researcher().research("acme.example", None, spend(), groups)
    assert firmographics.calls == 1, "the stored research is still fresh"
    await researcher().research("acme.example", None, spend(), groups, max_age=timedelta(days=7))
    assert firmographics.calls == 2, "this campaign wants research younger than a week"
    now[0] += timedelta(days=31)
    await researcher().research("acme.example", None, spend(), groups)
    assert firmographics.calls == 3


async def test_incomplete_research_is_kept_briefly() -> None:
    down = Stub("pdl", 0.1, ProviderUnavailableError("pdl", "answered 503"))
    store = MemoryStore()
    result = await CompanyResearcher(store, ttl=timedelta(days=30)).research(
        "acme.example", None, spend(), [("company", [down])]
    )
    assert result.expires_at - result.researched_at == timedelta(hours=1)


class MemoryLeases:
    def __init__(self) -> None:
        self.held: set[str] = set()

    async def claim(self, domain: str) -> bool:
        if domain in self.held:
            return False
        self.held.add(domain)
        return True

    async def release(self, domain: str) -> None:
        self.held.discard(domain)


class FailingOnceStore(MemoryStore):
    async def save(self, research: Research) -> None:
        if not hasattr(self, "failed"):
            self.failed = True
            raise RuntimeError("database went away")
        await super().save(research)


async def test_a_failed_research_gives_its_lease_back_for_the_next_replica() -> None:
    firmographics = Stub("pdl", 0.1, {"company_size": 120})
    store, leases = FailingOnceStore(), MemoryLeases()
    groups = [("company", [firmographics])]
    first = CompanyResearcher(store, ttl=timedelta(days=30), leases=leases)
    with pytest.raises(RuntimeError):
        await first.research("acme.example", None, spend(), groups)
    assert leases.held == set(), "released at once, not left to lapse"

    second = CompanyResearcher(store, ttl=timedelta(days=30), leases=leases, poll_seconds=0.01)
    result = await second.research("acme.example", None, spend(), groups)
    assert (result.fields, firmographics.calls) == ({"company_size": 120}, 2)
    assert leases.held == {"acme.example"}, "a finished research keeps its lease until it lapses: no release"
