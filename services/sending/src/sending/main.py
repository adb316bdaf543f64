"""Wiring only: settings, runtime, backends, handlers, loops."""

from __future__ import annotations

import logging
from typing import Any

from coldstream_shared.service import build_runtime, make_app, serve
from sending import handlers
from sending.compose import Compliance
from sending.dispatch import SERVICE, Dispatcher
from sending.file_outbox import FileOutbox
from sending.follow_ups import SendDueTouches
from sending.send_sequence import SendSequence
from sending.settings import PHYSICAL_ADDRESS_PLACEHOLDER, SendingSettings
from sending.store import metadata

log = logging.getLogger(__name__)


def create_app(settings: SendingSettings | None = None) -> Any:
    """The sending FastStream app."""
    settings = settings or SendingSettings()
    if settings.physical_address == PHYSICAL_ADDRESS_PLACEHOLDER:
        log.warning("COLDSTREAM_PHYSICAL_ADDRESS is not set: emails carry a placeholder instead of your address")
    if settings.instantly_api_key is not None:
        log.info("INSTANTLY_API_KEY is set, but the Instantly backend arrives with issue 7: using the file outbox")
    runtime = build_runtime(SERVICE, settings, metadata)
    compliance = Compliance(settings.public_url, settings.physical_address)
    dispatcher = Dispatcher(runtime.unit_of_work, {"file": FileOutbox(settings.resolved_outbox_dir(), compliance)})
    handlers.register(runtime, SendSequence(dispatcher, runtime.unit_of_work))
    runtime.loops.append(SendDueTouches(dispatcher, runtime.unit_of_work).run_forever)
    return make_app(runtime)


def main() -> None:
    """Process entry point."""
    serve("sending", SendingSettings(), create_app)
