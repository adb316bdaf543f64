"""Use case: someone new was named in a reply (`lead.proposed`: a referral, or "I'm the wrong person, ask X").

The proposed contact becomes one more input row of its campaign and goes through exactly what a file row goes
through: validation, duplicates within the campaign, cross-campaign exclusion, the event window, scoring and the
approval gate. Its outcome is recorded like any row's (source index REFERRAL_SOURCE, numbered in arrival order),
so the campaign's counters still add up.
"""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry import trace
from sqlalchemy import func, select

from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.errors import TransientError
from coldstream_shared.events import LeadData, LeadProposed
from coldstream_shared.unit_of_work import UnitOfWork
from discovery.import_records import campaign_view, lock_import
from discovery.lead_events import emit_in_lead_trace, event_for
from discovery.outcome_records import record_outcomes
from discovery.outcomes import decide, prepare
from discovery.sources import SourceRow
from discovery.store import campaigns, lead_rows

REFERRAL_SOURCE = -1  # lead_rows.source_index of proposed contacts (files are 0, 1, ...)


class ProposeLead:
    """Import one proposed contact into its campaign, once."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def __call__(self, proposed: LeadProposed) -> None:
        async with self._uow() as uow:
            session = uow.session
            spec_json = (
                await session.execute(select(campaigns.c.spec).where(campaigns.c.id == proposed.campaign_id))
            ).scalar_one_or_none()
            if spec_json is None:
                raise TransientError(f"campaign {proposed.campaign_id} is not known yet", retry_after=10)
            if not await uow.claim(proposed):
                return
            state = await lock_import(session, proposed.campaign_id)
            spec = CampaignSpec.model_validate(spec_json)
            previous = await session.execute(
                select(func.coalesce(func.max(lead_rows.c.row_number), 0)).where(
                    lead_rows.c.campaign_id == proposed.campaign_id, lead_rows.c.source_index == REFERRAL_SOURCE
                )
            )
            fields = {"email": proposed.email, "full_name": proposed.full_name or ""}
            row = SourceRow(REFERRAL_SOURCE, previous.scalar_one() + 1, fields, {"referred_by": proposed.referred_by})
            where = f"the contact proposed in a reply ({proposed.reason})"
            lead = prepare(row, where)
            hold = spec.approvals.leads == "manual" and not state.approved
            leads = [lead] if isinstance(lead, LeadData) else []
            view = await campaign_view(session, spec, proposed.campaign_id, leads, hold)
            outcome = decide(row, lead, where, view)
            label = f"reply:{proposed.reason}"
            event = event_for(proposed, outcome, label)
            carrier = emit_in_lead_trace(uow, event, outcome, trace.get_current_span().get_span_context())
            carriers = {outcome.lead_id: carrier} if outcome.kind == "held" else {}
            await record_outcomes(
                session, proposed.campaign_id, [outcome], {REFERRAL_SOURCE: label}, carriers, move_cursor=False
            )
            await uow.commit()
