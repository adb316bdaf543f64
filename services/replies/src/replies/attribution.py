"""Which lead and campaign an address belongs to, from the `email.sent` projection."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from replies.store import sent_emails


@dataclass(frozen=True)
class Attribution:
    """Lead and campaign ids; both None when we never emailed the address (the event is still emitted)."""

    lead_id: str | None = None
    campaign_id: str | None = None


async def attribute(session: AsyncSession, email: str, campaign_id: str | None) -> Attribution:
    """The lead for `email`: in `campaign_id` when that is one of ours, else the most recently emailed one."""
    return (await Attributions.load(session, [email])).of(email, campaign_id)


@dataclass(frozen=True)
class Attributions:
    """What `sent_emails` knows about several addresses, loaded in one query (a webhook batch needs one trip)."""

    sends: dict[str, list[Attribution]]

    @classmethod
    async def load(cls, session: AsyncSession, emails: list[str]) -> Attributions:
        wanted = sorted({email.strip().lower() for email in emails})
        sends: dict[str, list[Attribution]] = {}
        if wanted:
            rows = await session.execute(
                select(sent_emails.c.email, sent_emails.c.lead_id, sent_emails.c.campaign_id)
                .where(sent_emails.c.email.in_(wanted))
                .order_by(sent_emails.c.sent_at.desc())
            )
            for row in rows:
                sends.setdefault(row.email, []).append(Attribution(row.lead_id, row.campaign_id))
        return cls(sends)

    def of(self, email: str, campaign_id: str | None) -> Attribution:
        found = self.sends.get(email.strip().lower(), [])
        for sent in found:
            if sent.campaign_id == campaign_id:
                return sent
        # Instantly's campaign id is its own, not ours, unless sending registered it under our id.
        return found[0] if found else Attribution()


@dataclass(frozen=True)
class TokenOwner:
    """Who a footer token was sent to."""

    email: str
    lead_id: str
    campaign_id: str


async def token_owner(session: AsyncSession, token: str) -> TokenOwner | None:
    """The recipient of the email that carried `token`, or None for a token we never sent."""
    row = (
        await session.execute(
            select(sent_emails.c.email, sent_emails.c.lead_id, sent_emails.c.campaign_id)
            .where(sent_emails.c.unsubscribe_token == token)
            .order_by(sent_emails.c.sent_at.desc())
            .limit(1)
        )
    ).first()
    return TokenOwner(row.email, row.lead_id, row.campaign_id) if row else None
