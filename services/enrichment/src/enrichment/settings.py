"""Enrichment settings (env prefix `COLDSTREAM_`).

Everything that reaches the network is off by default, so the embedded demo and CI run offline (syntax-only
verdicts). Each switch below turns one step on; providers additionally need their API key.
"""

from pydantic import SecretStr

from coldstream_shared.settings import ServiceSettings


class EnrichmentSettings(ServiceSettings):
    """Verification switches, provider keys and endpoints, cache and concurrency knobs."""

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

    # SMTP RCPT probe and catch-all detection: needs outbound port 25, which most clouds block.
    smtp_probe: bool = False
    smtp_probe_port: int = 25
    smtp_helo_name: str = "verify.coldstream.local"
    smtp_sender: str = "verify@coldstream.local"
    smtp_timeout: float = 10.0

    # Paid providers: on only when this is true AND the provider's key is set.
    enrichment_providers: bool = False
    zerobounce_api_key: SecretStr | None = None
    zerobounce_base_url: str = "https://api.zerobounce.net"
    zerobounce_cost_usd: float = 0.008
    hunter_api_key: SecretStr | None = None
    hunter_base_url: str = "https://api.hunter.io"
    hunter_cost_usd: float = 0.049
    pdl_api_key: SecretStr | None = None
    pdl_base_url: str = "https://api.peopledatalabs.com"
    pdl_person_cost_usd: float = 0.28
    pdl_company_cost_usd: float = 0.10
    # Bulk endpoints: concurrent leads' lookups leave as one call (see providers/batching.py). 1 = one call per
    # lead. PDL person bulk takes up to 100; ZeroBounce's batch up to 200 but only 5 calls a minute (more blocks
    # the key for 10 minutes), so it is off by default and paced by zerobounce_batches_per_minute when on.
    zerobounce_bulk_url: str = "https://bulkapi.zerobounce.net"
    zerobounce_batch_size: int = 1
    zerobounce_batches_per_minute: float = 5.0
    pdl_batch_size: int = 100
    # How long a lookup waits for others to share its bulk call (a full batch leaves at once).
    provider_batch_linger: float = 0.05
    provider_timeout: float = 10.0
    provider_attempts: int = 4
    provider_rate_per_second: float = 20.0
    # Connections kept per provider: a provider needs about calls/s x latency of them (200/s at 50 ms is 10), and
    # httpcore probes every idle one on each request, so a pool far larger than that costs CPU on every call.
    provider_connections: int = 16
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0

    # Company website fetch (the free research step): off offline.
    enrichment_website: bool = False
    website_timeout: float = 10.0
    website_max_bytes: int = 1_000_000
    website_max_redirects: int = 3
    # TEST ONLY: comma-separated CIDRs the SSRF guard lets through (e.g. "127.0.0.1/32" for a loopback fake).
    website_allow_networks: str = ""
    # Company research older than this is fetched again (a campaign may ask for fresher).
    research_ttl_days: float = 30.0
    # Replicas meeting one new domain at once: one researches under a lease, the others poll the cache this often.
    # A replica that dies mid-research holds the domain this long at most (kept under the 60 s ack wait); a
    # research outliving its lease may be repeated by another replica, never lost.
    research_lease_seconds: float = 30.0
    research_poll_seconds: float = 0.25

    # Leads processed at once per process: providers are I/O bound, so concurrency is what buys throughput.
    enrichment_concurrency: int = 256
