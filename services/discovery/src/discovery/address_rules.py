"""Pure lists and rules about addresses: free-mail domains (they say nothing about a company), placeholders
(addresses of nobody, rejected), role addresses (a team's inbox, flagged) and junk cell values."""

from __future__ import annotations

from coldstream_shared.events import LeadData

# The `extra` key (and lead flag) saying how many non-empty extra columns a lead did not keep (normalisation.py).
COLUMNS_NOT_KEPT = "columns_not_kept"
# Cells that mean "nothing here" in exports; they are treated as empty, never as a value.
JUNK_VALUES = frozenset({"n/a", "na", "none", "null", "nil", "-", "--", "?", "unknown", "#n/a", "tbd", "undefined"})
PLACEHOLDER_LOCALS = frozenset(
    {"test", "example", "noreply", "no-reply", "donotreply", "do-not-reply", "null", "xxx", "asdf", "none", "nobody"}
)
PLACEHOLDER_DOMAINS = frozenset({"example.com", "example.org", "example.net", "test.com", "domain.com", "email.com"})
ROLE_LOCALS = frozenset(
    {
        "info", "sales", "support", "contact", "admin", "office", "hello", "team", "marketing", "hr", "jobs",
        "careers", "billing", "help", "enquiries", "inquiries", "webmaster", "postmaster", "abuse", "press",
    }
)  # fmt: skip
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


def is_free_mail(domain: str) -> bool:
    """Whether an address at this domain says nothing about the person's company."""
    return domain.lower() in FREE_MAIL_DOMAINS


def is_placeholder(email: str) -> bool:
    """test@example.com, noreply@..., x@domain.com: addresses that belong to nobody."""
    local, _, domain = email.partition("@")
    return local in PLACEHOLDER_LOCALS or domain in PLACEHOLDER_DOMAINS


def lead_flags(lead: LeadData) -> list[str]:
    """Warnings that do not reject a lead: a role address reaches a team, not the person in the row."""
    local = lead.email.partition("@")[0]
    flags = ["role_address"] if local in ROLE_LOCALS else []
    if COLUMNS_NOT_KEPT in lead.extra:
        flags.append(COLUMNS_NOT_KEPT)  # the row was wider than a lead keeps: see extra[COLUMNS_NOT_KEPT]
    return flags
