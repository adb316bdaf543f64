"""Wiring only: settings, runtime, backends, handlers, loops."""

from __future__ import annotations

import logging
from typing import Any

from coldstream_shared.resilience import AsyncLimiter
from coldstream_shared.service import build_runtime, make_app, serve
from sending import handlers
from sending.compose import Compliance
from sending.dispatch import Dispatcher
from sending.file_outbox import FileOutbox
from sending.follow_ups import SendDueTouches
from sending.instantly.blocklist import MirrorBlocklist
from sending.instantly.campaigns import InstantlyCampaigns
from sending.instantly.client import InstantlyClient, WorkspaceLimiter, smooth
from sending.instantly.mailer import InstantlyMailer
from sending.instantly.uploader import UploadQueuedLeads
from sending.mailer import Mailer
from sending.outgoing import SERVICE
from sending.send_sequence import SendSequence
from sending.settings import PHYSICAL_ADDRESS_PLACEHOLDER, SendingSettings
from sending.smtp_mailer import SmtpMailer, SmtpRelay
from sending.smtp_pacer import SmtpPacer
from sending.store import metadata

log = logging.getLogger(__name__)


def create_app(settings: SendingSettings | None = None) -> Any:
    """The sending FastStream app."""
    settings = settings or SendingSettings()
    if settings.physical_address == PHYSICAL_ADDRESS_PLACEHOLDER:
        log.warning("COLDSTREAM_PHYSICAL_ADDRESS is not set: emails carry a placeholder instead of your address")
    runtime = build_runtime(SERVICE, settings, metadata)
    compliance = Compliance(settings.public_url, settings.physical_address)
    mailers: dict[str, Mailer] = {"file": FileOutbox(settings.resolved_outbox_dir(), compliance)}
    remote = None
    instantly: InstantlyMailer | None = None
    if settings.instantly_api_key is not None:
        limiter = WorkspaceLimiter(
            smooth(settings.instantly_requests_per_second),
            AsyncLimiter(settings.instantly_requests_per_minute, 60),
        )
        client = InstantlyClient(
            settings.instantly_api_key.get_secret_value(), base_url=settings.instantly_base_url, limiter=limiter
        )
        remote = InstantlyCampaigns(client, runtime.unit_of_work)
        instantly = InstantlyMailer(remote, runtime.unit_of_work, compliance)
        mailers["instantly"] = instantly
        runtime.loops.append(MirrorBlocklist(client, runtime.unit_of_work).run_forever)
    pacers = {}
    if settings.smtp_host:
        relay = SmtpRelay(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_username,
            settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            settings.smtp_starttls,
            settings.smtp_use_tls,
        )
        smtp = SmtpMailer(relay, compliance)
        mailers["smtp"] = smtp
        pacers["smtp"] = SmtpPacer(smtp.unavailable)
    dispatcher = Dispatcher(runtime.unit_of_work, mailers, batched=frozenset({"instantly"}), pacers=pacers)
    handlers.register(
        runtime, SendSequence(dispatcher, runtime.unit_of_work), remote, concurrency=settings.send_concurrency
    )
    runtime.loops.append(SendDueTouches(dispatcher, runtime.unit_of_work).run_forever)
    if instantly is not None:
        uploader = UploadQueuedLeads(
            dispatcher, instantly, runtime.unit_of_work, batch_size=settings.instantly_batch_size
        )
        runtime.loops.append(uploader.run_forever)
    return make_app(runtime)


def main() -> None:
    """Process entry point."""
    serve("sending", SendingSettings(), create_app)
