"""Rendering deploy/k8s and finding things in it: the manifests as the cluster would receive them."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.parsing import ROOT, SERVICES

K8S_DIR = ROOT / "deploy" / "k8s"
KUSTOMIZATION = K8S_DIR / "kustomization.yaml"
NAMESPACE = "coldstream"
SECRET_NAME = "coldstream-secrets"
CONFIG_NAME = "coldstream-config"
# Pinned: the oldest Kubernetes release the manifests promise to work on (bundled, offline schemas).
KUBERNETES_VERSION = "1.32.0"


def kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(KUSTOMIZATION.read_text())
    return data


def render() -> list[dict[str, Any]]:
    """`kubectl kustomize deploy/k8s` when kubectl is there, else the listed files with the namespace set."""
    kubectl = shutil.which("kubectl")
    if kubectl:
        result = subprocess.run([kubectl, "kustomize", str(K8S_DIR)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    docs = []
    for resource in kustomization()["resources"]:
        for doc in yaml.safe_load_all((K8S_DIR / resource).read_text()):
            if doc and doc["kind"] != "Namespace":
                doc["metadata"].setdefault("namespace", NAMESPACE)
            docs.append(doc)
    return [doc for doc in docs if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    pod = workload["spec"]["template"]["spec"]
    found: list[dict[str, Any]] = pod["containers"] + pod.get("initContainers", [])
    return found


def env_sources(container: dict[str, Any], config_maps: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every variable the container gets: name -> {"value"} | {"secret": key, "optional"} | {"configmap"}."""
    provided: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, "secrets only by explicit key (secretKeyRef), so each is visible here"
        for key in config_maps[source["configMapRef"]["name"]]["data"]:
            provided[key] = {"configmap": source["configMapRef"]["name"]}
    for var in container.get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            provided[var["name"]] = {"secret": ref["name"], "key": ref["key"], "optional": ref.get("optional", False)}
        else:
            provided[var["name"]] = {"value": var.get("value")}
    return provided


def durable_subjects(service: str) -> set[str]:
    """Subjects the service subscribes to with `durable(...)`, read from its source (no import side effects)."""
    from coldstream_shared import subjects

    found = set()
    for path in (ROOT / "services" / service / "src").rglob("*.py"):
        text = path.read_text()
        for name in re.findall(r"durable\(\s*runtime\.broker,\s*subjects\.([A-Z_]+)", text):
            found.add(getattr(subjects, name))
    return found


def consumer_name(service: str, subject: str) -> str:
    """The durable name coldstream_shared.messaging.durable gives a service's consumer of `subject`."""
    return f"{service}--{subject.replace('.', '-')}"


def service_deployments(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    deployments = of_kind(docs, "Deployment")
    for service in SERVICES:
        assert service in deployments, f"deploy/k8s has no Deployment for {service}"
        yield service, deployments[service]


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S_DIR.rglob("*.y*ml") if p != KUSTOMIZATION)
