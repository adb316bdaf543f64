"""The file backend writes whole files and recognises what it already delivered."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from coldstream_shared.errors import TransientError
from sending.compose import Compliance, OutgoingEmail
from sending.file_outbox import DirectorySync, FileOutbox
from sending.mailer import PermanentDeliveryError


def outgoing() -> OutgoingEmail:
    return OutgoingEmail(
        ledger_id=uuid.UUID(int=7),
        campaign_id="spring",
        lead_id="lead-9",
        step=2,
        from_name="Ana",
        from_email="ana@acme.io",
        reply_to=None,
        to="bob@prospect.com",
        subject="Hello",
        body="Hi",
        unsubscribe_token="tok",
        date=datetime(2025, 1, 1, tzinfo=UTC),
    )


async def test_deliver_writes_one_eml_per_touch_and_find_sees_it(tmp_path: Path) -> None:
    backend = FileOutbox(tmp_path / "outbox", Compliance("http://x", "Addr"))
    assert await backend.find(outgoing()) is None
    result = await backend.deliver(outgoing())
    path = tmp_path / "outbox" / "spring" / "2-lead-9.eml"
    assert path.is_file()
    assert message_from_bytes(path.read_bytes(), policy=policy.default)["Message-ID"] == result.message_id
    assert await backend.find(outgoing()) == result
    assert [p.name for p in path.parent.iterdir()] == ["2-lead-9.eml"]  # no temp files left behind


async def test_delivering_again_replaces_the_file(tmp_path: Path) -> None:
    backend = FileOutbox(tmp_path, Compliance("http://x", "Addr"))
    await backend.deliver(outgoing())
    await backend.deliver(outgoing())
    assert len(list((tmp_path / "spring").iterdir())) == 1


async def test_a_message_no_outbox_can_hold_is_refused_for_good(tmp_path: Path) -> None:
    backend = FileOutbox(tmp_path / "outbox", Compliance("http://x", "Addr"))
    with pytest.raises(PermanentDeliveryError, match="cannot be built"):
        await backend.deliver(replace(outgoing(), subject="Hello\r\nBcc: everyone@example.com"))
    assert not (tmp_path / "outbox" / "spring").exists()


async def test_an_unwritable_outbox_is_a_transient_failure(tmp_path: Path) -> None:
    backend = FileOutbox(tmp_path / "outbox", Compliance("http://x", "Addr"))
    (tmp_path / "outbox" / "spring").write_text("a file where the campaign folder should be")
    with pytest.raises(TransientError, match="outbox not writable"):
        await backend.deliver(outgoing())
    assert await backend.find(outgoing()) is None


def test_a_directory_sync_never_skips_a_rename_no_fsync_has_covered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One after another, no fsync began after the previous rename: each writer must fsync the directory itself.
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    directory = DirectorySync(tmp_path)
    for _ in range(3):
        directory.sync()
    assert len(synced) == 3


async def test_concurrent_deliveries_are_all_written(tmp_path: Path) -> None:
    backend = FileOutbox(tmp_path / "outbox", Compliance("http://x", "Addr"))
    emails = [replace(outgoing(), lead_id=f"lead-{i}") for i in range(20)]
    await asyncio.gather(*(backend.deliver(email) for email in emails))
    assert all(await asyncio.gather(*(backend.find(email) for email in emails)))
