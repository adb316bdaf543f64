"""Building what a lead's outcome is stored and published as: sequence rows, `email.generated`, `email.held`."""

from __future__ import annotations

from typing import Any

from coldstream_shared.events import EmailGenerated, EmailHeld, LeadVerified
from personalization.campaign import Campaign
from personalization.record_campaign import SERVICE
from personalization.records import SequenceRow
from personalization.variants import VariantOutcome
from personalization.writer import SequenceWriter


def generated_event(
    writer: SequenceWriter, event: LeadVerified, campaign: Campaign, version: str, chosen: VariantOutcome, variants: int
) -> EmailGenerated:
    assert chosen.written is not None
    return EmailGenerated.caused_by(
        event,
        producer=SERVICE,
        key=chosen.variant,
        lead_id=event.lead_id,
        campaign_id=event.campaign_id,
        lead=event.lead,
        touches=chosen.written.touches,
        variant=chosen.variant,
        variants=variants,
        writer=writer.writer,
        model=writer.model,
        prompt_version=version,
        quality_score=chosen.report.score,
        quality_breakdown=chosen.report.breakdown,
        framework=chosen.written.framework,
        personalization_level=chosen.written.personalization_level,
    )


def sequence_row(
    writer: SequenceWriter,
    event: LeadVerified,
    version: str,
    outcome: VariantOutcome,
    status: str,
    pending: dict[str, Any] | None,
) -> SequenceRow:
    written = outcome.written
    return SequenceRow(
        lead_id=event.lead_id,
        campaign_id=event.campaign_id,
        variant=outcome.variant,
        status=status,
        selected=status in ("generated", "awaiting_approval"),
        writer=writer.writer,
        model=writer.model,
        prompt_version=version,
        touches=written.touches if written else [],
        report=outcome.report,
        framework=written.framework if written else None,
        personalization_level=written.personalization_level if written else None,
        attempts=outcome.attempts,
        reason_code=outcome.reason_code,
        pending_event=pending,
    )


def held_event(event: LeadVerified, version: str, outcome: VariantOutcome) -> EmailHeld:
    return EmailHeld.caused_by(
        event,
        producer=SERVICE,
        lead_id=event.lead_id,
        campaign_id=event.campaign_id,
        reason_code=outcome.reason_code or "quality_gate",
        reasons=outcome.report.failures,
        quality_score=outcome.report.score,
        prompt_version=version,
        variant=outcome.variant,
    )
