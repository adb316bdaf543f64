"""Which verifiers and providers this deployment has, built from settings (keys present, switches on)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from enrichment.email_patterns import PatternInference
from enrichment.hosts import build_host_resolver
from enrichment.providers.hunter import HunterEmailFinder
from enrichment.providers.pdl import PdlCompany, PdlPerson, PdlPersonBulk
from enrichment.providers.resilient import build_provider
from enrichment.providers.website_research import WebsiteResearch
from enrichment.providers.zerobounce import ZeroBounceBatchVerifier, ZeroBounceVerifier
from enrichment.research import CompanyResearcher
from enrichment.research_store import SqlResearchLeases, SqlResearchStore
from enrichment.settings import EnrichmentSettings
from enrichment.verifier import Verifier, build_verifier
from enrichment.waterfall import Provider
from enrichment.website import WebsiteFetcher, parse_networks


@dataclass
class Enrichers:
    """Providers by field group, by name (the campaign picks the order)."""

    verifier: Verifier
    verification: dict[str, Provider] = field(default_factory=dict)
    work_email: dict[str, Provider] = field(default_factory=dict)
    person: dict[str, Provider] = field(default_factory=dict)
    company: dict[str, Provider] = field(default_factory=dict)
    website: dict[str, Provider] = field(default_factory=dict)
    researcher: CompanyResearcher | None = None
    patterns: PatternInference | None = None


def build_enrichers(
    settings: EnrichmentSettings,
    sessions: async_sessionmaker[AsyncSession],
    transport: httpx.AsyncBaseTransport | None = None,
) -> Enrichers:
    """Offline (the default) gives the verifier alone: no DNS, no providers, no website."""
    verifier = build_verifier(settings)
    enrichers = Enrichers(verifier)
    if verifier.offline:
        return enrichers
    # One client (connection pool) per provider, each small: httpcore probes every idle pooled connection (a
    # syscall) on each request, so a shared or oversized pool makes each call pay for connections it does not use
    # (a fifth of a call's CPU with 64 leads in flight). A request waiting for a free connection is not the
    # provider failing, so the pool wait has no timeout; the provider's own timeouts still bound each call.
    limits = httpx.Limits(
        max_connections=settings.provider_connections, max_keepalive_connections=settings.provider_connections
    )
    timeout = httpx.Timeout(settings.provider_timeout, pool=None)

    def resilient(name: str, rate_per_second: float = settings.provider_rate_per_second):  # type: ignore[no-untyped-def]
        return build_provider(
            name,
            httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport),
            rate_per_second=rate_per_second,
            attempts=settings.provider_attempts,
            breaker_failures=settings.breaker_failures,
            breaker_reset=settings.breaker_reset_seconds,
        )

    enrichers.patterns = PatternInference(verifier)
    enrichers.work_email["pattern"] = enrichers.patterns
    if settings.enrichment_providers:
        linger = settings.provider_batch_linger
        if (key := settings.zerobounce_api_key) and settings.zerobounce_batch_size > 1:
            zerobounce = resilient("zerobounce", settings.zerobounce_batches_per_minute / 60)
            enrichers.verification["zerobounce"] = ZeroBounceBatchVerifier(
                zerobounce,
                key.get_secret_value(),
                settings.zerobounce_bulk_url,
                settings.zerobounce_cost_usd,
                batch_size=settings.zerobounce_batch_size,
                linger=linger,
            )
        elif key:
            zerobounce = resilient("zerobounce")
            enrichers.verification["zerobounce"] = ZeroBounceVerifier(
                zerobounce, key.get_secret_value(), settings.zerobounce_base_url, settings.zerobounce_cost_usd
            )
        if key := settings.hunter_api_key:
            hunter = resilient("hunter")
            enrichers.work_email["hunter"] = HunterEmailFinder(
                hunter, key.get_secret_value(), settings.hunter_base_url, settings.hunter_cost_usd
            )
        if key := settings.pdl_api_key:
            pdl = resilient("pdl")  # one breaker and limiter: person and company share PDL's quota
            if settings.pdl_batch_size > 1:
                enrichers.person["pdl"] = PdlPersonBulk(
                    pdl,
                    key.get_secret_value(),
                    settings.pdl_base_url,
                    settings.pdl_person_cost_usd,
                    batch_size=settings.pdl_batch_size,
                    linger=linger,
                )
            else:
                enrichers.person["pdl"] = PdlPerson(
                    pdl, key.get_secret_value(), settings.pdl_base_url, settings.pdl_person_cost_usd
                )
            enrichers.company["pdl"] = PdlCompany(
                pdl, key.get_secret_value(), settings.pdl_base_url, settings.pdl_company_cost_usd
            )
    if settings.enrichment_website:
        # Every website is its own host, so at most one fetch per lead in flight; the fetcher's overall timeout
        # (pool wait included) bounds it, so the pool itself never times out. Nothing is kept alive: a company's
        # site is fetched once per research TTL, so an idle connection is never reused, yet httpcore would probe
        # each one on every later fetch (~a quarter of a fetch's CPU with 16 kept).
        website_limits = httpx.Limits(max_connections=settings.enrichment_concurrency, max_keepalive_connections=0)
        website_client = httpx.AsyncClient(
            follow_redirects=False,
            limits=website_limits,
            timeout=httpx.Timeout(settings.website_timeout, pool=None),
            transport=transport,
        )
        fetcher = WebsiteFetcher(
            website_client,
            build_host_resolver(settings.dns_nameservers, settings.dns_port, settings.dns_timeout),
            timeout=settings.website_timeout,
            max_bytes=settings.website_max_bytes,
            max_redirects=settings.website_max_redirects,
            allow_networks=parse_networks(settings.website_allow_networks),
        )
        enrichers.website["website"] = WebsiteResearch(fetcher)
    if enrichers.company or enrichers.website:
        enrichers.researcher = CompanyResearcher(
            SqlResearchStore(sessions),
            ttl=timedelta(days=settings.research_ttl_days),
            leases=SqlResearchLeases(sessions, lease=timedelta(seconds=settings.research_lease_seconds)),
            poll_seconds=settings.research_poll_seconds,
        )
    return enrichers
