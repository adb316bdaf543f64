"""Pure domain rules: disposable and free-mail lists, and what an MX answer means for a verdict."""

from __future__ import annotations

from dataclasses import replace

from disposable_email_domains import blocklist as disposable_blocklist

from enrichment.mx import MxAnswer
from enrichment.smtp_probe import ProbeResult
from enrichment.verification import Verdict, Verification

# Consumer mailboxes: mailable, but a cold-email campaign usually wants work addresses, so the reason is recorded.
FREE_MAIL = frozenset(
    {
        "aol.com",
        "fastmail.com",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.fr",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "t-online.de",
        "web.de",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    }
)


def _suffixes(domain: str) -> list[str]:
    """`a.b.example.com` → itself and every parent down to `example.com` (throwaway services use subdomains)."""
    labels = domain.lower().rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def is_disposable(domain: str) -> bool:
    """Whether the domain (or a parent of it) is on the maintained disposable-domain list."""
    return any(candidate in disposable_blocklist for candidate in _suffixes(domain))


def is_free_mail(domain: str) -> bool:
    """Whether the domain is a consumer mailbox provider."""
    return domain.lower().rstrip(".") in FREE_MAIL


def domain_of(result: Verification) -> str | None:
    """The domain of a syntactically valid address."""
    return result.normalized.rpartition("@")[2] if result.normalized else None


def apply_domain_lists(result: Verification) -> Verification:
    """Disposable → invalid; free-mail → a reason only."""
    domain = domain_of(result)
    if domain is None:
        return result
    if is_disposable(domain):
        return replace(result, verdict="invalid", reasons=[*result.reasons, "disposable domain"])
    if is_free_mail(domain):
        return replace(result, reasons=[*result.reasons, "free-mail provider"])
    return result


def mark_offline(result: Verification) -> Verification:
    """Offline mode: say the verdict rests on syntax and list checks alone."""
    return replace(result, reasons=[*result.reasons, "dns: off (syntax-only)"], verified_by="syntax-only")


def apply_mx(result: Verification, answer: MxAnswer) -> Verification:
    """Fold an MX answer into the verdict; a DNS failure never rejects, it only makes the verdict unknown."""
    match answer.status:
        case "mx":
            return replace(result, reasons=[*result.reasons, "mx: ok"], verified_by="syntax+mx")
        case "a_only":
            # RFC 5321 §5.1: with no MX the A/AAAA host is the implicit mail server.
            return replace(result, reasons=[*result.reasons, "mx: implicit (A record)"], verified_by="syntax+mx")
        case "null_mx":
            reason = "mx: null MX, domain accepts no mail"
            return replace(result, verdict="invalid", reasons=[*result.reasons, reason], verified_by="syntax+mx")
        case "no_mail":
            reason = "mx: no mail server (no MX, no A record)"
            return replace(result, verdict="invalid", reasons=[*result.reasons, reason], verified_by="syntax+mx")
        case "nxdomain":
            reason = "mx: domain does not exist (NXDOMAIN)"
            return replace(result, verdict="invalid", reasons=[*result.reasons, reason], verified_by="syntax+mx")
        case _:
            reason = f"mx: lookup failed ({answer.detail or 'dns error'})"
            return replace(result, verdict="unknown", reasons=[*result.reasons, reason])


def apply_probe(result: Verification, probe: ProbeResult) -> Verification:
    """Fold the SMTP RCPT answer in. A role account stays risky even when its mailbox exists."""
    verified_by = f"{result.verified_by}+smtp"
    keep_risky = result.verdict == "risky"
    match probe.status:
        case "deliverable":
            verdict: Verdict = "risky" if keep_risky else "safe"
            reason = "smtp: mailbox accepts mail"
        case "catch_all":
            verdict, reason = ("risky" if keep_risky else "catch_all"), "smtp: catch-all domain (accepts any address)"
        case "undeliverable":
            verdict, reason = "invalid", f"smtp: mailbox refused ({probe.detail})"
        case "full_inbox":
            verdict, reason = "risky", f"smtp: inbox full ({probe.detail})"
        case _:
            return replace(result, reasons=[*result.reasons, f"smtp: inconclusive ({probe.detail})"])
    return replace(result, verdict=verdict, reasons=[*result.reasons, reason], verified_by=verified_by)


def apply_api(result: Verification, provider: str, verdict: Verdict, reason: str) -> Verification:
    """A paid verifier's answer replaces an unsure one; a role account stays risky, an invalid stays invalid."""
    final: Verdict = verdict
    if result.verdict == "invalid" or (result.verdict == "risky" and verdict in ("safe", "unknown", "catch_all")):
        final = result.verdict
    return replace(
        result, verdict=final, reasons=[*result.reasons, reason], verified_by=f"{result.verified_by}+{provider}"
    )


def should_probe(result: Verification, answer: MxAnswer) -> bool:
    """Probe only when there is a mail server, and never the big free-mail hosts: they answer RCPT untruthfully
    and throttle probers (Reacher dropped its catch-all probe for Gmail, Yahoo and Hotmail)."""
    domain = domain_of(result)
    return answer.status in ("mx", "a_only") and domain is not None and not is_free_mail(domain)
