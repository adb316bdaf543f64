"""The compose stack's NATS configuration (deploy/nats/nats.conf) run for real: every stream can be created."""

from __future__ import annotations

import re
from pathlib import Path

import nats
import pytest

from coldstream.runtime.ports import free_ports
from coldstream_shared.streams import REPLICAS_ENV, STREAM_CONFIGS
from tests.deploy.nats_nodes import declare_streams, running
from tests.deploy.parsing import ROOT

pytestmark = pytest.mark.integration


async def test_every_stream_fits_the_compose_jetstream_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REPLICAS_ENV, raising=False)
    client, monitor = free_ports(2)
    text = (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    text = re.sub(r"^port: \d+", f"port: {client}", text, flags=re.M)
    text = re.sub(r"^http_port: \d+", f"http_port: {monitor}", text, flags=re.M)
    text = text.replace("store_dir: /data", f'store_dir: "{tmp_path / "store"}"')
    with running([text], [client], tmp_path) as url:
        # Fails with "insufficient storage resources" when max_file_store is below the streams' byte caps.
        await declare_streams(url)
        nc = await nats.connect(url)
        try:
            infos = await nc.jetstream().streams_info()
        finally:
            await nc.close()
    assert sorted(str(info.config.name) for info in infos) == sorted(STREAM_CONFIGS)
