"""The Kubernetes NATS configuration run for real: three local nodes, and the streams land with three replicas.

Only what cannot work on one machine is changed (ports, store folders, route addresses); the JetStream and
cluster settings are the ones in deploy/k8s/nats.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from coldstream.runtime.ports import LOCALHOST, free_ports
from coldstream_shared.streams import REPLICAS_ENV, STREAM_CONFIGS
from tests.deploy.k8s_render import of_kind, render
from tests.deploy.nats_nodes import declare_streams, running

pytestmark = pytest.mark.integration
NODES = 3


def local_config(template: str, node: int, ports: list[int], store: Path) -> str:
    client, cluster, monitor = ports[node * 3 : node * 3 + 3]
    routes = "\n".join(f"    nats://{LOCALHOST}:{ports[i * 3 + 1]}" for i in range(NODES))
    text = template.replace("$POD_NAME", f"nats-{node}")
    text = re.sub(r"^listen: .*$", f"listen: {LOCALHOST}:{client}", text, flags=re.M)
    text = re.sub(r"^http: .*$", f"http: {LOCALHOST}:{monitor}", text, flags=re.M)
    text = re.sub(r"^pid_file: .*$", "", text, flags=re.M)
    text = re.sub(r"store_dir: /data", f'store_dir: "{store}"', text)
    text = re.sub(r"listen: 0\.0\.0\.0:6222", f"listen: {LOCALHOST}:{cluster}", text)
    return re.sub(r"routes: \[.*?\]", f"routes: [\n{routes}\n  ]", text, flags=re.S)


@pytest.fixture
def cluster_url(tmp_path: Path) -> Iterator[str]:
    template = of_kind(render(), "ConfigMap")["nats-config"]["data"]["nats.conf"]
    ports = free_ports(NODES * 3)
    configs = [local_config(template, node, ports, tmp_path / f"store-{node}") for node in range(NODES)]
    with running(configs, ports[::3], tmp_path) as url:
        yield url


async def replicas(url: str) -> dict[str, int]:
    nc = await nats.connect(url.split(","))
    try:
        js = nc.jetstream()
        found = {}
        for name in STREAM_CONFIGS:
            info = await js.stream_info(name)
            assert info.cluster is not None
            found[name] = 1 + len(info.cluster.replicas or [])
        return found
    finally:
        await nc.close()


async def test_streams_get_three_replicas_and_keep_them(cluster_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REPLICAS_ENV, "3")
    await declare_streams(cluster_url)
    assert await replicas(cluster_url) == dict.fromkeys(STREAM_CONFIGS, 3)
    # A CLI run without the variable (an operator's laptop) must not shrink them back to one.
    monkeypatch.delenv(REPLICAS_ENV)
    await declare_streams(cluster_url)
    assert await replicas(cluster_url) == dict.fromkeys(STREAM_CONFIGS, 3)


def test_replica_count_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from coldstream_shared.streams import stream_replicas

    monkeypatch.delenv(REPLICAS_ENV, raising=False)
    assert stream_replicas() is None
    monkeypatch.setenv(REPLICAS_ENV, "3")
    assert stream_replicas() == 3
    for bad in ("0", "6", "three", "-1"):
        monkeypatch.setenv(REPLICAS_ENV, bad)
        with pytest.raises(ValueError, match=REPLICAS_ENV):
            stream_replicas()
