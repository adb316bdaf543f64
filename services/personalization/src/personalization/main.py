"""Wiring only: settings, runtime, writer, handlers."""

from __future__ import annotations

import logging
from typing import Any

from coldstream_shared.service import build_runtime, make_app, serve
from personalization import handlers
from personalization.record_campaign import SERVICE
from personalization.settings import PersonalizationSettings
from personalization.store import metadata
from personalization.template_writer import TemplateWriter
from personalization.writer import SequenceWriter

log = logging.getLogger(__name__)


def choose_writer(settings: PersonalizationSettings) -> SequenceWriter:
    """The template writer offline; the Claude writer (issue 6) when an Anthropic key is configured."""
    if settings.anthropic_api_key is not None:
        log.info("ANTHROPIC_API_KEY is set, but the Claude writer comes with issue 6: using the template writer")
    return TemplateWriter()


def create_app(settings: PersonalizationSettings | None = None) -> Any:
    """The personalization FastStream app."""
    settings = settings or PersonalizationSettings()
    runtime = build_runtime(SERVICE, settings, metadata)
    handlers.register(runtime, choose_writer(settings))
    return make_app(runtime)


def main() -> None:
    """Process entry point."""
    settings = PersonalizationSettings()
    serve("personalization", settings, lambda _: create_app(settings))
