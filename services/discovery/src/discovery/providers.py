"""Wiring: the people-search providers this process can use, built from settings. Add one by registering it."""

from __future__ import annotations

import httpx

from coldstream_shared.resilience import Limits
from discovery.people_search import ApolloPeopleSearch, PeopleSearch, ProviderRegistry
from discovery.settings import DiscoverySettings


def build_providers(settings: DiscoverySettings) -> ProviderRegistry:
    """Every known provider; one without its API key is registered but answers "not configured"."""
    registry = ProviderRegistry()
    # One limiter per provider and process: the provider's quota is per key, not per campaign.
    limiter = Limits(settings.people_search_requests_per_minute, 60.0).limiter()
    key = settings.apollo_api_key

    def apollo(client: httpx.AsyncClient) -> PeopleSearch | None:
        if not key:
            return None
        return ApolloPeopleSearch(client, key, limiter=limiter, per_page=settings.people_search_per_page)

    client = httpx.AsyncClient(base_url=settings.apollo_base_url, timeout=settings.people_search_timeout)
    registry.register("apollo", apollo, client)
    return registry
