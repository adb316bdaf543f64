"""The file backend: one RFC 5322 `.eml` file per touch, one folder per campaign (the default without keys)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from coldstream_shared.errors import TransientError
from sending.compose import Compliance, OutgoingEmail, message_bytes
from sending.mailer import DeliveryResult, PermanentDeliveryError

WRITERS = 16


class FileOutbox:
    """Writes `<root>/<campaign_id>/<step>-<lead_id>.eml`; a file that exists is a delivered touch."""

    def __init__(self, root: Path, compliance: Compliance) -> None:
        self._root = root
        self._compliance = compliance
        self._directories: dict[Path, DirectorySync] = {}
        # Writers spend their time waiting in fsync, not on the CPU: more of them than the loop's default executor
        # has, so concurrent sends overlap their fsyncs (the filesystem commits them together).
        self._writers = ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="eml-writer")
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, email: OutgoingEmail) -> Path:
        """Where the touch's file lives."""
        return self._root / email.campaign_id / f"{email.step}-{email.lead_id}.eml"

    async def deliver(self, email: OutgoingEmail) -> DeliveryResult:
        """Write the message atomically: a reader (or a reconciliation) never sees half a file."""
        try:
            data = message_bytes(email, self._compliance)
        except ValueError as error:  # e.g. a line break in a header: no outbox would ever accept this message
            raise PermanentDeliveryError(f"message cannot be built: {error}") from error
        path = self.path_for(email)
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._writers, _write_atomically, path, data, self._directory(path.parent)
            )
        except OSError as error:  # a full disk or a missing mount may be fixed by the next attempt (shared backoff)
            raise TransientError(f"outbox not writable: {error.strerror}") from error
        return DeliveryResult("file", email.message_id)

    def _directory(self, folder: Path) -> DirectorySync:
        # Called on the event loop's thread only: no lock needed around the dict.
        return self._directories.setdefault(folder, DirectorySync(folder))

    async def find(self, email: OutgoingEmail) -> DeliveryResult | None:
        """The file's existence is the delivery record (the Message-ID is deterministic)."""
        exists = await asyncio.to_thread(self.path_for(email).exists)
        return DeliveryResult("file", email.message_id) if exists else None


class DirectorySync:
    """Makes renames in a directory durable, sharing one directory fsync among concurrent writers (group commit).

    A writer takes a ticket after its rename; an fsync that *began* after that ticket was taken covers the rename,
    so a writer that finds such an fsync done has nothing left to do. Every writer still returns only once its
    rename is on disk: the durability is the same as one fsync per file, with fewer fsyncs when writers overlap.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._tickets = threading.Lock()
        self._syncing = threading.Lock()
        self._taken = 0  # tickets handed out (renames done)
        self._synced = 0  # every ticket up to this one is on disk

    def sync(self) -> None:
        with self._tickets:
            self._taken += 1
            ticket = self._taken
        with self._syncing:
            if self._synced >= ticket:  # an fsync that began after this rename has finished
                return
            with self._tickets:
                covered = self._taken
            dir_fd = os.open(self._path, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            self._synced = covered


def _write_atomically(path: Path, data: bytes, directory: DirectorySync) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself is durable only once the directory entry is on disk.
    directory.sync()
