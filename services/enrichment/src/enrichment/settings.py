"""Enrichment settings (env prefix `COLDSTREAM_`)."""

from coldstream_shared.settings import ServiceSettings


class EnrichmentSettings(ServiceSettings):
    """Verification switches; providers add their keys here."""

    # Off by default: offline (syntax-only) verification needs no network. COLDSTREAM_ENRICHMENT_DNS=true turns MX on.
    enrichment_dns: bool = False
    # Comma-separated; empty means the system resolver configuration (/etc/resolv.conf).
    dns_nameservers: str = ""
    dns_port: int = 53
    dns_timeout: float = 3.0
    # The record TTL is used, clamped to these bounds; negative answers (NXDOMAIN, no MX) live negative_ttl seconds.
    mx_cache_min_ttl: int = 60
    mx_cache_max_ttl: int = 86_400
    mx_cache_negative_ttl: int = 300
