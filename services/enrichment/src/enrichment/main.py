"""Wiring only: settings, runtime, handlers."""

from __future__ import annotations

from typing import Any

from coldstream_shared.service import build_runtime, make_app, serve
from enrichment import handlers
from enrichment.settings import EnrichmentSettings
from enrichment.store import metadata
from enrichment.verify_lead import SERVICE


def create_app(settings: EnrichmentSettings | None = None) -> Any:
    """The enrichment FastStream app."""
    settings = settings or EnrichmentSettings()
    runtime = build_runtime(SERVICE, settings, metadata)
    handlers.register(runtime, settings)
    return make_app(runtime)


def main() -> None:
    """Process entry point."""
    serve("enrichment", EnrichmentSettings(), create_app)
