"""deploy/k8s: the three-node JetStream cluster, R3 streams and KEDA scaling on the services' real consumers."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from coldstream.runtime.nats import nats_server_binary
from coldstream_shared import messaging
from coldstream_shared.streams import REPLICAS_ENV, stream_for
from tests.deploy.k8s_render import (
    CONFIG_NAME,
    NAMESPACE,
    containers,
    durable_subjects,
    of_kind,
    render,
    service_deployments,
)
from tests.deploy.parsing import SERVICES, nats_store_limit, reserved_stream_bytes

Docs = list[dict[str, Any]]
NODES = 3


@pytest.fixture(scope="module")
def docs() -> Docs:
    return render()


@pytest.fixture(scope="module")
def nats_conf(docs: Docs) -> str:
    text: str = of_kind(docs, "ConfigMap")["nats-config"]["data"]["nats.conf"]
    return text


class RecordingBroker:
    """Stands in for NatsBroker: keeps what `durable(...)` asks it to subscribe."""

    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def subscriber(self, subject: str, **kwargs: Any) -> None:
        self.kwargs = kwargs


def durable_name(service: str, subject: str) -> str:
    """The consumer name the service's code really creates (not a copy of the formula)."""
    broker = RecordingBroker()
    messaging.durable(broker, subject, service=service)
    name: str = broker.kwargs["durable"]
    return name


def test_three_jetstream_nodes_with_stable_names(docs: Docs, nats_conf: str) -> None:
    statefulset = of_kind(docs, "StatefulSet")["nats"]
    assert statefulset["spec"]["replicas"] == NODES
    headless = of_kind(docs, "Service")[statefulset["spec"]["serviceName"]]["spec"]
    assert headless["clusterIP"] == "None"
    assert headless["publishNotReadyAddresses"] is True
    routes = re.findall(r"nats://([\w.-]+):6222", nats_conf)
    assert routes == [f"nats-{i}.{statefulset['spec']['serviceName']}" for i in range(NODES)]
    assert re.search(r"^\s*server_name:\s*\$POD_NAME\s*$", nats_conf, re.M)
    (container,) = containers(statefulset)
    pod_name = next(var for var in container["env"] if var["name"] == "POD_NAME")
    assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    claim = statefulset["spec"]["volumeClaimTemplates"][0]
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in container["volumeMounts"]


def test_jetstream_fsyncs_and_keeps_its_store_on_the_volume(nats_conf: str) -> None:
    settings = re.sub(r"#.*", "", nats_conf)
    assert re.search(r"\bjetstream\s*\{[^}]*\bstore_dir:\s*/data\b", settings)
    assert re.search(r"\bsync_interval:\s*always\b", settings)
    assert re.search(r"\bcluster\s*\{", settings)
    # Streams reserve their byte caps when created: a smaller store limit fails with "insufficient storage".
    assert nats_store_limit(nats_conf) >= reserved_stream_bytes()


def test_nats_server_accepts_the_config(tmp_path: Path, nats_conf: str) -> None:
    config = tmp_path / "nats.conf"
    config.write_text(nats_conf)
    result = subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(config)],
        env={**os.environ, "POD_NAME": "nats-0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_streams_are_replicated_on_every_node(docs: Docs) -> None:
    config = of_kind(docs, "ConfigMap")[CONFIG_NAME]["data"]
    assert config[REPLICAS_ENV] == str(NODES)
    assert config["COLDSTREAM_NATS_URL"] == "nats://nats:4222"
    assert of_kind(docs, "Service")["nats"]["spec"]["selector"] == {"app.kubernetes.io/name": "nats"}
    # Voluntary disruptions may take one node at a time: two of three keep the quorum.
    assert of_kind(docs, "PodDisruptionBudget")["nats"]["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_scales_on_its_own_consumers(docs: Docs, service: str) -> None:
    scaled = of_kind(docs, "ScaledObject")[service]
    assert scaled["spec"]["scaleTargetRef"]["name"] == service
    assert dict(service_deployments(docs))[service]["spec"].get("replicas") is None, "KEDA owns the count"
    # The outbox relay runs inside each service: scaling to zero would hold committed events back.
    assert scaled["spec"]["minReplicaCount"] >= 1
    assert scaled["spec"]["maxReplicaCount"] > scaled["spec"]["minReplicaCount"]
    real = {durable_name(service, subject): subject for subject in durable_subjects(service)}
    jetstream = [t for t in scaled["spec"]["triggers"] if t["type"] == "nats-jetstream"]
    assert jetstream, f"{service} does not scale on consumer lag"
    for trigger in jetstream:
        meta = trigger["metadata"]
        assert meta["consumer"] in real, f"{service}: no durable {meta['consumer']!r}; the code has {sorted(real)}"
        assert meta["stream"] == stream_for(real[meta["consumer"]]).name
        assert meta["natsServerMonitoringEndpoint"] == f"nats.{NAMESPACE}.svc.cluster.local:8222"
        assert meta.get("account", "$G") == "$G"


def test_the_monitoring_port_keda_reads_is_served(docs: Docs) -> None:
    ports = {port["name"]: port["port"] for port in of_kind(docs, "Service")["nats"]["spec"]["ports"]}
    assert ports == {"client": 4222, "monitor": 8222}
