"""The leads we upload: every touch's copy (footer included) from the ledger, as Instantly custom variables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sending.compose import Compliance
from sending.instantly.payloads import lead_payload
from sending.store import send_ledger


async def lead_payloads(
    session: AsyncSession, compliance: Compliance, campaign: Any, firsts: Sequence[Any]
) -> list[dict[str, Any]]:
    """One leads/add entry per first touch in `firsts`, in the same order (created_leads[].index maps back)."""
    lead_ids = [row.lead_id for row in firsts]
    rows = await session.execute(
        select(send_ledger.c.lead_id, send_ledger.c.step, send_ledger.c.subject, send_ledger.c.body)
        .where(send_ledger.c.campaign_id == campaign.campaign_id, send_ledger.c.lead_id.in_(lead_ids))
        .order_by(send_ledger.c.lead_id, send_ledger.c.step)
    )
    touches: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        touches[row.lead_id].append(row)
    template = (campaign.sending or {}).get("footer_text")
    payloads = []
    for first in firsts:
        # One unsubscribe token per lead (the first touch's): every step's footer carries the same link.
        footer = compliance.footer(first.unsubscribe_token, template)
        copy = [(t.step, t.subject, t.body.rstrip() + footer) for t in touches[first.lead_id]]
        payloads.append(lead_payload(first.email, copy))
    return payloads
