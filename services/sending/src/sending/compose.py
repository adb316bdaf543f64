"""Pure message building: an RFC 5322 email with unsubscribe headers and the compliance footer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sending.suppression import domain_of

MAX_LINE = 998
DEFAULT_FOOTER = "{physical_address}\nUnsubscribe: {unsubscribe_url}"


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
    footer_text: str | None = None  # the campaign's footer template; None: the default one
    in_reply_to: str | None = None  # the previous touch's Message-ID: follow-ups thread under it
    references: tuple[str, ...] = ()
    sender: str | None = None  # the sending account (SMTP rotation); None: from_email
    pause_range: tuple[float, float] = (0.0, 0.0)  # random pause before sending, in seconds (SMTP)

    @property
    def message_id(self) -> str:
        """Deterministic, so a backend can recognise a message it already delivered."""
        return message_id_for(self.ledger_id, self.from_email)


def message_id_for(ledger_id: uuid.UUID, from_email: str) -> str:
    """The Message-ID of a touch: derived from its ledger id and the sender's domain."""
    return f"<{ledger_id}@{domain_of(from_email)}>"


@dataclass(frozen=True)
class Compliance:
    """What the law and the mailbox providers require of every email."""

    public_url: str
    physical_address: str

    def unsubscribe_url(self, token: str) -> str:
        """The one-click unsubscribe link (served by the replies service)."""
        return f"{self.public_url.rstrip('/')}/unsubscribe/{token}"

    def footer(self, token: str, template: str | None = None) -> str:
        """The footer appended to every body: the campaign's text with the address and the link filled in."""
        # replace, not str.format: a footer may contain other braces, and it is the user's text.
        text = (
            (template or DEFAULT_FOOTER)
            .replace("{physical_address}", self.physical_address)
            .replace("{unsubscribe_url}", self.unsubscribe_url(token))
        )
        return f"\n\n--\n{text.rstrip()}\n"

    def body_with_footer(self, email: OutgoingEmail) -> str:
        """The body as it leaves, footer included (what every backend sends)."""
        return email.body.rstrip() + self.footer(email.unsubscribe_token, email.footer_text)


def build_message(email: OutgoingEmail, compliance: Compliance) -> EmailMessage:
    """The message as it leaves: headers for threading and RFC 8058 one-click unsubscribe, body with footer."""
    message = EmailMessage()
    message["From"] = formataddr((email.from_name, email.sender or email.from_email))
    message["To"] = email.to
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.date)
    message["Message-ID"] = email.message_id
    if email.in_reply_to:
        message["In-Reply-To"] = email.in_reply_to
        message["References"] = " ".join(email.references or (email.in_reply_to,))
    message["List-Unsubscribe"] = f"<{compliance.unsubscribe_url(email.unsubscribe_token)}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = compliance.body_with_footer(email)
    # 8bit keeps the .eml readable in a text editor (and links greppable); RFC 5322 caps lines at 998.
    cte = "8bit" if max(len(line) for line in text.splitlines()) <= MAX_LINE else "quoted-printable"
    message.set_content(text, cte=cte)
    return message
