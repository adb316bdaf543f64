"""deploy/k8s rendered with kustomize, validated against Kubernetes' and KEDA's schemas, and checked for what
the services need: every setting they read that has no safe default, probes, resources, no secrets in plain text.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from pydantic import SecretStr

from coldstream_shared.heartbeat import HEARTBEAT_SECONDS, STALE_AFTER_SECONDS
from coldstream_shared.settings import ServiceSettings
from tests.deploy.k8s_render import (
    CONFIG_NAME,
    KUBERNETES_VERSION,
    NAMESPACE,
    SECRET_NAME,
    containers,
    env_sources,
    kustomization,
    manifest_files,
    of_kind,
    render,
    service_deployments,
)
from tests.deploy.parsing import SERVICES

KEDA_SCHEMA = json.loads((Path(__file__).parent / "keda_scaledobject.schema.json").read_text())
SECRETISH = re.compile(r"(API_KEY|SECRET|PASSWORD|TOKEN|DATABASE_URL|DSN)$")
LOOPBACK = ("127.0.0.1", "localhost")
# Read by coldstream_shared.streams rather than a settings class.
SHARED_ENV = {"COLDSTREAM_STREAM_REPLICAS"}

Docs = list[dict[str, Any]]


@pytest.fixture(scope="module")
def docs() -> Docs:
    return render()


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"{service}.settings")
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, ServiceSettings) and obj.__module__ == module.__name__
    ]
    assert len(found) == 1, f"{service}.settings: expected one ServiceSettings subclass, found {found}"
    return found[0]


def env_name(name: str, field: Any) -> str:
    alias = field.validation_alias
    return str(alias) if isinstance(alias, str) else f"COLDSTREAM_{name.upper()}"


def is_secret(field: Any) -> bool:
    return SecretStr in getattr(field.annotation, "__args__", (field.annotation,))


def needs_a_value(name: str, field: Any) -> bool:
    """Settings a cluster must set: connections, secrets, and anything whose default points at this machine."""
    if name in ServiceSettings.model_fields:
        return True
    if is_secret(field):
        return True  # from the Secret, `optional: true` where the service runs without it
    return isinstance(field.default, str) and any(host in field.default for host in LOOPBACK)


def provided_and_read(docs: Docs, service: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """What the service's container is given, and the settings fields the service reads."""
    (container,) = containers(dict(service_deployments(docs))[service])
    return env_sources(container, of_kind(docs, "ConfigMap")), dict(settings_class(service).model_fields)


def test_every_manifest_file_is_rendered() -> None:
    listed = {Path(resource).name for resource in kustomization()["resources"]}
    assert {p.name for p in manifest_files()} == listed


def test_everything_lands_in_the_namespace(docs: Docs) -> None:
    assert of_kind(docs, "Namespace").keys() == {NAMESPACE}
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, doc["metadata"]["name"]


def test_built_in_kinds_match_the_kubernetes_schema(docs: Docs) -> None:
    built_in = [doc for doc in docs if not doc["apiVersion"].startswith("keda.sh/")]
    assert len(built_in) == len(docs) - len(of_kind(docs, "ScaledObject"))
    for doc in built_in:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {error.message} at {list(error.path)}")


def test_scaled_objects_match_the_keda_schema(docs: Docs) -> None:
    scaled = of_kind(docs, "ScaledObject")
    assert scaled
    for name, doc in scaled.items():
        errors = sorted(jsonschema.Draft202012Validator(KEDA_SCHEMA).iter_errors(doc), key=str)
        assert not errors, f"ScaledObject/{name}: " + "; ".join(f"{e.message} at {list(e.path)}" for e in errors)


