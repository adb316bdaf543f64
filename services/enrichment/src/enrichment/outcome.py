"""What one lead's processing produced, and how it is stored and announced in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert as plain_insert
from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.events import CampaignAlert, LeadData, LeadRejected, LeadScraped, LeadVerified
from coldstream_shared.unit_of_work import UnitOfWork
from enrichment.campaigns import claim_budget_alert
from enrichment.spending import Spend
from enrichment.store import provider_calls, verifications
from enrichment.verification import Verification


@dataclass
class EnrichedLead:
    """The verification, what enrichment found, and what it cost."""

    event: LeadScraped
    result: Verification
    spend: Spend
    refused: str | None = None  # a verifier refused the address for good
    lead: LeadData | None = None
    enrichment: dict[str, Any] = field(default_factory=dict)
    summary: str | None = None
    summary_source: str | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def cost(self) -> float:
        return round(sum(call.cost_usd for call in self.spend.calls), 6)


async def record(uow: UnitOfWork, outcome: EnrichedLead, service: str) -> None:
    """Verification row, cost log rows, the budget alert (once per campaign) and lead.verified/lead.rejected."""
    event, result = outcome.event, outcome.result
    reasons = [*result.reasons, *outcome.reasons]
    await uow.session.execute(
        insert(verifications)
        .values(
            lead_id=event.lead_id,
            campaign_id=event.campaign_id,
            verdict=result.verdict,
            verified_by=result.verified_by,
            reasons=reasons,
            enrichment=outcome.enrichment or None,
            cost_usd=outcome.cost,
        )
        .on_conflict_do_nothing()
    )
    if outcome.spend.calls:
        rows = [
            {**call.__dict__, "campaign_id": event.campaign_id, "lead_id": event.lead_id}
            for call in outcome.spend.calls
        ]
        await uow.session.execute(plain_insert(provider_calls), rows)
    if outcome.spend.over_budget and await claim_budget_alert(uow.session, event.campaign_id):
        spent = outcome.spend.ledger.spent(event.campaign_id)
        uow.emit(
            CampaignAlert.caused_by(
                event,
                producer=service,
                campaign_id=event.campaign_id,
                kind="enrichment_budget_reached",
                message=f"enrichment budget of ${outcome.spend.budget_usd} reached; paid providers stop, "
                "leads go on with free checks only",
                details={"spent_usd": round(spent, 4), "budget_usd": outcome.spend.budget_usd},
            )
        )
    if outcome.lead is not None:
        uow.emit(
            LeadVerified.caused_by(
                event,
                producer=service,
                lead=outcome.lead,
                verdict=result.verdict,
                reasons=reasons,
                verified_by=result.verified_by,
                enrichment=outcome.enrichment,
                company_summary=outcome.summary,
                company_summary_source=outcome.summary_source,
                score=event.score,
                tier=event.tier,
            )
        )
        return
    code = "verification_refused" if outcome.refused else f"verdict_{result.verdict}"
    uow.emit(
        LeadRejected.caused_by(
            event,
            producer=service,
            stage="enrichment",
            reason_code=code,
            reason=outcome.refused or "; ".join(reasons),
            email=event.lead.email,
        )
    )
