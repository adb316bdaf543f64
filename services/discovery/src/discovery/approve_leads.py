"""Use case: a person approved a campaign's leads (`campaign.approved`, stage `leads`): release the held ones.

Held leads are published in chunks, one transaction each, under the campaign's row lock (the import's batches
take the same lock, so a batch sees the approval or its held leads are released here). A released lead leaves
`held` for good, so a redelivered or repeated approval publishes nothing twice. Each lead is checked again
against the contact projection first: an address that unsubscribed or bounced while it waited is excluded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import func, select, tuple_, update

from coldstream_shared.errors import TransientError
from coldstream_shared.events import CampaignApproved, LeadData
from coldstream_shared.unit_of_work import UnitOfWork
from discovery.exclusion import COUNTER_FOR_REASON, exclusion_for
from discovery.import_records import contact_facts
from discovery.lead_events import rejected_event, scraped_event
from discovery.outcome_records import log_exclusions
from discovery.outcomes import Outcome
from discovery.scoring import Score
from discovery.store import campaigns, lead_rows, leads

log = logging.getLogger(__name__)
RELEASE_CHUNK = 500


class ApproveLeads:
    """Record who approved the campaign's leads and publish every held lead exactly once."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], chunk: int = RELEASE_CHUNK) -> None:
        self._uow = unit_of_work
        self._chunk = chunk

    async def __call__(self, approved: CampaignApproved) -> None:
        if approved.stage != "leads":
            return  # the sending gate belongs to personalization
        released = 0
        while True:
            async with self._uow() as uow:
                campaign = await self._lock(uow, approved)
                held = (
                    await uow.session.execute(
                        select(leads)
                        .where(leads.c.campaign_id == approved.campaign_id, leads.c.status == "held")
                        .order_by(leads.c.source_index, leads.c.row_number)
                        .limit(self._chunk)
                    )
                ).all()
                if not held:
                    await uow.claim(approved)
                    await uow.commit()
                    break
                await self._release(uow, approved, campaign, held)
                await uow.commit()
                released += len(held)
        log.info("campaign %s: leads approved by %s, %d released", approved.campaign_id, approved.approved_by, released)

    async def _lock(self, uow: UnitOfWork, approved: CampaignApproved) -> Any:
        campaign = (
            await uow.session.execute(select(campaigns).where(campaigns.c.id == approved.campaign_id).with_for_update())
        ).one_or_none()
        if campaign is None:
            # The approval overtook campaign.started (different streams): try again once the campaign is stored.
            raise TransientError(f"campaign {approved.campaign_id} is not known yet", retry_after=10)
        if campaign.leads_approved_at is None:
            await uow.session.execute(
                update(campaigns)
                .where(campaigns.c.id == approved.campaign_id)
                .values(leads_approved_at=approved.occurred_at, leads_approved_by=approved.approved_by)
            )
        return campaign

    async def _release(self, uow: UnitOfWork, approved: CampaignApproved, campaign: Any, held: Sequence[Any]) -> None:
        """Publish (or, when suppressed meanwhile, exclude) one chunk of held leads and move the counters."""
        spec_sending = campaign.spec.get("sending", {})
        emails = {row.email for row in held}
        domains = {row.email.rsplit("@", 1)[-1] for row in held} | {r.company_domain for r in held if r.company_domain}
        facts = await contact_facts(uow.session, emails, domains, int(spec_sending.get("recontact_after_days", 90)))
        published: list[Any] = []
        excluded: list[Outcome] = []
        for row in held:
            lead = LeadData.model_validate(row.data)
            exclusion = exclusion_for(lead, facts)
            token = otel_context.attach(propagate.extract(row.trace_carrier or {}))
            score = Score(row.score, row.tier, row.score_breakdown or {})
            try:
                if exclusion is None:
                    uow.emit(scraped_event(approved, row.lead_id, row.lead_id, lead, row.source, row.row_number, score))
                    published.append(row)
                    continue
                outcome = Outcome(
                    "excluded", row.lead_id, row.source_index, row.row_number, row.email, lead,
                    exclusion.reason_code, f"while waiting for approval: {exclusion.sentence}", score=score,
                    exclusion=exclusion,
                )  # fmt: skip
                uow.emit(rejected_event(approved, row.lead_id, outcome))
                excluded.append(outcome)
            finally:
                otel_context.detach(token)
        await self._record(uow, approved.campaign_id, published, excluded)

    @staticmethod
    async def _record(uow: UnitOfWork, campaign_id: str, published: list[Any], excluded: list[Outcome]) -> None:
        session = uow.session
        for status, rows in (("published", published), ("excluded", excluded)):
            if not rows:
                continue
            await session.execute(
                update(leads).where(leads.c.lead_id.in_([r.lead_id for r in rows])).values(status=status)
            )
            # By the rows' primary key (campaign, source, row number), not by lead id, which has no index there.
            positions = [(r.source_index, r.row_number) for r in rows]
            await session.execute(
                update(lead_rows)
                .where(
                    lead_rows.c.campaign_id == campaign_id,
                    tuple_(lead_rows.c.source_index, lead_rows.c.row_number).in_(positions),
                )
                .values(outcome=status)
            )
        for o in excluded:
            await session.execute(
                update(lead_rows)
                .where(
                    lead_rows.c.campaign_id == campaign_id,
                    lead_rows.c.source_index == o.source_index,
                    lead_rows.c.row_number == o.row_number,
                )
                .values(reason_code=o.reason_code, reason=o.reason)
            )
        await log_exclusions(session, campaign_id, excluded)
        counters: dict[str, Any] = {
            "held": campaigns.c.held - len(published) - len(excluded),
            "published": campaigns.c.published + len(published),
            "excluded": campaigns.c.excluded + len(excluded),
            "cross_excluded": campaigns.c.cross_excluded + len(excluded),
            "available": campaigns.c.available - len(excluded),
        }
        for o in excluded:
            # Left out after all: it leaves `available` and `scored` (and its tier), so the identities still hold.
            assert o.exclusion is not None
            assert o.score is not None
            for column, amount in (
                (COUNTER_FOR_REASON[o.exclusion.reason], 1),
                ("scored", -1),
                ("score_total", -o.score.score),
                (f"tier_{o.score.tier.lower()}", -1),
            ):
                counters[column] = counters.get(column, campaigns.c[column]) + amount
        await session.execute(
            update(campaigns).where(campaigns.c.id == campaign_id).values(updated_at=func.now(), **counters)
        )
