"""Pure message building: an RFC 5322 email with unsubscribe headers and the compliance footer."""

from __future__ import annotations

import re
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


def headers(email: OutgoingEmail, compliance: Compliance) -> list[tuple[str, str]]:
    """The message's own headers, in order: threading and RFC 8058 one-click unsubscribe."""
    fields = [
        ("From", formataddr((email.from_name, email.sender or email.from_email))),
        ("To", email.to),
        *([("Reply-To", email.reply_to)] if email.reply_to else []),
        ("Subject", email.subject),
        ("Date", format_datetime(email.date)),
        ("Message-ID", email.message_id),
    ]
    if email.in_reply_to:
        references = " ".join(email.references or (email.in_reply_to,))
        fields += [("In-Reply-To", email.in_reply_to), ("References", references)]
    return [
        *fields,
        ("List-Unsubscribe", f"<{compliance.unsubscribe_url(email.unsubscribe_token)}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]


def build_message(email: OutgoingEmail, compliance: Compliance) -> EmailMessage:
    """The message as it leaves: headers for threading and RFC 8058 one-click unsubscribe, body with footer."""
    message = EmailMessage()
    for name, value in headers(email, compliance):
        message[name] = value
    text = compliance.body_with_footer(email)
    # 8bit keeps the .eml readable in a text editor (and links greppable); RFC 5322 caps lines at 998.
    message.set_content(text, cte="8bit" if _longest_line(text) <= MAX_LINE else "quoted-printable")
    return message


def message_bytes(email: OutgoingEmail, compliance: Compliance) -> bytes:
    """`build_message(...).as_bytes()`, written directly when the library would only copy the values through.

    The library parses and refolds every header, which was the largest CPU cost of a file-backend send. A message
    whose headers are plain (see `plain_eml`) is written as the library writes it, byte for byte (the unit tests
    compare the two on many generated messages); anything else (non-ASCII, long or unusual values, long lines)
    goes through `build_message`.
    """
    text = compliance.body_with_footer(email)
    plain = plain_eml(headers(email, compliance), text)
    return plain if plain is not None else build_message(email, compliance).as_bytes()


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


# The shapes the library writes back unchanged: a dot-atom address, an angle-bracketed id, a date it formatted
# itself, plain words. `email.policy.default` folds at 78 characters.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*")
_NAME_ADDRESS = re.compile(rf"[A-Za-z0-9]+(?: [A-Za-z0-9]+)* <{_ADDRESS.pattern}>")
_MSG_ID = re.compile(r"<[A-Za-z0-9.@_-]+>")
_WORDS = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII words, single spaces
_FOLD = 78
_KINDS = {
    "From": _NAME_ADDRESS,
    "To": _ADDRESS,
    "Reply-To": _ADDRESS,
    "Date": re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"),
    "Message-ID": _MSG_ID,
    "In-Reply-To": _MSG_ID,
    "References": _MSG_ID,
}
_BODY_HEADERS = b'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: 8bit\nMIME-Version: 1.0\n\n'


def plain_eml(fields: list[tuple[str, str]], text: str) -> bytes | None:
    """The message as the library would write it, or None when the library may change something (then use it)."""
    if _longest_line(text) > MAX_LINE:
        return None
    lines = []
    for name, value in fields:
        kind = _KINDS.get(name)
        if kind is not None:  # structured: only a value that fits on the header's line
            if not kind.fullmatch(value) or len(name) + 2 + len(value) > _FOLD:
                return None
            lines.append(f"{name}: {value}")
        elif not _WORDS.fullmatch(value) or "=?" in value:  # unstructured (Subject, List-Unsubscribe)
            return None
        elif len(name) + 2 + len(value) <= _FOLD:
            lines.append(f"{name}: {value}")
        elif len(value) + 1 <= _FOLD:  # the whole value moves to a continuation line
            lines.append(f"{name}:\n {value}")
        else:
            return None
    body = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    return ("\n".join(lines) + "\n").encode("ascii") + _BODY_HEADERS + body
