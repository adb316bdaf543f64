"""Free address checks: syntax → disposable/free-mail lists → MX (when DNS is on) → SMTP RCPT probe (when on).

Offline mode is the default (`COLDSTREAM_ENRICHMENT_DNS=false`): the embedded demo and CI have no network, so
the verdict rests on syntax, role-account and list checks, `verified_by` stays "syntax-only" and the reasons say
"dns: off (syntax-only)". With DNS on every address whose domain passed the lists gets an MX lookup (cached per
domain); a DNS failure yields "unknown", never "invalid". The SMTP probe (`COLDSTREAM_SMTP_PROBE=true`) then asks
the best MX about the mailbox and about a random address (catch-all). Paid verification comes after these, in
the use case, because it spends the campaign's budget.
"""

from __future__ import annotations

from enrichment.domain_rules import apply_domain_lists, apply_mx, apply_probe, domain_of, mark_offline, should_probe
from enrichment.hosts import build_host_resolver
from enrichment.mx import CachedMxResolver, DnsMxResolver, MxResolver
from enrichment.settings import EnrichmentSettings
from enrichment.smtp_probe import SmtpProber
from enrichment.verification import Verification, check_syntax


class Verifier:
    """Verify one address; `mx=None` is offline mode, `smtp=None` skips the RCPT probe."""

    def __init__(self, mx: MxResolver | None = None, smtp: SmtpProber | None = None) -> None:
        self._mx = mx
        self._smtp = smtp

    @property
    def offline(self) -> bool:
        return self._mx is None

    async def __call__(self, email: str) -> Verification:
        result = check_syntax(email)
        if result.verdict == "invalid":
            return result
        result = apply_domain_lists(result)
        # A disposable domain is rejected on the list alone: no DNS query spent on it.
        domain = domain_of(result)
        if result.verdict == "invalid" or domain is None:
            return result
        if self._mx is None:
            return mark_offline(result)
        answer = await self._mx.lookup(domain)
        result = apply_mx(result, answer)
        if self._smtp is None or not should_probe(result, answer):
            return result
        return apply_probe(result, await self._smtp.probe(result.normalized or email, answer.hosts[0]))


def build_verifier(settings: EnrichmentSettings) -> Verifier:
    """The verifier the settings ask for: offline, or DNS with a per-domain cache, optionally with SMTP."""
    if not settings.enrichment_dns:
        return Verifier(None)
    nameservers = [ns.strip() for ns in settings.dns_nameservers.split(",") if ns.strip()]
    resolver = DnsMxResolver(nameservers, port=settings.dns_port, timeout=settings.dns_timeout)
    mx = CachedMxResolver(
        resolver,
        min_ttl=settings.mx_cache_min_ttl,
        max_ttl=settings.mx_cache_max_ttl,
        negative_ttl=settings.mx_cache_negative_ttl,
    )
    smtp = None
    if settings.smtp_probe:
        hosts = build_host_resolver(settings.dns_nameservers, settings.dns_port, settings.dns_timeout)
        smtp = SmtpProber(
            hosts,
            helo_name=settings.smtp_helo_name,
            sender=settings.smtp_sender,
            port=settings.smtp_probe_port,
            timeout=settings.smtp_timeout,
        )
    return Verifier(mx, smtp)
