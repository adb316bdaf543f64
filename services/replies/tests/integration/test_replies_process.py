"""`python -m replies` as a process: migrates, serves HTTP with uvicorn, and exits 0 on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration
GUARD = 60.0  # seconds: only so a broken run fails instead of hanging


def test_process_serves_and_stops_cleanly(
    nats_url: str, fresh_database_url: str, free_port: int, tmp_path: Path
) -> None:
    env = os.environ | {
        "COLDSTREAM_NATS_URL": nats_url,
        "COLDSTREAM_DATABASE_URL": fresh_database_url,
        "COLDSTREAM_DATA_DIR": str(tmp_path),
        "COLDSTREAM_REPLIES_PORT": str(free_port),
        "COLDSTREAM_WEBHOOK_SECRET": "process-secret",
    }
    log = (tmp_path / "replies.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "replies"], env=env, stdout=log, stderr=subprocess.STDOUT)
    ready = tmp_path / "ready" / "replies"
    try:
        deadline = time.monotonic() + GUARD
        while not ready.exists():
            assert proc.poll() is None, (tmp_path / "replies.log").read_text()
            assert time.monotonic() < deadline, "never became ready"
            time.sleep(0.1)
        base = f"http://127.0.0.1:{free_port}"
        assert httpx.get(f"{base}/health").json() == {"status": "ok"}
        hook = {"event_type": "email_opened", "lead_email": "p@globex.test", "timestamp": "2025-03-01T00:00:00Z"}
        accepted = httpx.post(f"{base}/webhooks/instantly", json=hook, headers={"X-Webhook-Secret": "process-secret"})
        assert accepted.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(GUARD) == 0, (tmp_path / "replies.log").read_text()
        assert not ready.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
