"""Pure rules: clean one input row into a lead, or say exactly why it cannot be one.

Cell values are only ever treated as text. A cell starting with `=`, `+`, `-` or `@` (spreadsheet formula
injection) is stored verbatim and never evaluated; anything that exports leads back to a spreadsheet must escape it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract
from email_validator import EmailNotValidError, validate_email
from nameparser import HumanName

from coldstream_shared.events import LeadData
from discovery.address_rules import COLUMNS_NOT_KEPT, JUNK_VALUES, is_free_mail, is_placeholder
from discovery.contact_details import canonical_linkedin, parse_date
from discovery.places import locate

# A lead field longer than this rejects the row (field_too_long): no real name, title or company is this long,
# and an absurd cell must not bloat every event that carries the lead downstream. Extra columns are cut instead.
MAX_FIELD_CHARS = 500
MAX_EXTRA_CHARS = 1000
# Extra columns are kept in file order while they fit: at most this many, and this many characters (names and
# values) in all. A row thousands of columns wide would otherwise make a `lead.scraped` (and every event carrying
# the lead after it) larger than consumers accept (MAX_EVENT_BYTES, 512 KiB): even at 6 bytes a character (JSON
# escapes) 32,000 characters stay far below it. The rest is counted, never silently dropped: see COLUMNS_NOT_KEPT.
MAX_EXTRA_COLUMNS = 100
MAX_EXTRA_TOTAL_CHARS = 32_000
# NUL too: Postgres refuses it in text, and one NUL used to fail the whole import. Lone surrogates (from a JSON
# escape such as "\udfff" in a proposed lead) likewise: no UTF-8 encoder writes them, so the lead could not be stored.
_INVISIBLE = re.compile(r"[\x00\u200b-\u200d\u2060\ufeff\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
# The bundled public-suffix snapshot only: no network at import time.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@dataclass(frozen=True)
class Rejection:
    """Why a row is not a lead: a machine-readable code and a sentence for a person."""

    reason_code: str
    reason: str
    email: str | None = None


def _collapse(value: str | None) -> str | None:
    """Trim, drop invisible characters, collapse runs of whitespace; empty -> None."""
    if value is None:
        return None
    text = str(value)
    if text.isprintable() and "  " not in text:
        # The common cell, skipped past two regexes: printable means no invisible (format) character, no NUL and
        # no whitespace but the ASCII space, and there is no run of spaces to collapse.
        return text.strip() or None
    return _SPACES.sub(" ", _INVISIBLE.sub("", text)).strip() or None


def clean_text(value: str | None) -> str | None:
    """Like _collapse, with the length capped (for values already checked, such as parsed name parts)."""
    text = _collapse(value)
    return text[:MAX_FIELD_CHARS] if text else None


def clean_email(value: str | None) -> str | None:
    """The address as compared for duplicates: trimmed, lower-case, without a `mailto:` or angle brackets."""
    text = clean_text(value)
    if text is None:
        return None
    text = text.strip("<>").strip().lower().removeprefix("mailto:").strip()
    return text or None


@lru_cache(maxsize=65_536)  # a file names the same companies again and again
def domain_of(value: str | None) -> str | None:
    """The registrable domain of a URL, host or domain ('https://www.eu.acme.co.uk/x' -> 'acme.co.uk')."""
    text = clean_text(value)
    if not text:
        return None
    host = urlsplit(text if "//" in text else f"//{text}").hostname
    if not host:
        return None
    domain = _EXTRACT(host.lower()).top_domain_under_public_suffix
    return domain or None


_SIZE = re.compile(r"^(\d[\d,. ]*)\s*(?:[-\u2013+]|to|$)")


def parse_company_size(value: str | None) -> int | None:
    """Employees as a number: '1,200' -> 1200, '51-200' -> 51 (the lower bound), '10000+' -> 10000."""
    match = _SIZE.match(value or "")
    if not match:
        return None
    digits = re.sub(r"[^\d]", "", match.group(1))
    return int(digits) if digits and len(digits) <= 9 else None


# A plain ASCII address (dot-atom local part, LDH labels, alphabetic TLD) that email-validator would accept and
# return unchanged; anything else (Unicode, quotes, odd lengths, special-use TLDs) goes through email-validator.
_PLAIN_ADDRESS = re.compile(
    r"(?=.{6,254}$)(?=[^@]{1,64}@)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test", "internal", "alt", "home"})


def _plain_address(email: str) -> bool:
    return _PLAIN_ADDRESS.fullmatch(email) is not None and email.rsplit(".", 1)[-1] not in _SPECIAL_USE_TLDS


def check_email(email: str | None, where: str) -> str | Rejection:
    """The normalised address, or the reason it cannot be used (syntax only: no DNS at import)."""
    if not email:
        return Rejection("missing_email", f"{where} has no email address")
    if _plain_address(email):
        return email
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        return Rejection("invalid_email", f"{where}: the email address is not valid ({error})", email=email)
    return str(result.normalized).lower()


def keep_extras(extras: Mapping[str, str | None]) -> dict[str, str | int]:
    """The extra columns a lead keeps (non-empty, cut to MAX_EXTRA_CHARS, within the caps above), plus
    COLUMNS_NOT_KEPT when some did not fit."""
    extra: dict[str, str | int] = {}
    budget, not_kept = MAX_EXTRA_TOTAL_CHARS, 0
    for key, value in extras.items():
        text = _collapse(value)
        if not text:
            continue
        # A long note is kept, cut with a visible ellipsis; only the lead's own fields reject a row.
        text = text if len(text) <= MAX_EXTRA_CHARS else text[: MAX_EXTRA_CHARS - 1] + "\u2026"
        cost = len(key) + len(text)
        if len(extra) >= MAX_EXTRA_COLUMNS or cost > budget:
            not_kept += 1
            continue
        budget -= cost
        extra[key] = text
    if not_kept:
        extra[COLUMNS_NOT_KEPT] = not_kept
    return extra


def build_lead(fields: Mapping[str, str | None], extras: Mapping[str, str | None], where: str) -> LeadData | Rejection:
    """Normalise one mapped row into a lead, or reject it with a row-level reason."""
    raw = {name: _collapse(value) for name, value in fields.items()}
    too_long = sorted(name for name, text in raw.items() if text and len(text) > MAX_FIELD_CHARS)
    if too_long:
        sizes = ", ".join(f"{name} has {len(raw[name] or '')} characters" for name in too_long)
        return Rejection(
            "field_too_long", f"{where}: {sizes} (at most {MAX_FIELD_CHARS})", clean_email(raw.get("email"))
        )
    values = {name: None if text is None or text.lower() in JUNK_VALUES else text for name, text in raw.items()}
    email = check_email(clean_email(values.get("email")), where)
    if isinstance(email, Rejection):
        return email
    if is_placeholder(email):
        return Rejection("placeholder_email", f"{where}: {email} is a placeholder, not a person's address", email)
    first, last, full = values.get("first_name"), values.get("last_name"), values.get("full_name")
    if full and not (first or last):
        name = HumanName(full)
        first, last = clean_text(name.first), clean_text(name.last)
    if not full and (first or last):
        full = " ".join(part for part in (first, last) if part)
    company_domain = domain_of(values.get("company_domain")) or domain_of(values.get("website"))
    if company_domain is None:
        email_domain = email.rsplit("@", 1)[1]
        company_domain = None if is_free_mail(email_domain) else domain_of(email_domain)
    extra: dict[str, str | int] = keep_extras(extras)
    size_text = values.get("company_size")
    company_size = parse_company_size(size_text)
    if size_text and company_size is None:
        extra["company_size"] = size_text  # kept as written rather than lost
    place = locate(values, extra)
    linkedin = canonical_linkedin(values.get("linkedin_url"))
    if values.get("linkedin_url") and linkedin is None:
        extra["linkedin_url"] = values["linkedin_url"] or ""  # not a profile URL: kept, never used as a key
    event_text = values.get("event_date")
    if event_text:
        event = parse_date(event_text)
        extra["event_date" if event else "event_date_unparsed"] = event.isoformat() if event else event_text
    return LeadData(
        email=email,
        first_name=first,
        last_name=last,
        full_name=full,
        title=values.get("title"),
        seniority=values.get("seniority"),
        department=values.get("department"),
        company=values.get("company"),
        company_domain=company_domain,
        website=values.get("website"),
        linkedin_url=linkedin,
        phone=place.phone,
        country=place.country,
        city=place.city,
        timezone=place.timezone,
        industry=values.get("industry"),
        company_size=company_size,
        extra=dict(extra),
    )
