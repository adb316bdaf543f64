"""The port every sending backend implements (file outbox now; Instantly and SMTP with issue 7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from sending.compose import OutgoingEmail

Backend = Literal["file", "smtp", "instantly"]


class PermanentDeliveryError(Exception):
    """The backend refused this message for good: retrying would only be refused again."""


@dataclass(frozen=True)
class DeliveryResult:
    """What a backend reports about a delivered touch."""

    backend: Backend
    message_id: str
    account: str | None = None  # the sending account that carried it (SMTP rotation)


class Mailer(Protocol):
    """A way out for emails that can also say whether a touch already went out (reconciliation)."""

    async def deliver(self, email: OutgoingEmail) -> DeliveryResult:
        """Hand one email to the backend.

        Raise TransientError when it may work later, PermanentDeliveryError when the backend refuses it for good.
        """
        ...

    async def find(self, email: OutgoingEmail) -> DeliveryResult | None:
        """The earlier delivery of this touch, or None when the backend never got it."""
        ...
