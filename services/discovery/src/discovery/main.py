"""Wiring only: settings, runtime, handlers."""

from __future__ import annotations

from typing import Any

from coldstream_shared.service import build_runtime, make_app, serve
from discovery import handlers
from discovery.import_campaign import SERVICE
from discovery.settings import DiscoverySettings
from discovery.store import metadata


def create_app(settings: DiscoverySettings | None = None) -> Any:
    """The discovery FastStream app."""
    settings = settings or DiscoverySettings()
    runtime = build_runtime(SERVICE, settings, metadata)
    handlers.register(runtime, settings)
    return make_app(runtime)


def main() -> None:
    """Process entry point."""
    settings = DiscoverySettings()
    serve("discovery", settings, lambda _: create_app(settings))
