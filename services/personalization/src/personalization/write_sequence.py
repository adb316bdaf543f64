"""Use case: write a verified lead's sequence (every variant), gate it, then publish, queue for approval or hold."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncEngine

from coldstream_shared.errors import TransientError
from coldstream_shared.events import CampaignAlert, LeadVerified
from coldstream_shared.unit_of_work import UnitOfWork
from personalization.brief import brief_for, grounding_text
from personalization.campaign import Campaign
from personalization.lead_context import LeadContexts
from personalization.outcomes import generated_event, held_event
from personalization.quality import GateContext, QualityReport
from personalization.record_campaign import SERVICE
from personalization.records import log_calls
from personalization.store_outcomes import SettledLead, StoreOutcomes
from personalization.variants import VariantOutcome, chosen_variant, write_variant
from personalization.writer import SequenceWriter, WriteRequest


class WriteSequence:
    """Turn `lead.verified` into `email.generated` (now, or when sending is approved), or `email.held`."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], writer: SequenceWriter, engine: AsyncEngine) -> None:
        self._uow = unit_of_work
        self._writer = writer
        self._contexts = LeadContexts(engine)
        # Leads written at the same time share a transaction (claims, rows, outbox): see store_outcomes.py.
        self._store = StoreOutcomes(unit_of_work, writer)

    async def __call__(self, event: LeadVerified) -> None:
        # Short transactions only: the writes below may be long model calls, and no database transaction
        # should stay open across them. The read before them needs none at all (it emits nothing).
        known = await self._contexts.read(event, count_spending=self._writer.writer == "llm")
        if known is None:
            # Consumers run independently: campaign.started may simply not be applied yet. Redelivered later.
            raise TransientError(f"campaign {event.campaign_id} is not known to personalization yet")
        campaign, prompt, spent = known.campaign, known.prompt, known.spent
        if known.done:  # a redelivery after the sequence was stored: never pay for it twice
            await self._store(SettledLead(event, campaign, "-"))
            return
        budget = campaign.policy.budget_usd if self._writer.writer == "llm" else None
        if budget is not None and spent >= budget:
            await self._store(self._held_for_budget(event, campaign, spent, budget))
            return

        brief = brief_for(event, campaign)
        context = GateContext(grounding_text(brief, campaign), brief.personal_terms, campaign.policy.quality_threshold)
        version = self._writer.prompt_version(prompt)
        outcomes: list[VariantOutcome] = []
        try:
            for variant in range(1, campaign.variants + 1):
                request = WriteRequest(brief, campaign, prompt, variant)
                outcomes.append(await write_variant(self._writer, request, context))
        except Exception:
            # The money is spent even though this delivery failed: log what the finished variants cost.
            await self._log_costs(SettledLead(event, campaign, version, outcomes))
            raise
        await self._store(self._settled(event, campaign, version, outcomes))

    async def _log_costs(self, lead: SettledLead) -> None:
        async with self._uow() as uow:
            await log_calls(uow.session, lead.costs())
            await uow.commit()

    def _settled(
        self, event: LeadVerified, campaign: Campaign, version: str, outcomes: list[VariantOutcome]
    ) -> SettledLead:
        preferred = chosen_variant(event.lead_id, campaign.variants)
        passing = [o for o in outcomes if o.passed]
        # The hashed variant when it passed; else the first that did (a lead is not lost to keep A/B purity;
        # the event says which variant it got, so attribution stays right).
        chosen = next((o for o in passing if o.variant == preferred), passing[0] if passing else None)
        span = trace.get_current_span()
        span.set_attribute("coldstream.variant", chosen.variant if chosen else preferred)
        if chosen is None:
            held = next(o for o in outcomes if o.variant == preferred)
            return SettledLead(event, campaign, version, outcomes, None, held_event(event, version, held))
        span.set_attribute("coldstream.quality_score", chosen.report.score)
        generated = generated_event(self._writer, event, campaign, version, chosen, len(outcomes))
        return SettledLead(event, campaign, version, outcomes, chosen, generated)

    @staticmethod
    def _held_for_budget(event: LeadVerified, campaign: Campaign, spent: float, budget: float) -> SettledLead:
        reason = f"campaign budget of ${budget:.2f} used up (${spent:.4f} spent)"
        variant = chosen_variant(event.lead_id, campaign.variants)
        report = QualityReport(0.0, {}, [reason], campaign.policy.quality_threshold, ["budget_exhausted"])
        outcome = VariantOutcome(variant, None, report, 0, reason_code="budget_exhausted")
        alert = CampaignAlert.caused_by(
            event,
            producer=SERVICE,
            key="budget_exhausted",
            campaign_id=event.campaign_id,
            kind="budget_exhausted",
            message=f"personalization stopped: {reason}; new leads are held with reason budget_exhausted",
            details={"budget_usd": budget, "spent_usd": round(spent, 6)},
        )
        return SettledLead(event, campaign, "-", [outcome], None, held_event(event, "-", outcome), alert)
