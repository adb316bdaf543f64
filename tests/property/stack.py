"""Probes around the in-process services: publish raw bytes, wait until a consumer settled them, read dead letters."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import nats
from nats.js.api import DeliverPolicy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted, Event
from coldstream_shared.streams import ensure_streams, stream_for
from coldstream_shared.subjects import DLQ_PREFIX

# The campaign every valid event refers to (consumers retry events about a campaign they do not know yet).
CAMPAIGN = "fuzz-campaign"
SETTLE_TIMEOUT = 30.0


def durable_name(service: str, subject: str) -> str:
    """The durable consumer `messaging.durable` creates."""
    return f"{service}--{subject.replace('.', '-')}"


def campaign_started(campaign_id: str, lead_file: Path) -> CampaignStarted:
    """A start every service accepts; its one lead row is rejected, so the import ends at once."""
    spec = CampaignSpec.model_validate(
        {
            "id": campaign_id,
            "name": "Fuzz",
            "sources": [{"type": "csv", "path": str(lead_file)}],
            "offer": {"product": "Widgets", "value_proposition": "Fewer broken widgets"},
            "sequence": {"steps": [{"subject": "Hi {first_name}", "body": "Hello"}]},
            "sending": {"from_name": "Sam", "from_email": "sam@sender.example"},
            # Held at both gates: a valid lead event stops at personalization instead of reaching the outbox.
            "approvals": {"leads": "manual", "sending": "manual"},
        }
    )
    return CampaignStarted.originate(producer="fuzz", key=uuid.uuid4().hex, campaign_id=campaign_id, campaign=spec)


class Stack:
    """JetStream and the database the in-process services use, seen from outside."""

    def __init__(self, nats_url: str, database_url: str, data_dir: Path) -> None:
        self.nats_url, self.database_url, self.data_dir = nats_url, database_url, data_dir
        self.lead_file = data_dir / "one-bad-row.csv"
        # (service, original Nats-Msg-Id) -> dead letters, filled by a background reader of the DLQ stream.
        self.letters: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._dlq_seen = 0
        self._reader: asyncio.Task[None] | None = None

    def __repr__(self) -> str:  # short: hypothesis prints it with every failing example
        return f"Stack({self.nats_url})"

    async def __aenter__(self) -> Self:
        self.nc = await nats.connect(self.nats_url)
        self.js = self.nc.jetstream()
        await ensure_streams(self.js)
        self.engine = create_async_engine(self.database_url)
        self.lead_file.write_text("email,name\nnot-an-address,Nobody\n")
        sub = await self.js.subscribe(f"{DLQ_PREFIX}.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        self._reader = asyncio.create_task(self._read_dead_letters(sub))
        return self

    async def __aexit__(self, *exc: object | TracebackType) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.nc.close()
        await self.engine.dispose()

    async def _read_dead_letters(self, sub: Any) -> None:
        async for msg in sub.messages:
            record = json.loads(msg.data) | {"_subject": msg.subject}
            key = (record["service"], record["original_headers"].get("Nats-Msg-Id", ""))
            self.letters[key].append(record)
            self._dlq_seen = msg.metadata.sequence.stream

    async def start_campaign(self) -> None:
        started = campaign_started(CAMPAIGN, self.lead_file)
        seq = await self.publish(started.subject, started.model_dump_json().encode(), str(started.event_id))
        for service in ("discovery", "enrichment", "personalization", "sending"):
            await self.settled(service, started.subject, seq)
            assert await self.applied(service, started), f"{service} did not store the fuzz campaign"

    async def publish(self, subject: str, body: bytes, msg_id: str, headers: dict[str, str] | None = None) -> int:
        """Publish bytes as any NATS client would; returns the stream sequence."""
        ack = await self.js.publish(
            subject, body, stream=stream_for(subject).name, headers={"Nats-Msg-Id": msg_id, **(headers or {})}
        )
        assert not ack.duplicate
        return ack.seq

    async def settled(self, service: str, subject: str, seq: int) -> None:
        """Until `service` has acknowledged or terminated every message of `subject` up to stream sequence `seq`."""
        stream, durable = stream_for(subject).name, durable_name(service, subject)
        deadline = asyncio.get_running_loop().time() + SETTLE_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            info = await self.js.consumer_info(stream, durable)
            if info.ack_floor.stream_seq >= seq:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"{durable} did not settle {stream} up to #{seq} in {SETTLE_TIMEOUT}s: ack floor {info.ack_floor}, "
            f"delivered {info.delivered}, {info.num_ack_pending} unacknowledged, {info.num_redelivered} redelivered"
        )

    async def dead_letters(self, service: str, msg_id: str) -> list[dict[str, Any]]:
        """Dead letters `service` wrote for the message with this id (everything stored so far is read first)."""
        last = (await self.js.stream_info("DLQ")).state.last_seq
        async with asyncio.timeout(10):
            while self._dlq_seen < last:
                await asyncio.sleep(0.02)
        return list(self.letters.get((service, msg_id), []))

    async def applied(self, service: str, event: Event) -> bool:
        """Whether `service` recorded the event as applied (its processed-events inbox)."""
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                text(f"SELECT count(*) FROM {service}.processed_events WHERE event_id = :id"), {"id": event.event_id}
            )
        return bool(found)

    async def durables(self) -> set[tuple[str, str]]:
        """(service, subject) of every durable consumer on the server."""
        found = set()
        for stream in ("CAMPAIGNS", "LEADS", "EMAILS", "REPLIES"):
            for info in await self.js.consumers_info(stream):
                name = info.config.durable_name or ""
                if "--" in name:
                    found.add((name.split("--", 1)[0], info.config.filter_subject or ""))
        return found