@pytest.mark.parametrize("service", SERVICES)
def test_service_image_and_command(docs: Docs, service: str) -> None:
    deployment = dict(service_deployments(docs))[service]
    (container,) = containers(deployment)
    image = container["image"].split(":")[0]
    assert image == f"coldstream-{service}", "built by deploy/service.Dockerfile with SERVICE=" + service
    assert "command" not in container, "the image's CMD runs the service"
    assert "args" not in container
    assert any(entry["name"] == image for entry in kustomization()["images"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_without_a_safe_default_is_provided(docs: Docs, service: str) -> None:
    provided, fields = provided_and_read(docs, service)
    needed = {env_name(name, field) for name, field in fields.items() if needs_a_value(name, field)}
    missing = needed - provided.keys()
    assert not missing, f"{service} reads {sorted(missing)} but the Deployment does not provide them"
    # And nothing is passed that the service does not read (a typo would silently keep the default).
    known = {env_name(name, field) for name, field in fields.items()} | SHARED_ENV
    own = {name for name, source in provided.items() if "configmap" not in source}
    assert own <= known, f"{service} is given settings it does not read: {sorted(own - known)}"


def test_shared_config_keys_are_read_by_someone(docs: Docs) -> None:
    read = set(SHARED_ENV)
    for service in SERVICES:
        read |= {env_name(name, field) for name, field in settings_class(service).model_fields.items()}
    keys = set(of_kind(docs, "ConfigMap")[CONFIG_NAME]["data"])
    assert keys <= read, f"{CONFIG_NAME} sets what no service reads: {sorted(keys - read)}"
    assert of_kind(docs, "ConfigMap")[CONFIG_NAME]["data"]["COLDSTREAM_DATA_DIR"] == "/data"


@pytest.mark.parametrize("service", SERVICES)
def test_secrets_come_from_the_secret(docs: Docs, service: str) -> None:
    provided, fields = provided_and_read(docs, service)
    secret_settings = {env_name(name, field) for name, field in fields.items() if is_secret(field)}
    for name in secret_settings | {"COLDSTREAM_DATABASE_URL"}:
        assert provided[name].get("secret") == SECRET_NAME, f"{service}: {name} must come from {SECRET_NAME}"
        assert provided[name]["key"] == name
    assert provided["COLDSTREAM_DATABASE_URL"]["optional"] is False


def test_no_secret_values_in_the_manifests(docs: Docs) -> None:
    assert not of_kind(docs, "Secret"), "the Secret is created by the operator, never checked in"
    for config in of_kind(docs, "ConfigMap").values():
        for key in config.get("data", {}):
            assert not SECRETISH.search(key), f"ConfigMap {config['metadata']['name']} holds {key}"
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            for container in containers(doc):
                for var in container.get("env", []):
                    assert "value" not in var or not SECRETISH.search(var["name"]), var["name"]
    for path in manifest_files():
        # user:password@host in any URL
        assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", path.read_text()), f"{path.name} contains credentials"


def test_probes_on_every_long_running_container(docs: Docs) -> None:
    for kind in ("Deployment", "StatefulSet"):
        for name, workload in of_kind(docs, kind).items():
            for container in containers(workload):
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    assert probe in container, f"{kind}/{name}: {container['name']} has no {probe}"


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "replies"])
def test_nats_only_services_probe_their_ready_file(docs: Docs, service: str) -> None:
    (container,) = containers(dict(service_deployments(docs))[service])
    assert container["readinessProbe"]["exec"]["command"] == ["test", "-f", f"/data/ready/{service}"]
    # A fresh heartbeat (coldstream_shared.heartbeat), not just the file: a hung process keeps it, and the emptyDir
    # keeps it across a container restart.
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"] == liveness_command(service)
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]


def liveness_command(service: str) -> list[str]:
    window = f"{STALE_AFTER_SECONDS} seconds ago"
    return ["sh", "-c", f"find /data/ready/{service} -newermt '{window}' | grep -q ."]


def test_the_liveness_window_spans_many_heartbeats() -> None:
    # A busy loop delays a beat by far less than this; a blocked one misses all of them.
    assert STALE_AFTER_SECONDS >= 10 * HEARTBEAT_SECONDS


@pytest.mark.parametrize(
    ("age", "alive"), [(0, True), (STALE_AFTER_SECONDS / 2, True), (STALE_AFTER_SECONDS + 30, False)]
)
def test_the_liveness_command_passes_only_for_a_fresh_file(docs: Docs, tmp_path: Path, age: float, alive: bool) -> None:
    """The probe as deployed, run by sh with GNU find and grep (as in the Debian-based service image)."""
    (container,) = containers(dict(service_deployments(docs))["sending"])
    command = [part.replace("/data/", f"{tmp_path}/") for part in container["livenessProbe"]["exec"]["command"]]
    assert subprocess.run(command, check=False).returncode == 1, "no file yet"
    ready = tmp_path / "ready" / "sending"
    ready.parent.mkdir()
    ready.write_text("ready\n")
    os.utime(ready, (time.time() - age, time.time() - age))
    assert (subprocess.run(command, check=False).returncode == 0) is alive


def test_replies_probes_its_health_endpoint(docs: Docs) -> None:
    (container,) = containers(dict(service_deployments(docs))["replies"])
    env = env_sources(container, of_kind(docs, "ConfigMap"))
    assert env["COLDSTREAM_REPLIES_HOST"]["value"] == "0.0.0.0"
    port = int(env["COLDSTREAM_REPLIES_PORT"]["value"])
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    # /health is 503 while NATS is away; restarting every pod for that would only add a thundering herd. Liveness is
    # the heartbeat, which goes on through outages and stops when the event loop is blocked.
    assert container["livenessProbe"]["exec"]["command"] == liveness_command("replies")
    assert of_kind(docs, "Service")["replies"]["spec"]["ports"][0]["targetPort"] == "http"


def test_resources_and_restricted_security(docs: Docs) -> None:
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, workload in of_kind(docs, kind).items():
            pod = workload["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            assert pod["automountServiceAccountToken"] is False, name
            for container in containers(workload):
                resources = container["resources"]
                assert {"cpu", "memory"} <= resources["requests"].keys(), f"{kind}/{name}: requests"
                assert "memory" in resources["limits"], f"{kind}/{name}: memory limit"
                security = container["securityContext"]
                assert security["readOnlyRootFilesystem"] is True, name
                assert security["allowPrivilegeEscalation"] is False, name
                assert security["capabilities"]["drop"] == ["ALL"], name


def test_migrate_job_runs_the_cli(docs: Docs) -> None:
    job = of_kind(docs, "Job")["coldstream-migrate"]
    (container,) = containers(job)
    assert container["image"].split(":")[0] == "coldstream-cli"
    assert container["command"] == ["coldstream", "migrate"]
    env = env_sources(container, of_kind(docs, "ConfigMap"))
    assert env["COLDSTREAM_DATABASE_URL"] == {
        "secret": SECRET_NAME,
        "key": "COLDSTREAM_DATABASE_URL",
        "optional": False,
    }
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
