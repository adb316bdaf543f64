"""Pure rules: clean one input row into a lead, or say exactly why it cannot be one.

Cell values are only ever treated as text. A cell starting with `=`, `+`, `-` or `@` (spreadsheet formula
injection) is stored verbatim and never evaluated; anything that exports leads back to a spreadsheet must escape it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import tldextract
from email_validator import EmailNotValidError, validate_email
from nameparser import HumanName

from coldstream_shared.events import LeadData

# Longer values are cut: an absurd cell must not bloat every event that carries the lead downstream.
MAX_FIELD_CHARS = 500
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_SPACES = re.compile(r"\s+")
# The bundled public-suffix snapshot only: no network at import time.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "hotmail.de",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "zoho.com",
        "qq.com",
        "163.com",
        "126.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
        "att.net",
    }
)


@dataclass(frozen=True)
class Rejection:
    """Why a row is not a lead: a machine-readable code and a sentence for a person."""

    reason_code: str
    reason: str
    email: str | None = None


def clean_text(value: str | None) -> str | None:
    """Trim, drop invisible characters, collapse runs of whitespace, cap the length; empty -> None."""
    if value is None:
        return None
    text = _SPACES.sub(" ", _INVISIBLE.sub("", str(value))).strip()
    return text[:MAX_FIELD_CHARS] or None


def clean_email(value: str | None) -> str | None:
    """The address as compared for duplicates: trimmed, lower-case, without a `mailto:` or angle brackets."""
    text = clean_text(value)
    if text is None:
        return None
    text = text.strip("<>").strip().lower().removeprefix("mailto:").strip()
    return text or None


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


def is_free_mail(domain: str) -> bool:
    """Whether an address at this domain says nothing about the person's company."""
    return domain.lower() in FREE_MAIL_DOMAINS


_SIZE = re.compile(r"^(\d[\d,. ]*)\s*(?:[-\u2013+]|to|$)")


def parse_company_size(value: str | None) -> int | None:
    """Employees as a number: '1,200' -> 1200, '51-200' -> 51 (the lower bound), '10000+' -> 10000."""
    match = _SIZE.match(value or "")
    if not match:
        return None
    digits = re.sub(r"[^\d]", "", match.group(1))
    return int(digits) if digits and len(digits) <= 9 else None


def check_email(email: str | None, where: str) -> str | Rejection:
    """The normalised address, or the reason it cannot be used (syntax only: no DNS at import)."""
    if not email:
        return Rejection("missing_email", f"{where} has no email address")
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        return Rejection("invalid_email", f"{where}: the email address is not valid ({error})", email=email)
    return str(result.normalized).lower()


def build_lead(fields: Mapping[str, str | None], extras: Mapping[str, str | None], where: str) -> LeadData | Rejection:
    """Normalise one mapped row into a lead, or reject it with a row-level reason."""
    values = {name: clean_text(value) for name, value in fields.items()}
    email = check_email(clean_email(fields.get("email")), where)
    if isinstance(email, Rejection):
        return email
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
    extra = {key: text for key, raw in extras.items() if (text := clean_text(raw)) is not None}
    size_text = values.get("company_size")
    company_size = parse_company_size(size_text)
    if size_text and company_size is None:
        extra["company_size"] = size_text  # kept as written rather than lost
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
        linkedin_url=values.get("linkedin_url"),
        phone=values.get("phone"),
        country=values.get("country"),
        city=values.get("city"),
        industry=values.get("industry"),
        company_size=company_size,
        extra=dict(extra),
    )
