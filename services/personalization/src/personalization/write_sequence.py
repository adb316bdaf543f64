"""Use case: write a verified lead's sequence, put it through the quality gate, pass it on or reject it."""

from __future__ import annotations

from collections.abc import Callable

from coldstream_shared.errors import TransientError
from coldstream_shared.events import EmailGenerated, LeadRejected, LeadVerified
from coldstream_shared.unit_of_work import UnitOfWork
from personalization.quality import assess
from personalization.record_campaign import SERVICE
from personalization.store import load_campaign, save_sequence
from personalization.writer import SequenceWriter

VARIANT = 1  # variants per step arrive with issue 6


class WriteSequence:
    """Turn `lead.verified` into `email.generated`, or `lead.rejected` when the gate says no."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], writer: SequenceWriter) -> None:
        self._uow = unit_of_work
        self._writer = writer

    async def __call__(self, event: LeadVerified) -> None:
        # Read the campaign in its own short transaction: the write below may be a long LLM call, and no
        # database transaction should stay open across it.
        async with self._uow() as uow:
            campaign = await load_campaign(uow.session, event.campaign_id)
        if campaign is None:
            # Consumers run independently: campaign.started may simply not be applied yet. Redelivered later.
            raise TransientError(f"campaign {event.campaign_id} is not known to personalization yet")

        touches = await self._writer.write(event.lead, campaign)
        report = assess(touches)

        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            await save_sequence(uow.session, event.lead_id, event.campaign_id, VARIANT, self._writer, touches, report)
            if report.passed:
                uow.emit(
                    EmailGenerated.caused_by(
                        event,
                        producer=SERVICE,
                        key=VARIANT,
                        lead_id=event.lead_id,
                        campaign_id=event.campaign_id,
                        lead=event.lead,
                        touches=touches,
                        variant=VARIANT,
                        writer=self._writer.writer,
                        model=self._writer.model,
                        prompt_version=self._writer.prompt_version,
                        quality_score=report.score,
                        quality_breakdown=report.breakdown,
                    )
                )
            else:
                uow.emit(
                    LeadRejected.caused_by(
                        event,
                        producer=SERVICE,
                        lead_id=event.lead_id,
                        campaign_id=event.campaign_id,
                        stage="personalization",
                        reason_code="quality_gate",
                        reason=report.reason(),
                        email=event.lead.email,
                    )
                )
            await uow.commit()
