"""What one lead's processing produced, and how outcomes are stored and announced (many in one transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert as plain_insert
from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.events import CampaignAlert, LeadData, LeadRejected, LeadScraped, LeadVerified
from coldstream_shared.unit_of_work import UnitOfWork, current_trace_context
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
    # Captured where the lead was handled: a group commit stores it from another lead's task, and the events
    # must continue this lead's trace, not that one's.
    trace_context: dict[str, str] = field(default_factory=current_trace_context)

    @property
    def cost(self) -> float:
        return round(sum(call.cost_usd for call in self.spend.calls), 6)

    @property
    def all_reasons(self) -> list[str]:
        return [*self.result.reasons, *self.reasons]


async def record_all(uow: UnitOfWork, outcomes: Sequence[EnrichedLead], service: str) -> None:
    """In the caller's transaction: claim every event, then for those not applied before store the verification
    rows and cost log rows, raise the budget alert (once per campaign) and emit lead.verified/lead.rejected."""
    fresh = await uow.claim_fresh(outcomes, lambda outcome: outcome.event)
    if not fresh:
        return
    await uow.session.execute(
        insert(verifications).on_conflict_do_nothing(),
        [
            {
                "lead_id": o.event.lead_id,
                "campaign_id": o.event.campaign_id,
                "verdict": o.result.verdict,
                "verified_by": o.result.verified_by,
                "reasons": o.all_reasons,
                "enrichment": o.enrichment or None,
                "cost_usd": o.cost,
            }
            for o in fresh
        ],
    )
    calls = [
        {**call.__dict__, "campaign_id": o.event.campaign_id, "lead_id": o.event.lead_id}
        for o in fresh
        for call in o.spend.calls
    ]
    if calls:
        await uow.session.execute(plain_insert(provider_calls), calls)
    alerted: set[str] = set()
    for outcome in fresh:
        campaign_id = outcome.event.campaign_id
        if outcome.spend.over_budget and campaign_id not in alerted:
            alerted.add(campaign_id)
            if await claim_budget_alert(uow.session, campaign_id):
                uow.emit(_budget_alert(outcome, service), trace_context=outcome.trace_context)
        uow.emit(_announcement(outcome, service), trace_context=outcome.trace_context)


def _budget_alert(outcome: EnrichedLead, service: str) -> CampaignAlert:
    event, spend = outcome.event, outcome.spend
    return CampaignAlert.caused_by(
        event,
        producer=service,
        campaign_id=event.campaign_id,
        kind="enrichment_budget_reached",
        message=f"enrichment budget of ${spend.budget_usd} reached; paid providers stop, "
        "leads go on with free checks only",
        details={"spent_usd": round(spend.ledger.spent(event.campaign_id), 4), "budget_usd": spend.budget_usd},
    )


def _announcement(outcome: EnrichedLead, service: str) -> LeadVerified | LeadRejected:
    """lead.verified when enrichment ran (the policy let the verdict through), lead.rejected otherwise."""
    event, result, reasons = outcome.event, outcome.result, outcome.all_reasons
    if outcome.lead is not None:
        return LeadVerified.caused_by(
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
    code = "verification_refused" if outcome.refused else f"verdict_{result.verdict}"
    return LeadRejected.caused_by(
        event,
        producer=service,
        stage="enrichment",
        reason_code=code,
        reason=outcome.refused or "; ".join(reasons),
        email=event.lead.email,
    )
