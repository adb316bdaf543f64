"""Wiring only: settings, runtime, writer, handlers."""

from __future__ import annotations

import logging
from typing import Any

import anthropic

from coldstream_shared.service import build_runtime, make_app, serve
from personalization import handlers
from personalization.claude_writer import ClaudeWriter
from personalization.limits import ModelGate, ModelLimits
from personalization.record_campaign import SERVICE
from personalization.settings import PersonalizationSettings
from personalization.store import metadata
from personalization.template_writer import TemplateWriter
from personalization.writer import SequenceWriter

log = logging.getLogger(__name__)


def choose_writer(settings: PersonalizationSettings) -> SequenceWriter:
    """The Claude writer when an Anthropic key is configured, the deterministic template writer otherwise."""
    if settings.anthropic_api_key is None:
        log.info("no ANTHROPIC_API_KEY: sequences come from the campaign's templates")
        return TemplateWriter()
    client = anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        timeout=settings.anthropic_timeout,
        max_retries=settings.anthropic_max_retries,
    )
    limits = ModelLimits(
        concurrency=settings.llm_concurrency,
        requests_per_minute=settings.llm_requests_per_minute or None,
        tokens_per_minute=settings.llm_tokens_per_minute or None,
    )
    return ClaudeWriter(
        client,
        ModelGate(limits),
        model=settings.anthropic_model,
        max_tokens=settings.anthropic_max_tokens,
        temperature=settings.anthropic_temperature,
    )


def create_app(settings: PersonalizationSettings | None = None) -> Any:
    """The personalization FastStream app."""
    settings = settings or PersonalizationSettings()
    runtime = build_runtime(SERVICE, settings, metadata)
    handlers.register(runtime, choose_writer(settings), settings)
    return make_app(runtime)


def main() -> None:
    """Process entry point."""
    settings = PersonalizationSettings()
    serve("personalization", settings, lambda _: create_app(settings))
