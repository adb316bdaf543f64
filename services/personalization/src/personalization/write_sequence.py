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
from personalization.outcomes import generated_event, held_event, sequence_row
from personalization.quality import GateContext, QualityReport
from personalization.record_campaign import SERVICE
from personalization.records import claim_budget_alert, log_calls, save_sequence
from personalization.store import sending_approved
from personalization.variants import VariantOutcome, chosen_variant, write_variant
from personalization.writer import SequenceWriter, WriteRequest


class WriteSequence:
    """Turn `lead.verified` into `email.generated` (now, or when sending is approved), or `email.held`."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], writer: SequenceWriter, engine: AsyncEngine) -> None:
        self._uow = unit_of_work
        self._writer = writer
        self._contexts = LeadContexts(engine)

    async def __call__(self, event: LeadVerified) -> None:
        # Short transactions only: the writes below may be long model calls, and no database transaction
        # should stay open across them. The read before them needs none at all (it emits nothing).
        known = await self._contexts.read(event, count_spending=self._writer.writer == "llm")
        if known is None:
            # Consumers run independently: campaign.started may simply not be applied yet. Redelivered later.
            raise TransientError(f"campaign {event.campaign_id} is not known to personalization yet")
        campaign, prompt, spent = known.campaign, known.prompt, known.spent
        if known.done:  # a redelivery after the sequence was stored: never pay for it twice
            async with self._uow() as uow:
                await uow.claim(event)
                await uow.commit()
            return
        budget = campaign.policy.budget_usd if self._writer.writer == "llm" else None
        if budget is not None and spent >= budget:
            await self._hold_for_budget(event, campaign, spent, budget)
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
            await self._log_costs(event, version, outcomes)
            raise
        await self._settle(event, campaign, version, outcomes)

    async def _log_costs(self, event: LeadVerified, version: str, outcomes: list[VariantOutcome]) -> None:
        async with self._uow() as uow:
            await self._log(uow, event, version, outcomes)
            await uow.commit()

    @staticmethod
    async def _log(uow: UnitOfWork, event: LeadVerified, version: str, outcomes: list[VariantOutcome]) -> None:
        for outcome in outcomes:
            await log_calls(uow.session, event.campaign_id, event.lead_id, outcome.variant, version, outcome.calls)

    async def _settle(
        self, event: LeadVerified, campaign: Campaign, version: str, outcomes: list[VariantOutcome]
    ) -> None:
        preferred = chosen_variant(event.lead_id, campaign.variants)
        passing = [o for o in outcomes if o.passed]
        # The hashed variant when it passed; else the first that did (a lead is not lost to keep A/B purity;
        # the event says which variant it got, so attribution stays right).
        chosen = next((o for o in passing if o.variant == preferred), passing[0] if passing else None)
        span = trace.get_current_span()
        span.set_attribute("coldstream.variant", chosen.variant if chosen else preferred)
        async with self._uow() as uow:
            # Costs go in with the outcome (one transaction per lead), and are logged even for a duplicate.
            await self._log(uow, event, version, outcomes)
            if not await uow.claim(event):
                await uow.commit()
                return
            # An auto campaign needs no approval (and no lock on its row); a manual one is read under FOR SHARE.
            approved = campaign.sending_approval == "auto" or await sending_approved(uow.session, event.campaign_id)
            generated = (
                generated_event(self._writer, event, campaign, version, chosen, len(outcomes)) if chosen else None
            )
            for outcome in outcomes:
                status = "held" if not outcome.passed else "unused"
                pending = None
                if outcome is chosen:
                    status = "generated" if approved else "awaiting_approval"
                    pending = None if approved or generated is None else generated.model_dump(mode="json")
                await save_sequence(uow.session, sequence_row(self._writer, event, version, outcome, status, pending))
            if generated is not None:
                span.set_attribute("coldstream.quality_score", generated.quality_score)
                if approved:
                    uow.emit(generated)
            else:
                held = next(o for o in outcomes if o.variant == preferred)
                uow.emit(held_event(event, version, held))
            await uow.commit()

    async def _hold_for_budget(self, event: LeadVerified, campaign: Campaign, spent: float, budget: float) -> None:
        reason = f"campaign budget of ${budget:.2f} used up (${spent:.4f} spent)"
        variant = chosen_variant(event.lead_id, campaign.variants)
        report = QualityReport(0.0, {}, [reason], campaign.policy.quality_threshold, ["budget_exhausted"])
        outcome = VariantOutcome(variant, None, report, 0, reason_code="budget_exhausted")
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            await save_sequence(uow.session, sequence_row(self._writer, event, "-", outcome, "held", None))
            uow.emit(held_event(event, "-", outcome))
            if await claim_budget_alert(uow.session, event.campaign_id):
                uow.emit(
                    CampaignAlert.caused_by(
                        event,
                        producer=SERVICE,
                        key="budget_exhausted",
                        campaign_id=event.campaign_id,
                        kind="budget_exhausted",
                        message=f"personalization stopped: {reason}; new leads are held with reason budget_exhausted",
                        details={"budget_usd": budget, "spent_usd": round(spent, 6)},
                    )
                )
            await uow.commit()
