"""The service pointed at the loopback fakes (coldstream.fakes.providers): one setup for tests and the benchmark.

Callers start the fakes themselves (`serve_dns(FAKE_ZONE)` and `serve_providers()` or, for the benchmark,
`serve_providers_process(latency)`) and pass their addresses here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from enrichment.settings import EnrichmentSettings

# Every *.example company has an MX and resolves to loopback (so the website fake is allowed); gmail.com is free mail.
FAKE_ZONE = {"*.example": [("MX", "mx.example"), ("A", "127.0.0.1")], "gmail.com": [("MX", "mx.example")]}


def settings_for_fakes(
    *, nats_url: str, database_url: str, data_dir: Path, providers_url: str, dns_port: int, **overrides: Any
) -> EnrichmentSettings:
    """DNS, every provider (ZeroBounce, Hunter, PDL) and the website fetch on, all against the fakes."""
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "database_url": database_url,
        "data_dir": data_dir,
        "enrichment_dns": True,
        "dns_nameservers": "127.0.0.1",
        "dns_port": dns_port,
        "enrichment_providers": True,
        "zerobounce_api_key": "zb-key",
        "zerobounce_base_url": providers_url,
        "zerobounce_bulk_url": providers_url,
        "hunter_api_key": "h-key",
        "hunter_base_url": providers_url,
        "pdl_api_key": "p-key",
        "pdl_base_url": providers_url,
        "enrichment_website": True,
        "website_allow_networks": "127.0.0.1/32",  # the website fake is on loopback, which the SSRF guard refuses
    }
    return EnrichmentSettings(**(values | overrides))
