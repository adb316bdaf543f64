"""Storing what concurrently written leads produced in one transaction: a group commit (coldstream_shared.group_commit).

The template writer needs a millisecond of CPU per lead; its own transaction (begin, claim, sequence rows, cost
rows, outbox, commit) was most of a lead's round trips and of Postgres' work. Now each lead hands its outcome here
and waits; the leads written meanwhile are stored together. Per batch: every event is claimed in one statement;
every model call is logged in one (even a duplicate's: the money is spent); a manual-approval campaign's row is read
once under FOR SHARE (an approval committing at the same time waits for this transaction, then releases what it
stored); every variant row goes in with one statement; the budget alert is raised at most once per campaign; each
lead's event is emitted in its own trace. A redelivered lead whose claim exists stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from coldstream_shared.events import CampaignAlert, EmailGenerated, EmailHeld, LeadVerified
from coldstream_shared.group_commit import Committed, GroupCommit
from coldstream_shared.unit_of_work import UnitOfWork, current_trace_context
from personalization.campaign import Campaign
from personalization.outcomes import sequence_row
from personalization.records import CallsOf, SequenceRow, claim_budget_alert, log_calls, save_sequences
from personalization.store import sending_approved
from personalization.variants import VariantOutcome
from personalization.writer import SequenceWriter


@dataclass(frozen=True)
class SettledLead:
    """A lead's written variants and what to announce, waiting to be stored.

    `outcomes` is empty for a redelivery whose sequence is stored already (only its claim is recorded).
    `announcement` is `email.generated` for the `chosen` variant (published now, or kept until sending is approved),
    or `email.held`. `budget_alert` goes out with it if this campaign's alert was not raised before.
    """

    event: LeadVerified
    campaign: Campaign
    version: str
    outcomes: list[VariantOutcome] = field(default_factory=list)
    chosen: VariantOutcome | None = None
    announcement: EmailGenerated | EmailHeld | None = None
    budget_alert: CampaignAlert | None = None
    # Captured in the lead's own handler: the batch is stored from another lead's task, and the events must
    # continue this lead's trace, not that one's.
    trace_context: dict[str, str] = field(default_factory=current_trace_context)

    def costs(self) -> list[CallsOf]:
        event = self.event
        return [CallsOf(event.campaign_id, event.lead_id, o.variant, self.version, o.calls) for o in self.outcomes]


class StoreOutcomes:
    """`await store(lead)` returns once the lead's outcome is committed (with the others' handled meanwhile)."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], writer: SequenceWriter, *, max_batch: int = 100):
        self._uow = unit_of_work
        self._writer = writer
        self._group: GroupCommit[SettledLead, None] = GroupCommit(self._store, max_batch=max_batch)

    async def __call__(self, lead: SettledLead) -> None:
        await self._group(lead)

    async def _store(self, leads: list[SettledLead], committed: Committed) -> None:
        async with self._uow() as uow:
            session = uow.session
            fresh = await uow.claim_fresh(leads, lambda lead: lead.event)
            await log_calls(session, [costs for lead in leads for costs in lead.costs()])
            # An auto campaign needs no approval (and no lock on its row). Sorted: one lock order for every batch.
            manual = sorted({lead.event.campaign_id for lead in fresh if self._awaits_approval(lead)})
            approved = {campaign_id: await sending_approved(session, campaign_id) for campaign_id in manual}
            rows: list[SequenceRow] = []
            for lead in fresh:
                rows.extend(self._rows(lead, approved.get(lead.event.campaign_id, True)))
            await save_sequences(session, rows)
            alerted: set[str] = set()
            for lead in fresh:
                campaign_id = lead.event.campaign_id
                if lead.budget_alert is not None and campaign_id not in alerted:
                    alerted.add(campaign_id)
                    if await claim_budget_alert(session, campaign_id):
                        uow.emit(lead.budget_alert, trace_context=lead.trace_context)
                held_back = isinstance(lead.announcement, EmailGenerated) and not approved.get(campaign_id, True)
                if lead.announcement is not None and not held_back:
                    uow.emit(lead.announcement, trace_context=lead.trace_context)
            await uow.commit()
            committed([None] * len(leads))

    @staticmethod
    def _awaits_approval(lead: SettledLead) -> bool:
        return lead.chosen is not None and lead.campaign.sending_approval != "auto"

    def _rows(self, lead: SettledLead, approved: bool) -> list[SequenceRow]:
        rows = []
        for outcome in lead.outcomes:
            status, pending = ("held" if not outcome.passed else "unused"), None
            if outcome is lead.chosen:
                status = "generated" if approved else "awaiting_approval"
                if not approved and isinstance(lead.announcement, EmailGenerated):
                    pending = lead.announcement.model_dump(mode="json")
            rows.append(sequence_row(self._writer, lead.event, lead.version, outcome, status, pending))
        return rows
