"""Pure message building: an RFC 5322 email with unsubscribe headers and the compliance footer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sending.suppression import domain_of

MAX_LINE = 998


@dataclass(frozen=True)
class OutgoingEmail:
    """Everything a backend needs to deliver one touch (built from a ledger row and the campaign)."""

    ledger_id: uuid.UUID
    campaign_id: str
    lead_id: str
    step: int
    from_name: str
    from_email: str
    reply_to: str | None
    to: str
    subject: str
    body: str
    unsubscribe_token: str
    date: datetime  # the reservation time: a rebuilt message is identical to the first one

    @property
    def message_id(self) -> str:
        """Deterministic, so a backend can recognise a message it already delivered."""
        return f"<{self.ledger_id}@{domain_of(self.from_email)}>"


@dataclass(frozen=True)
class Compliance:
    """What the law and the mailbox providers require of every email."""

    public_url: str
    physical_address: str

    def unsubscribe_url(self, token: str) -> str:
        """The one-click unsubscribe link (served by the replies service)."""
        return f"{self.public_url.rstrip('/')}/unsubscribe/{token}"

    def footer(self, token: str) -> str:
        """The footer appended to every body."""
        return f"\n\n--\n{self.physical_address}\nUnsubscribe: {self.unsubscribe_url(token)}\n"


def build_message(email: OutgoingEmail, compliance: Compliance) -> EmailMessage:
    """The message as it leaves: headers for threading and RFC 8058 one-click unsubscribe, body with footer."""
    message = EmailMessage()
    message["From"] = formataddr((email.from_name, email.from_email))
    message["To"] = email.to
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.date)
    message["Message-ID"] = email.message_id
    message["List-Unsubscribe"] = f"<{compliance.unsubscribe_url(email.unsubscribe_token)}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = email.body.rstrip() + compliance.footer(email.unsubscribe_token)
    # 8bit keeps the .eml readable in a text editor (and links greppable); RFC 5322 caps lines at 998.
    cte = "8bit" if max(len(line) for line in text.splitlines()) <= MAX_LINE else "quoted-printable"
    message.set_content(text, cte=cte)
    return message
