"""Wiring only: settings, runtime, handlers."""

from __future__ import annotations

from typing import Any

from coldstream_shared.service import build_runtime, make_app, serve
from discovery import handlers
from discovery.import_campaign import SERVICE
from discovery.preparation import RowPreparer
from discovery.settings import DiscoverySettings
from discovery.store import metadata


def create_app(settings: DiscoverySettings | None = None) -> Any:
    """The discovery FastStream app."""
    settings = settings or DiscoverySettings()
    runtime = build_runtime(SERVICE, settings, metadata)
    preparer = RowPreparer(settings.import_workers)
    handlers.register(runtime, settings, preparer)
    app = make_app(runtime)
    app.after_shutdown(preparer.close)
    return app


def main() -> None:
    """Process entry point."""
    serve("discovery", DiscoverySettings(), create_app)
