"""Parser-level checks of docker-compose.yml (no Docker engine here, so no `docker compose config`).

The Dockerfile and .env.example checks live in tests/deploy/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.parsing import (
    ROOT,
    SERVICES,
    container_ports,
    env_of,
    healthcheck_text,
    load_compose,
    nats_store_limit,
    reserved_stream_bytes,
)

INFRA = ("nats", "postgres", "jaeger")
BUILT = ("migrate", *SERVICES)
REQUIRED_ENV = ("COLDSTREAM_NATS_URL", "COLDSTREAM_DATABASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_all_services_present(services: dict[str, dict[str, Any]]) -> None:
    missing = {*INFRA, *BUILT} - set(services)
    assert not missing, f"docker-compose.yml lacks services: {sorted(missing)}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_built_from_the_shared_dockerfile(services: dict[str, dict[str, Any]], name: str) -> None:
    build = services[name]["build"]
    assert build["context"] in (".", "./")
    assert build["dockerfile"] == "deploy/service.Dockerfile"
    assert build["args"] == {"SERVICE": name}
    assert (ROOT / "services" / name / "src" / name / "__main__.py").is_file(), "SERVICE must be a runnable module"
    assert services[name]["image"] == f"coldstream-{name}"


def test_no_per_service_dockerfiles_left() -> None:
    leftovers = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("services/*/Dockerfile"))
    assert not leftovers, f"deploy/service.Dockerfile replaces these: {leftovers}"


@pytest.mark.parametrize("name", BUILT)
def test_service_environment(services: dict[str, dict[str, Any]], name: str) -> None:
    env = env_of(services[name])
    for key in REQUIRED_ENV:
        assert env.get(key), f"{name} lacks {key}"
    assert env["COLDSTREAM_NATS_URL"] == "nats://nats:4222"
    assert "@postgres:5432/coldstream" in str(env["COLDSTREAM_DATABASE_URL"])
    assert "${POSTGRES_PASSWORD" in str(env["COLDSTREAM_DATABASE_URL"])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"


@pytest.mark.parametrize("name", BUILT)
def test_settings_from_optional_env_file(services: dict[str, dict[str, Any]], name: str) -> None:
    env_files = services[name].get("env_file", [])
    assert {"path": ".env", "required": False} in env_files, f"{name}: env_file .env must be optional"


@pytest.mark.parametrize("name", SERVICES)
def test_services_wait_for_healthy_infrastructure_and_migrations(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    assert service.get("restart") == "unless-stopped"
    depends = service["depends_on"]
    assert depends["nats"]["condition"] == "service_healthy"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_runs_first_and_once(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["build"]["dockerfile"] == "cli/Dockerfile"
    command = migrate["command"]
    command = command if isinstance(command, list) else str(command).split()
    assert command[:2] == ["coldstream", "migrate"]
    assert migrate.get("restart", "no") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["depends_on"]["nats"]["condition"] == "service_healthy"


def test_nats_runs_jetstream_durably(services: dict[str, dict[str, Any]]) -> None:
    nats = services["nats"]
    version = re.match(r"nats:(\d+)\.(\d+)", nats["image"])
    assert version, f"pin a nats version: {nats['image']}"
    assert (int(version.group(1)), int(version.group(2))) >= (2, 11)
    command = " ".join(nats["command"])
    config_text = ""
    for volume in nats["volumes"]:
        source, _, rest = str(volume).partition(":")
        if source.startswith("."):
            assert (ROOT / source).is_file(), f"nats mounts missing file {source}"
            if rest.split(":", 1)[0] in command:
                config_text = (ROOT / source).read_text()
    settings = re.sub(r"#.*", "", config_text)  # ignore comments
    assert re.search(r"\bjetstream\s*[{:]", settings), "JetStream is not enabled in the nats config"
    assert re.search(r"\bsync_interval\s*:\s*always\b", settings)
    assert re.search(r"\bstore_dir\s*:\s*\"?/data\b", settings)
    assert re.search(r"\bhttp_port\s*:\s*8222\b", settings)
    assert any(str(v).split(":")[1:2] == ["/data"] for v in nats["volumes"]), "JetStream store is not on a volume"
    # Streams reserve their byte caps when created: a smaller store limit makes stream creation fail.
    assert nats_store_limit(config_text) >= reserved_stream_bytes()


def test_named_volumes_declared(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} uses undeclared volume {source}"
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])


def test_postgres(services: dict[str, dict[str, Any]]) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    env = env_of(postgres)
    assert env["POSTGRES_DB"] == "coldstream"
    assert env["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-coldstream}"


def test_jaeger_receives_otlp(services: dict[str, dict[str, Any]]) -> None:
    jaeger = services["jaeger"]
    assert "jaegertracing/all-in-one" in jaeger["image"]
    assert {16686, 4317, 4318} <= container_ports(jaeger)
    assert str(env_of(jaeger).get("COLLECTOR_OTLP_ENABLED")).lower() == "true"


def test_replies_port_published(services: dict[str, dict[str, Any]]) -> None:
    assert 8080 in container_ports(services["replies"])
    env = env_of(services["replies"])
    assert env["COLDSTREAM_REPLIES_HOST"] == "0.0.0.0"
    assert env["COLDSTREAM_REPLIES_PORT"] == "8080"


def test_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    nats = healthcheck_text(services["nats"])
    assert "wget" in nats
    assert "8222/healthz?js-enabled-only=true" in nats
    assert "pg_isready" in healthcheck_text(services["postgres"])
    replies = healthcheck_text(services["replies"])
    assert ":8080/health" in replies
    assert "curl" not in replies  # python:3.11-slim has no curl
