"""Rule-based reply classification (rules/v1): pure, fast, and biased towards honouring opt-outs.

Order matters: an opt-out anywhere in the sender's own words wins over everything else, because a missed
opt-out is a compliance failure while an over-eager one only loses a lead. A spam complaint is an opt-out too (the
`unsubscribe` category, so every consumer stops) that `complaint()` also recognises: replies then suppresses the
address with the sticky reason `complaint`. Instantly has no complaint webhook, so replies are where complaints show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from coldstream_shared.events import ReplyCategory
from replies.opt_out_phrases import ARF, COMPLAINT, OPT_OUT, OPT_OUT_ALONE
from replies.phrases import (
    AUTO_REPLY,
    AUTO_REPLY_SUBJECT,
    BOUNCE,
    HARD_BOUNCE,
    INTERESTED,
    LEFT,
    MEETING,
    NOT_INTERESTED,
    NOT_NOW,
    OUT_OF_OFFICE,
    QUESTION_WORDS,
    REFERRAL,
)
from replies.reply_text import fold, html_to_text, latest_reply
from replies.return_dates import find_return_date

CLASSIFIER = "rules/v1"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# The complained-about recipient in an ARF report (RFC 5965 §3.2: Original-Rcpt-To, or Removal-Recipient).
_ARF_RECIPIENT = re.compile(
    r"^(?:original-rcpt-to|removal-recipient):\s*(?:rfc822;\s*)?<?([\w.+-]+@[\w-]+(?:\.[\w-]+)+)>?",
    re.IGNORECASE | re.MULTILINE,
)

Kind = Literal["hard", "soft"]


@dataclass(frozen=True)
class Classification:
    """What a reply means, with why, so a person can check the rules' decision."""

    category: ReplyCategory
    confidence: float
    reasoning: str
    key_phrase: str | None = None
    return_date: date | None = None
    referral_email: str | None = None


def classify(text: str, subject: str | None = None, *, today: date | None = None) -> Classification:
    """Classify one reply; `today` resolves year-less return dates (defaults to the current UTC date)."""
    reply = latest_reply(text)
    own = fold(reply)
    subj = fold(subject or "")
    whole = fold(html_to_text(text))

    if phrase := complaint(text, subject):
        return Classification("unsubscribe", 0.97, f"spam complaint '{phrase}'", phrase)
    # Opt-outs: the sender's own words and the subject line, never the quoted thread (our footer says it).
    if phrase := _first(OPT_OUT, f"{subj} \n {own}"):
        return Classification("unsubscribe", 0.95, f"opt-out phrase '{phrase}'", phrase)
    if word := _alone(reply, subj):
        return Classification("unsubscribe", 0.9, "the reply is only an opt-out word", word)
    if phrase := _first(BOUNCE, f"{subj} \n {whole}"):
        return Classification("bounce", 0.95, f"delivery-failure phrasing '{phrase}'", phrase)
    if phrase := _first(LEFT, own):
        return _with_contact("wrong_person", own, phrase, "says they are not the person to talk to")
    if phrase := _first(OUT_OF_OFFICE, f"{subj} \n {own}"):
        when = find_return_date(reply, today or datetime.now(UTC).date())
        return Classification("out_of_office", 0.9, f"out-of-office phrasing '{phrase}'", phrase, when)
    if phrase := _first(AUTO_REPLY_SUBJECT, subj) or _first(AUTO_REPLY, own):
        return Classification("auto_reply", 0.85, f"auto-reply marker '{phrase}'", phrase)
    return _human(own, reply, today)


def complaint(text: str, subject: str | None = None) -> str | None:
    """The words that make a reply a spam complaint (an ARF abuse report, or the sender saying they reported us).

    Only the sender's own words and the subject count, and a delivery failure that mentions spam (a filter's
    bounce) is not a person complaining.
    """
    whole = fold(html_to_text(text))
    if marker := _first(ARF, whole):
        return marker
    phrase = _first(COMPLAINT, f"{fold(subject or '')} \n {fold(latest_reply(text))}")
    return phrase if phrase and not _first(BOUNCE, whole) else None


def complained_about(text: str) -> str | None:
    """The recipient an ARF report is about (the sender of a report is the mailbox provider, not our lead)."""
    found = _ARF_RECIPIENT.search(text)
    return found.group(1).strip().lower() if found else None


def bounce_kind(text: str) -> Kind:
    """Hard when the address itself is refused; soft for full mailboxes, routing or sender-side problems."""
    return "hard" if _first(HARD_BOUNCE, fold(html_to_text(text))) else "soft"


def _alone(reply: str, subj: str) -> str | None:
    """The opt-out word when the reply, its first line (a phone signature may follow) or the subject is only that."""
    first = next((line for line in reply.splitlines() if line.strip()), "")
    for candidate in (fold(reply), fold(first), subj):
        if (word := candidate.strip(" .!")) in OPT_OUT_ALONE:
            return word
    return None


def _human(own: str, reply: str, today: date | None) -> Classification:
    if (phrase := _first(REFERRAL, own)) and _contact(own, own.find(phrase)):
        return _with_contact("referral", own, phrase, "points to someone else")
    if phrase := _first(MEETING, own):
        return Classification("meeting_request", 0.7, f"asks to meet: '{phrase}'", phrase)
    if phrase := _first(NOT_NOW, own):
        when = find_return_date(reply, today or datetime.now(UTC).date())  # the recontact date, if stated
        return Classification("not_now", 0.6, f"timing phrase '{phrase}'", phrase, when)
    if phrase := _first(NOT_INTERESTED, own):
        return Classification("not_interested", 0.75, f"declines: '{phrase}'", phrase)
    if phrase := _first(INTERESTED, own):
        return Classification("interested", 0.65, f"shows interest: '{phrase}'", phrase)
    if "?" in own or _first(QUESTION_WORDS, own):
        return Classification("question", 0.5, "asks a question", _first(QUESTION_WORDS, own))
    return Classification("neutral", 0.3, "no rule matched")


def _with_contact(category: ReplyCategory, own: str, phrase: str, why: str) -> Classification:
    pointer = _first(REFERRAL, own)
    contact = _contact(own, min(own.find(phrase), own.find(pointer) if pointer else len(own)))
    if category == "wrong_person" and contact and pointer:
        category = "referral"
    # A wrong-person note often names its own (dead) inbox: only a referral's address is a contact.
    referral = contact if category == "referral" else None
    return Classification(category, 0.7, f"{why}: '{phrase}'", phrase, referral_email=referral)


def _contact(own: str, start: int) -> str | None:
    # Only an address after the sender's words counts: one before is usually their own ("this inbox x@y is closed").
    found = _EMAIL.search(own, start)
    return found.group(0).rstrip(".") if found else None


def _first(phrases: tuple[str, ...], text: str) -> str | None:
    return next((p for p in phrases if p in text), None)
