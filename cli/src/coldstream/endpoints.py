"""Where a running stack is: flags, then environment, then the embedded stack's endpoints.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_DATA_DIR = Path(os.environ.get("COLDSTREAM_DATA_DIR", ".data"))


def read_endpoints(data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, str]:
    """The endpoints `coldstream up` wrote, or an empty dict when no embedded stack has run here."""
    path = data_dir / "endpoints.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def nats_url(explicit: str | None = None, data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """The NATS URL to talk to."""
    return (
        explicit
        or os.environ.get("COLDSTREAM_NATS_URL")
        or read_endpoints(data_dir).get("nats_url")
        or "nats://127.0.0.1:4222"
    )


def replies_url(explicit: str | None = None, data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """The replies service's base URL."""
    return (
        explicit
        or os.environ.get("COLDSTREAM_PUBLIC_URL")
        or read_endpoints(data_dir).get("replies_url")
        or "http://127.0.0.1:8080"
    )


def database_url(explicit: str | None = None, data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """The database URL."""
    return (
        explicit
        or os.environ.get("COLDSTREAM_DATABASE_URL")
        or read_endpoints(data_dir).get("database_url")
        or "postgresql+asyncpg://postgres@127.0.0.1:54329/coldstream"
    )
