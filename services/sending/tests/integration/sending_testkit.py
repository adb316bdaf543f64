"""Builders and probes shared by the sending integration tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import nats
from nats.js.api import DeliverPolicy
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream.fakes.instantly import FakeInstantly, serve
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted, EmailGenerated, Event, LeadData, LeadUnsubscribed, Touch, utcnow
from coldstream_shared.ids import lead_id_for
from coldstream_shared.messaging import declare_streams
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import Runtime, build_runtime
from coldstream_shared.streams import ensure_streams, stream_for
from sending.compose import Compliance, OutgoingEmail
from sending.dispatch import SERVICE, Dispatcher
from sending.file_outbox import FileOutbox
from sending.mailer import DeliveryResult
from sending.main import create_app
from sending.remember_campaign import RememberCampaign
from sending.send_sequence import SendSequence
from sending.settings import SendingSettings
from sending.store import metadata


def campaign_id() -> str:
    """A campaign id no other test in the session uses (the NATS server is shared)."""
    return f"send-{uuid.uuid4().hex[:12]}"


def campaign_started(cid: str, *, approval: str = "auto", **sending: Any) -> CampaignStarted:
    spec = CampaignSpec.model_validate(
        {
            "id": cid,
            "name": "Sending test",
            "sources": [{"type": "csv", "path": "leads.csv"}],
            "offer": {"product": "Widgets", "value_proposition": "Fewer broken widgets"},
            "sequence": {
                "steps": [{"subject": "Hi", "body": "One"}, {"subject": "Re: Hi", "body": "Two", "delay_days": 3}]
            },
            "sending": {"from_name": "Ana Sender", "from_email": "ana@acme.io", **sending},
            "approvals": {"sending": approval},
        }
    )
    return CampaignStarted.originate(producer="test", key=cid, campaign_id=cid, campaign=spec)


def email_generated(cid: str, email: str) -> EmailGenerated:
    lead_id = lead_id_for(cid, email)
    return EmailGenerated.originate(
        producer="test",
        key=lead_id,
        lead_id=lead_id,
        campaign_id=cid,
        lead=LeadData(email=email, first_name="Bob"),
        touches=[
            Touch(step=1, subject="Hi Bob", body="Hello Bob"),
            Touch(step=2, subject="Re: Hi Bob", body="Following up", delay_days=3),
        ],
        writer="template",
        model="template-writer/v1",
        prompt_version="v1",
        quality_score=90,
    )


def unsubscribed(email: str, scope: str = "email") -> LeadUnsubscribed:
    return LeadUnsubscribed.originate(producer="test", key=f"unsub:{email}", email=email, source="link", scope=scope)


async def publish(nats_url: str, event: Event) -> bool:
    """Publish like any NATS client; False when JetStream dropped it as a duplicate."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        ack = await js.publish(
            event.subject,
            event.model_dump_json().encode(),
            stream=stream_for(event.subject).name,
            headers={"Nats-Msg-Id": str(event.event_id)},
        )
        return not ack.duplicate
    finally:
        await nc.close()


async def published(nats_url: str, subject: str, cid: str) -> list[dict[str, Any]]:
    """Every message on `subject` for campaign `cid` stored in its stream right now."""
    nc = await nats.connect(nats_url)
    found: list[dict[str, Any]] = []
    try:
        sub = await nc.jetstream().subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                return found
            payload = json.loads(msg.data)
            if payload.get("campaign_id") == cid:
                found.append(payload)
    finally:
        await nc.close()


async def wait_until(probe: Any, *, attempts: int = 120) -> Any:
    """Poll `probe` (an async callable) until it returns something truthy."""
    for _ in range(attempts):
        result = await probe()
        if result:
            return result
        await asyncio.sleep(0.25)
    raise AssertionError("condition never became true")


async def query(database_url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(text(sql), params))
    finally:
        await engine.dispose()


def eml_files(outbox: Path, cid: str) -> list[Path]:
    folder = outbox / cid
    return sorted(folder.glob("*.eml")) if folder.exists() else []


class CrashError(Exception):
    """Stands for the process dying at this point."""


@dataclass
class Clock:
    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Recording:
    """A mailer around the file outbox that counts calls and can die right after (or before) delivering."""

    inner: FileOutbox
    crash_after_delivery: bool = False
    crash_before_delivery: bool = False
    deliveries: int = 0
    finds: int = 0

    async def deliver(self, email: OutgoingEmail) -> DeliveryResult:
        if self.crash_before_delivery:
            raise CrashError
        self.deliveries += 1
        result = await self.inner.deliver(email)
        if self.crash_after_delivery:
            raise CrashError
        return result

    async def find(self, email: OutgoingEmail) -> DeliveryResult | None:
        self.finds += 1
        return await self.inner.find(email)


@dataclass
class Parts:
    runtime: Runtime
    db: str
    outbox: Path
    nats: str
    clock: Clock
    cid: str

    def mailer(self, **options: Any) -> Recording:
        return Recording(FileOutbox(self.outbox, Compliance("http://127.0.0.1:8080", "Addr")), **options)

    def sender(self, mailer: Recording) -> SendSequence:
        dispatcher = Dispatcher(self.runtime.unit_of_work, {"file": mailer}, clock=self.clock)
        return SendSequence(dispatcher, self.runtime.unit_of_work)

    async def sent_events(self) -> int:
        rows = await query(self.db, "SELECT count(*) AS n FROM sending.outbox WHERE subject = 'email.sent'")
        return rows[0].n

    async def statuses(self) -> list[tuple[int, str]]:
        rows = await query(self.db, "SELECT step, status FROM sending.send_ledger ORDER BY step")
        return [(r.step, r.status) for r in rows]


@asynccontextmanager
async def open_parts(nats_url: str, fresh_database_url: str, tmp_path: Path, **sending: Any) -> AsyncIterator[Parts]:
    """A migrated database, a runtime (no subscribers) and a campaign the tests can send in."""
    await asyncio.to_thread(upgrade, "sending", fresh_database_url)
    settings = SendingSettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path)
    runtime = build_runtime(SERVICE, settings, metadata)
    await declare_streams(runtime.broker)
    cid = campaign_id()
    await RememberCampaign(runtime.unit_of_work)(campaign_started(cid, **sending))
    try:
        yield Parts(runtime, fresh_database_url, tmp_path / "outbox", nats_url, Clock(), cid)
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()


@asynccontextmanager
async def instantly_service(
    nats_url: str, fresh_database_url: str, tmp_path: Path, *, flaky_429: float
) -> AsyncIterator[dict[str, Any]]:
    """The sending service in-process with an Instantly key, against a fake Instantly answering 429 now and then."""
    state = FakeInstantly(api_key="svc-key", flaky_429=flaky_429)
    with serve(state) as url:
        await asyncio.to_thread(upgrade, "sending", fresh_database_url)
        settings = SendingSettings(
            nats_url=nats_url,
            database_url=fresh_database_url,
            data_dir=tmp_path,
            physical_address="Acme Ltd, 1 Main St",
            instantly_api_key=SecretStr("svc-key"),
            instantly_base_url=url,
        )
        app = create_app(settings)
        await app.start()
        try:
            yield {"db": fresh_database_url, "nats": nats_url, "fake": state}
        finally:
            await app.stop()


async def execute(database_url: str, sql: str, **params: Any) -> None:
    """Change rows behind the service's back (to stand for a process that died mid-way)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql), params)
    finally:
        await engine.dispose()
