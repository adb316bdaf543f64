"""Dead-letter operations on a real nats-server: a poison event is parked, listed, replayed once after the fix,
or dropped on record."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import nats
from typer.testing import CliRunner

from coldstream.cli import app
from coldstream.dead_letter_ops import OPS, DeadLetterError, connect, drop, get_letter, list_letters, replay
from coldstream_shared.errors import PermanentError
from coldstream_shared.messaging import declare_streams, durable, make_broker
from coldstream_shared.streams import stream_for


async def _publish(nats_url: str, subject: str, body: dict[str, Any], msg_id: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            subject, json.dumps(body).encode(), stream=stream_for(subject).name, headers={"Nats-Msg-Id": msg_id}
        )
    finally:
        await nc.close()


async def _wait_for(predicate: Any, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_a_parked_event_is_replayed_after_the_fix_and_applied_once(nats_url: str) -> None:
    service = f"probe{uuid.uuid4().hex[:8]}"
    subject = f"lead.{service}"
    broken = True
    applied: list[dict[str, Any]] = []
    broker = make_broker(nats_url, service=service)

    @durable(broker, subject, service=service)
    async def handler(body: dict[str, Any]) -> None:
        if broken:
            raise PermanentError("enrichment provider mapping missing for 'acme'")
        applied.append(body)

    await declare_streams(broker)
    nc, js = await connect(nats_url)
    try:
        async with broker:
            await broker.start()
            await _publish(nats_url, subject, {"lead": "acme-1"}, msg_id=f"{service}-1")

            async def parked() -> bool:
                return len(await list_letters(js, service=service)) == 1

            await _wait_for(parked)
            [letter] = await list_letters(js, service=service)
            assert letter.record["error_type"] == "PermanentError"
            assert "mapping missing" in letter.record["error"]
            assert letter.summary()["subject"] == subject

            broken = False  # the fix is deployed
            await replay(js, letter.seq, by="ops")

            async def done() -> bool:
                return len(applied) == 1

            await _wait_for(done)
            try:
                await replay(js, letter.seq, by="ops")
            except DeadLetterError:
                pass  # the letter is gone once replayed: a second replay cannot happen by mistake
            else:
                raise AssertionError("a replayed letter must not be replayable again")
            await asyncio.sleep(1.0)
        assert applied == [{"lead": "acme-1"}]
        assert await list_letters(js, service=service) == []
    finally:
        await nc.close()


async def test_drop_keeps_a_record_with_the_reason_and_the_cli_lists_json(nats_url: str) -> None:
    service = f"probe{uuid.uuid4().hex[:8]}"
    record = {
        "service": service,
        "original_subject": "lead.scraped",
        "original_headers": {"Nats-Msg-Id": "x"},
        "original_body": "{not json",
        "body_encoding": "utf-8",
        "error_type": "JSONDecodeError",
        "error": "Expecting property name",
        "deliveries": 1,
        "failed_at": "2026-11-22T00:00:00+00:00",
    }
    await _publish(nats_url, f"dlq.{service}.lead.scraped", record, msg_id=f"{service}-letter")
    args = ["dlq", "list", "--service", service, "--json", "--nats-url", nats_url]
    listed = await asyncio.to_thread(CliRunner().invoke, app, args)  # the command runs its own event loop
    assert listed.exit_code == 0, listed.output
    [summary] = json.loads(listed.output)
    assert summary["error_type"] == "JSONDecodeError"

    nc, js = await connect(nats_url)
    try:
        await drop(js, summary["seq"], by="ops", reason="malformed test data from a partner import")
        assert await list_letters(js, service=service) == []
        try:
            await get_letter(js, summary["seq"])
        except DeadLetterError:
            pass
        else:
            raise AssertionError("a dropped letter is gone from the list")
        sub = await js.subscribe(f"{OPS}.dropped", ordered_consumer=True)
        notes = []
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            notes.append(json.loads(msg.data))
        [note] = [n for n in notes if n["letter"]["service"] == service]
        assert note["reason"] == "malformed test data from a partner import"
        assert note["by"] == "ops"
    finally:
        await nc.close()
