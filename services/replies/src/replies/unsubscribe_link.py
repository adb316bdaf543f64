"""Use case: the footer's unsubscribe link (RFC 8058 one-click or the confirmation form)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.events import LeadUnsubscribed
from coldstream_shared.unit_of_work import UnitOfWork
from replies.attribution import TokenOwner, token_owner
from replies.store import link_unsubscribes

SERVICE = "replies"
MAX_TOKEN_LENGTH = 200


class UnsubscribeByLink:
    """Look a token up, and turn its use into one `lead.unsubscribed` however often it is clicked."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], team_id: str = "default") -> None:
        self._uow = unit_of_work
        self._team_id = team_id

    async def owner(self, token: str) -> TokenOwner | None:
        """Who the token was sent to; None for an unknown token. Changes nothing (link scanners GET links)."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        async with self._uow() as uow:
            return await token_owner(uow.session, token)

    async def __call__(self, token: str) -> bool:
        """Unsubscribe the token's owner; False for an unknown token. Durable when it returns."""
        if len(token) > MAX_TOKEN_LENGTH:
            return False
        async with self._uow() as uow:
            owner = await token_owner(uow.session, token)
            if owner is None:
                return False
            first = await uow.session.execute(
                insert(link_unsubscribes)
                .values(unsubscribe_token=token, email=owner.email, lead_id=owner.lead_id)
                .on_conflict_do_nothing()
                .returning(link_unsubscribes.c.unsubscribe_token)
            )
            if first.first() is not None:
                uow.emit(
                    LeadUnsubscribed.originate(
                        producer=SERVICE,
                        key=("link", token),
                        team_id=self._team_id,
                        email=owner.email,
                        source="link",
                        lead_id=owner.lead_id,
                        campaign_id=owner.campaign_id,
                        reason="unsubscribe link",
                    )
                )
            await uow.commit()
        return True
