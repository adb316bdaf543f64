"""A backend that refuses a message for good fails the touch once; one that is down is retried until it works."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sending_testkit import Parts, Recording, email_generated, eml_files, open_parts, published, query

from coldstream_shared.errors import TransientError
from sending.compose import OutgoingEmail
from sending.mailer import DeliveryResult, PermanentDeliveryError

pytestmark = pytest.mark.integration


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Parts]:
    async with open_parts(nats_url, fresh_database_url, tmp_path) as opened:
        yield opened


@dataclass
class Refusing:
    """A backend that rejects every message outright (say, a provider refusing the recipient)."""

    attempts: int = 0

    async def deliver(self, email: OutgoingEmail) -> DeliveryResult:
        self.attempts += 1
        raise PermanentDeliveryError("550 recipient rejected by policy")

    async def find(self, email: OutgoingEmail) -> DeliveryResult | None:
        return None


async def ledger_rows(parts: Parts) -> list[tuple[int, str, str | None]]:
    rows = await query(parts.db, "SELECT step, status, error FROM sending.send_ledger ORDER BY step")
    return [(r.step, r.status, r.error) for r in rows]


async def test_a_permanent_refusal_fails_the_touch_once_and_stops_the_sequence(parts: Parts) -> None:
    refusing = Refusing()
    send = parts.sender(refusing)  # type: ignore[arg-type]
    generated = email_generated(parts.cid, "bob@prospect.com")
    await send(generated)  # no exception: nothing for the messaging layer to retry
    await send(generated)  # a redelivery changes nothing

    assert refusing.attempts == 1
    assert await ledger_rows(parts) == [
        (1, "failed", "550 recipient rejected by policy"),
        (2, "cancelled", "step 1 failed permanently"),
    ]
    [failed] = await published(parts.nats, "email.failed", parts.cid)
    assert (failed["step"], failed["backend"], failed["permanent"]) == (1, "file", True)
    assert failed["reason"] == "550 recipient rejected by policy"
    assert await published(parts.nats, "email.sent", parts.cid) == []


async def test_a_message_the_file_outbox_cannot_hold_is_failed(parts: Parts) -> None:
    generated = email_generated(parts.cid, "bob@prospect.com")
    first, second = generated.touches
    injected = first.model_copy(update={"subject": "Hi\nBcc: everyone@example.com"})
    generated = generated.model_copy(update={"touches": [injected, second]})
    await parts.sender(parts.mailer())(generated)
    [(step, status, error), *_] = await ledger_rows(parts)
    assert (step, status) == (1, "failed")
    assert "cannot be built" in str(error)
    assert eml_files(parts.outbox, parts.cid) == []
    assert len(await published(parts.nats, "email.failed", parts.cid)) == 1


async def test_an_unwritable_outbox_is_retried_and_delivers_exactly_once(parts: Parts) -> None:
    blocker = parts.outbox / parts.cid
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the campaign folder should be")
    generated = email_generated(parts.cid, "bob@prospect.com")
    mailer: Recording = parts.mailer()

    with pytest.raises(TransientError, match="outbox not writable"):
        await parts.sender(mailer)(generated)
    assert [(s, st) for s, st, _ in await ledger_rows(parts)] == [(1, "reserved"), (2, "scheduled")]
    assert await published(parts.nats, "email.failed", parts.cid) == []

    blocker.unlink()
    # The redelivery does not wait out the lease (the failed attempt gave it up) and still asks the backend first.
    await parts.sender(mailer)(generated)
    assert (mailer.deliveries, mailer.finds) == (2, 1)
    assert [(s, st) for s, st, _ in await ledger_rows(parts)] == [(1, "sent"), (2, "scheduled")]
    assert len(eml_files(parts.outbox, parts.cid)) == 1
    assert len(await published(parts.nats, "email.sent", parts.cid)) == 1
