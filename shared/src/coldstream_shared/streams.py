"""JetStream streams: one per event family, plus dead letters.

Choices (see docs/architecture.md):
- Limits retention, not interest or work-queue: several services consume the same subjects (sending and discovery
  both read `lead.unsubscribed`), and interest retention drops messages published before a consumer exists.
- Discard *new* with a byte cap: when the disk budget is reached a publish fails loudly instead of silently
  deleting unconsumed leads (discard-old would). The cap (`COLDSTREAM_STREAM_MAX_BYTES`, 1 GiB per stream by
  default) is reserved on the server's disk when a stream is created: six streams of 8 GiB failed with
  "insufficient storage resources" on a machine with less than 64 GB free.
- File storage; the server runs with `sync_interval: always` so an acknowledged publish is on disk.
- A duplicate window of 10 minutes: a producer that retries a publish within it (same `Nats-Msg-Id`) is dropped.
  Consumers are idempotent anyway, so the window only has to cover quick retries.
- Direct get allowed: the CLI, the chaos run and the benchmarks read stored events in batches by sequence.
- Replicas from `COLDSTREAM_STREAM_REPLICAS` (3 on the Kubernetes NATS cluster, see deploy/k8s). Unset, new streams
  get one replica and existing streams keep theirs, so a CLI run without the variable never shrinks an R3 stream.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from typing import Final

from faststream.nats import JStream
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from coldstream_shared import subjects

DUPLICATE_WINDOW: Final = timedelta(minutes=10).total_seconds()
MAX_AGE: Final = timedelta(days=30).total_seconds()
MAX_BYTES: Final = 1024**3
MAX_BYTES_ENV: Final = "COLDSTREAM_STREAM_MAX_BYTES"
REPLICAS_ENV: Final = "COLDSTREAM_STREAM_REPLICAS"
MAX_REPLICAS: Final = 5  # JetStream's own limit


def _config(name: str, subject_filter: str, description: str, max_age: float = MAX_AGE) -> StreamConfig:
    return StreamConfig(
        name=name,
        description=description,
        subjects=[subject_filter],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        max_bytes=MAX_BYTES,
        max_age=max_age,
        duplicate_window=DUPLICATE_WINDOW,
        num_replicas=1,
        # Lets the operator's tools read stored messages in batches by sequence (direct get), without a consumer.
        allow_direct=True,
    )


STREAM_CONFIGS: Final[dict[str, StreamConfig]] = {
    "CAMPAIGNS": _config("CAMPAIGNS", "campaign.>", "Campaign lifecycle: started, imported, alerts."),
    "LEADS": _config("LEADS", "lead.>", "Lead lifecycle: scraped, verified, rejected, unsubscribed, bounced."),
    "EMAILS": _config("EMAILS", "email.>", "Emails: generated, sent, failed, suppressed."),
    "REPLIES": _config("REPLIES", "reply.>", "Replies: received and classified."),
    # Dead letters are kept for a year: they are the place an operator looks when something went wrong.
    "DLQ": _config(
        "DLQ",
        f"{subjects.DLQ_PREFIX}.>",
        "Dead letters: poison events with their cause.",
        max_age=timedelta(days=365).total_seconds(),
    ),
    # Backstop: the server's own notice that a consumer gave up on a message (max_deliver reached without our
    # middleware seeing it, e.g. the process crashed on every delivery). Kept in a stream so nobody has to be
    # listening at the moment it happens.
    "DLQ_ADVISORIES": _config(
        "DLQ_ADVISORIES",
        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>",
        "JetStream max-deliveries advisories.",
        max_age=timedelta(days=365).total_seconds(),
    ),
}

# FastStream only needs the names; we declare the streams ourselves (ensure_streams) so that every stream exists,
# with its full configuration, before any service publishes or subscribes.
CAMPAIGNS = JStream("CAMPAIGNS", declare=False)
LEADS = JStream("LEADS", declare=False)
EMAILS = JStream("EMAILS", declare=False)
REPLIES = JStream("REPLIES", declare=False)
DLQ = JStream("DLQ", declare=False)

_BY_PREFIX: Final = {
    "campaign": CAMPAIGNS,
    "lead": LEADS,
    "email": EMAILS,
    "reply": REPLIES,
    subjects.DLQ_PREFIX: DLQ,
}


def stream_for(subject: str) -> JStream:
    """The stream that stores `subject`."""
    return _BY_PREFIX[subject.split(".", 1)[0]]


def stream_max_bytes() -> int:
    """The byte cap per stream asked for in the environment, or `MAX_BYTES`."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return MAX_BYTES
    if not raw.isdigit() or int(raw) < 1024**2:
        raise ValueError(f"{MAX_BYTES_ENV} must be a whole number of bytes, at least 1048576, got {raw!r}")
    return int(raw)


def stream_replicas() -> int | None:
    """The replica count asked for in the environment, or None when unset."""
    raw = os.environ.get(REPLICAS_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPLICAS:
        raise ValueError(f"{REPLICAS_ENV} must be a whole number from 1 to {MAX_REPLICAS}, got {raw!r}")
    return int(raw)


async def ensure_streams(js: JetStreamContext) -> None:
    """Create every stream, or bring an existing one to the configuration above."""
    replicas, max_bytes = stream_replicas(), stream_max_bytes()
    for config in STREAM_CONFIGS.values():
        try:
            info = await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config=replace(config, num_replicas=replicas or 1, max_bytes=max_bytes))
        else:
            current = info.config.num_replicas or 1
            await js.update_stream(config=replace(config, num_replicas=replicas or current, max_bytes=max_bytes))
