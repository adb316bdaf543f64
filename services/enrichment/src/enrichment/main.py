"""Wiring only: settings, runtime, handlers."""

from __future__ import annotations

from typing import Any

from coldstream_shared.service import build_runtime, make_app, serve
from enrichment import handlers
from enrichment.enrich_lead import SERVICE
from enrichment.enrichers import Enrichers
from enrichment.settings import EnrichmentSettings
from enrichment.store import metadata


def create_app(settings: EnrichmentSettings | None = None, enrichers: Enrichers | None = None) -> Any:
    """The enrichment FastStream app (`enrichers` lets tests and benchmarks inject providers)."""
    settings = settings or EnrichmentSettings()
    runtime = build_runtime(SERVICE, settings, metadata)
    handlers.register(runtime, settings, enrichers)
    return make_app(runtime)


def main() -> None:
    """Process entry point."""
    serve("enrichment", EnrichmentSettings(), create_app)
