"""Instantly behind the per-touch `Mailer` port: what the dispatcher uses to reconcile (and, rarely, to send one).

`find` is the reconciliation the promise needs: a touch whose upload outcome is unknown is looked up at
Instantly, and only a lead Instantly does not have is uploaded again (with skip_if_in_workspace, belt and braces).
"""

from __future__ import annotations

from collections.abc import Callable

from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.compose import Compliance, OutgoingEmail
from sending.instantly.campaigns import InstantlyCampaigns
from sending.instantly.client import InstantlyRejectedError
from sending.instantly.leads import lead_payloads
from sending.mailer import DeliveryResult, PermanentDeliveryError


class InstantlyMailer:
    """Uploads one lead (its whole sequence) per first touch; later touches belong to Instantly's sequencer."""

    def __init__(
        self, campaigns: InstantlyCampaigns, unit_of_work: Callable[[], UnitOfWork], compliance: Compliance
    ) -> None:
        self.campaigns = campaigns
        self._uow = unit_of_work
        self.compliance = compliance

    async def find(self, email: OutgoingEmail) -> DeliveryResult | None:
        instantly_id = await self.campaigns.instantly_id(email.campaign_id)
        if instantly_id is None:  # the campaign was never created there, so neither was the lead
            return None
        lead = await self.campaigns.client.find_lead(instantly_id, email.to)
        return DeliveryResult("instantly", str(lead["id"])) if lead else None

    async def deliver(self, email: OutgoingEmail) -> DeliveryResult:
        if email.step > 1:
            raise PermanentDeliveryError("follow-ups of an Instantly campaign are sent by Instantly itself")
        async with self._uow() as uow:
            campaign = await ledger.load_campaign(uow.session, email.campaign_id)
            first = await ledger.load_touch(uow.session, email.ledger_id)
            if campaign is None or first is None:
                raise PermanentDeliveryError("the touch or its campaign is gone from the ledger")
            [payload] = await lead_payloads(uow.session, self.compliance, campaign, [first])
        instantly_id = await self.campaigns.ensure(campaign)
        try:
            answer = await self.campaigns.client.add_leads(instantly_id, [payload])
        except InstantlyRejectedError as error:
            raise PermanentDeliveryError(str(error)) from error
        created = answer.get("created_leads") or []
        if created:
            return DeliveryResult("instantly", str(created[0]["id"]))
        # Skipped: ours from an earlier attempt (then it is in this campaign), or Instantly refused it.
        if found := await self.find(email):
            return found
        raise PermanentDeliveryError(f"Instantly did not take the lead: {skip_reason(answer)}")


def skip_reason(answer: dict[str, object]) -> str:
    """Instantly's counters, for a person reading why a lead was not uploaded (no addresses in them)."""
    keys = ("in_blocklist", "skipped_count", "invalid_email_count", "duplicate_email_count", "incomplete_count")
    return ", ".join(f"{key}={answer.get(key, 0)}" for key in keys)
