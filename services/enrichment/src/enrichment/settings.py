"""Enrichment settings."""

from coldstream_shared.settings import ServiceSettings


class EnrichmentSettings(ServiceSettings):
    """Enrichment reads only the shared settings so far; providers add their keys here."""
