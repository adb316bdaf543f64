"""Address verification pipeline: syntax → disposable/free-mail lists → MX (when DNS is on).

Offline mode is the default (`COLDSTREAM_ENRICHMENT_DNS=false`): the embedded demo and CI have no network, so
the verdict rests on syntax, role-account and list checks, `verified_by` stays "syntax-only" and the reasons say
"dns: off (syntax-only)". With `COLDSTREAM_ENRICHMENT_DNS=true` every address whose domain passed the lists gets
an MX lookup (cached per domain); a DNS failure yields "unknown", never "invalid".
"""

from __future__ import annotations

from enrichment.domain_rules import apply_domain_lists, apply_mx, domain_of, mark_offline
from enrichment.mx import CachedMxResolver, DnsMxResolver, MxResolver
from enrichment.settings import EnrichmentSettings
from enrichment.verification import Verification, check_syntax


class Verifier:
    """Verify one address; `mx=None` is offline mode."""

    def __init__(self, mx: MxResolver | None = None) -> None:
        self._mx = mx

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
        return apply_mx(result, await self._mx.lookup(domain))


def build_verifier(settings: EnrichmentSettings) -> Verifier:
    """The verifier the settings ask for: offline, or DNS with a per-domain cache."""
    if not settings.enrichment_dns:
        return Verifier(None)
    nameservers = [ns.strip() for ns in settings.dns_nameservers.split(",") if ns.strip()]
    resolver = DnsMxResolver(nameservers, port=settings.dns_port, timeout=settings.dns_timeout)
    return Verifier(
        CachedMxResolver(
            resolver,
            min_ttl=settings.mx_cache_min_ttl,
            max_ttl=settings.mx_cache_max_ttl,
            negative_ttl=settings.mx_cache_negative_ttl,
        )
    )
