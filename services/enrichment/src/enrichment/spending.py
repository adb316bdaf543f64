"""Who spent what: every provider call is recorded, and paid calls are reserved against the campaign budget.

The ledger keeps each campaign's spend in memory, seeded once from the `provider_calls` table, so checking the
budget costs no database round trip per call. A reservation is taken *before* a paid call and given back when
the call fails (providers bill answers, not outages). With several replicas each one knows only its own
reservations since it loaded, so the budget can be overshot by at most the calls in flight elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
SERVICE = "enrichment"


@dataclass(frozen=True)
class ProviderCall:
    """One row of the cost log (seed 001's api_cost_log)."""

    operation: str
    provider: str
    units: int
    cost_usd: float
    success: bool
    detail: str = ""
    service: str = SERVICE


class SpendLedger:
    """Spend per campaign, shared by every lead this process handles."""

    def __init__(self, load: Callable[[str], Awaitable[float]]) -> None:
        self._load = load
        self._spent: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _ensure(self, campaign_id: str) -> None:
        if campaign_id in self._spent:
            return
        async with self._locks.setdefault(campaign_id, asyncio.Lock()):
            if campaign_id not in self._spent:
                self._spent[campaign_id] = await self._load(campaign_id)

    async def reserve(self, campaign_id: str, cost: float, budget: float | None) -> bool:
        """Take `cost` from the budget; False (nothing taken) when it would go over."""
        await self._ensure(campaign_id)
        if budget is not None and self._spent[campaign_id] + cost > budget + 1e-9:
            return False
        self._spent[campaign_id] += cost
        return True

    def release(self, campaign_id: str, cost: float) -> None:
        """Give back a reservation whose call failed."""
        self._spent[campaign_id] -= cost

    def spent(self, campaign_id: str) -> float:
        return self._spent.get(campaign_id, 0.0)


@dataclass
class Spend:
    """One lead's spending: its calls (for the cost log) and whether the budget stopped a paid call."""

    campaign_id: str
    budget_usd: float | None
    ledger: SpendLedger
    calls: list[ProviderCall] = field(default_factory=list)
    over_budget: bool = False

    async def can_afford(self, cost: float) -> bool:
        """Reserve `cost`; remembers a refusal so the use case can raise the budget alert."""
        if cost <= 0:
            return True
        if await self.ledger.reserve(self.campaign_id, cost, self.budget_usd):
            return True
        self.over_budget = True
        return False

    async def call(self, operation: str, provider: str, cost: float, fn: Callable[[], Awaitable[T]]) -> T:
        """Run a reserved call and log it; failures and misses (None) are logged at no cost."""
        try:
            result = await fn()
        except Exception as error:
            if cost > 0:
                self.ledger.release(self.campaign_id, cost)
            self.calls.append(ProviderCall(operation, provider, 1, 0.0, False, str(error)[:500]))
            raise
        if result is None:  # a miss: the providers we use bill matches only
            if cost > 0:
                self.ledger.release(self.campaign_id, cost)
            self.calls.append(ProviderCall(operation, provider, 1, 0.0, True, "no match"))
            return result
        self.calls.append(ProviderCall(operation, provider, 1, cost, True))
        return result
