"""The campaign's enrichment policy: kept from `campaign.started`, read (cached) for every lead."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coldstream_shared.campaign import EnrichmentPolicy
from coldstream_shared.events import CampaignStarted
from coldstream_shared.unit_of_work import UnitOfWork
from enrichment.store import campaigns, provider_calls

POLICY_CACHE_SECONDS = 60.0


class CampaignPolicies:
    """Policies by campaign, cached briefly (another replica may have stored a newer one)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions = sessions
        self._clock = clock
        self._cache: dict[str, tuple[float, EnrichmentPolicy | None]] = {}

    async def get(self, campaign_id: str) -> EnrichmentPolicy | None:
        """The campaign's policy, or None when its campaign.started has not reached us."""
        cached = self._cache.get(campaign_id)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        async with self._sessions() as session:
            stored = await session.scalar(select(campaigns.c.policy).where(campaigns.c.campaign_id == campaign_id))
        policy = EnrichmentPolicy.model_validate(stored) if stored is not None else None
        # An unknown campaign is asked again next time: its campaign.started may be on its way.
        if policy is not None:
            self.remember(campaign_id, policy)
        return policy

    def remember(self, campaign_id: str, policy: EnrichmentPolicy) -> None:
        self._cache[campaign_id] = (self._clock() + POLICY_CACHE_SECONDS, policy)

    async def spent(self, campaign_id: str) -> float:
        """What the cost log says this campaign has spent (seeds the in-memory ledger)."""
        async with self._sessions() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(provider_calls.c.cost_usd), 0)).where(
                    provider_calls.c.campaign_id == campaign_id
                )
            )
        return float(total or 0)


async def claim_budget_alert(session: AsyncSession, campaign_id: str) -> bool:
    """True exactly once per campaign: the first lead to find the budget spent raises the alert."""
    result = await session.execute(
        update(campaigns)
        .where(campaigns.c.campaign_id == campaign_id, campaigns.c.budget_alerted_at.is_(None))
        .values(budget_alerted_at=func.now())
        .returning(campaigns.c.campaign_id)
    )
    return result.first() is not None


class RememberCampaign:
    """Store (or replace) a started campaign's enrichment policy."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], policies: CampaignPolicies) -> None:
        self._uow = unit_of_work
        self._policies = policies

    async def __call__(self, event: CampaignStarted) -> None:
        policy = event.campaign.enrichment
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            values = {"policy": policy.model_dump(mode="json"), "updated_at": func.now()}
            await uow.session.execute(
                insert(campaigns)
                .values(campaign_id=event.campaign_id, **values)
                .on_conflict_do_update(index_elements=[campaigns.c.campaign_id], set_=values)
            )
            await uow.commit()
        self._policies.remember(event.campaign_id, policy)
