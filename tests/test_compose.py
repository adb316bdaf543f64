"""Parser-level checks of the container deployment (docker-compose.yml, Dockerfiles, .env.example).

There is no Docker engine where these run, so instead of `docker compose config` the files are parsed
with PyYAML / tomllib and checked for the things the stack relies on.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

SERVICES = ("discovery", "enrichment", "personalization", "sending", "replies")
INFRA = ("nats", "postgres", "jaeger")
ALL_SERVICES = (*INFRA, "migrate", *SERVICES)
BUILT = ("migrate", *SERVICES)
REQUIRED_ENV = ("COLDSTREAM_NATS_URL", "COLDSTREAM_DATABASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT")

# The configuration contract (see the project brief); every name must be documented in .env.example.
DOCUMENTED_SETTINGS = (
    "COLDSTREAM_NATS_URL",
    "COLDSTREAM_DATABASE_URL",
    "COLDSTREAM_DATA_DIR",
    "COLDSTREAM_TEAM_ID",
    "COLDSTREAM_LOG_LEVEL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "ANTHROPIC_API_KEY",
    "COLDSTREAM_ANTHROPIC_MODEL",
    "INSTANTLY_API_KEY",
    "COLDSTREAM_OUTBOX_DIR",
    "COLDSTREAM_PUBLIC_URL",
    "COLDSTREAM_PHYSICAL_ADDRESS",
    "COLDSTREAM_REPLIES_HOST",
    "COLDSTREAM_REPLIES_PORT",
    "COLDSTREAM_WEBHOOK_SECRET",
    "COLDSTREAM_WEBHOOK_SECRET_HEADER",
    "COLDSTREAM_NATS_PORT",
    "COLDSTREAM_POSTGRES_PORT",
)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def env_of(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's `environment`, in either the mapping or the list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        result: dict[str, str | None] = {}
        for item in env:
            key, sep, value = str(item).partition("=")
            result[key] = value if sep else None
        return result
    return {key: None if value is None else str(value) for key, value in env.items()}


def container_ports(service: dict[str, Any]) -> set[int]:
    """Published container ports, from short ("8080:8080", "127.0.0.1:80:8080/tcp") or long syntax."""
    ports: set[int] = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            target = str(entry).rsplit(":", 1)[-1].split("/", 1)[0]
            ports.add(int(target))
    return ports


def healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with comments dropped and line continuations joined."""
    logical: list[str] = []
    current = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current.strip():
        logical.append(current)
    result = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        result.append((instruction.upper(), args.strip()))
    return result


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM"]
    assert starts, "Dockerfile has no FROM"
    return instructions[starts[-1] :]


def workspace_members() -> list[Path]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members: list[Path] = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        members.extend(p for p in sorted(ROOT.glob(pattern)) if (p / "pyproject.toml").is_file())
    return members


def package_name(member: Path) -> str:
    name: str = tomllib.loads((member / "pyproject.toml").read_text())["project"]["name"]
    return name


def documented_names() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


# --------------------------------------------------------------------------------------------------
# compose
# --------------------------------------------------------------------------------------------------


def test_all_services_present(services: dict[str, dict[str, Any]]) -> None:
    missing = set(ALL_SERVICES) - set(services)
    assert not missing, f"docker-compose.yml lacks services: {sorted(missing)}"


def test_nats_runs_jetstream_durably(services: dict[str, dict[str, Any]]) -> None:
    nats = services["nats"]
    image = nats["image"]
    assert image.startswith("nats:")
    version = re.match(r"nats:(\d+)\.(\d+)", image)
    assert version, f"pin a nats version: {image}"
    assert (int(version.group(1)), int(version.group(2))) >= (2, 11)

    command = nats["command"]
    command_text = " ".join(command) if isinstance(command, list) else str(command)
    config_text = ""
    for volume in nats.get("volumes", []):
        source, _, rest = str(volume).partition(":")
        target = rest.split(":", 1)[0]
        if source.startswith("."):
            host_file = ROOT / source
            assert host_file.is_file(), f"nats mounts missing file {source}"
            if target in command_text:
                config_text = host_file.read_text()
    assert config_text or "-js" in command_text or "--jetstream" in command_text
    settings = re.sub(r"#.*", "", config_text)  # ignore comments
    assert re.search(r"\bjetstream\s*[{:]", settings), "JetStream is not enabled in the nats config"
    assert re.search(r"\bsync_interval\s*:\s*always\b", settings)
    assert re.search(r"\bstore_dir\s*:\s*\"?/data\b", settings)
    assert re.search(r"\bhttp_port\s*:\s*8222\b", settings)
    data_mounts = [v for v in nats["volumes"] if str(v).split(":")[1:2] == ["/data"]]
    assert data_mounts, "JetStream store (/data) is not on a volume"


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


def test_jaeger_ports(services: dict[str, dict[str, Any]]) -> None:
    jaeger = services["jaeger"]
    assert "jaegertracing/all-in-one" in jaeger["image"]
    assert {16686, 4317, 4318} <= container_ports(jaeger)
    assert str(env_of(jaeger).get("COLLECTOR_OTLP_ENABLED")).lower() == "true"


def test_replies_published(services: dict[str, dict[str, Any]]) -> None:
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
def test_optional_env_file(services: dict[str, dict[str, Any]], name: str) -> None:
    env_files = services[name].get("env_file", [])
    assert {"path": ".env", "required": False} in env_files, f"{name}: env_file .env must be optional"


@pytest.mark.parametrize("name", SERVICES)
def test_service_startup_order(services: dict[str, dict[str, Any]], name: str) -> None:
    service = services[name]
    assert service.get("restart") == "unless-stopped"
    depends = service["depends_on"]
    assert isinstance(depends, dict)
    assert depends["nats"]["condition"] == "service_healthy"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_is_one_shot(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["build"]["dockerfile"] == "cli/Dockerfile"
    command = migrate["command"]
    command = command if isinstance(command, list) else str(command).split()
    assert command[:2] == ["coldstream", "migrate"] or command[:3] == ["python", "-m", "coldstream.migrate"]
    assert migrate.get("restart", "no") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


# --------------------------------------------------------------------------------------------------
# Dockerfiles
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILT)
def test_dockerfile(services: dict[str, dict[str, Any]], name: str) -> None:
    build = services[name]["build"]
    assert build["context"] in (".", "./")
    dockerfile = ROOT / build["dockerfile"]
    assert dockerfile.is_file(), f"{name}: {build['dockerfile']} does not exist"
    member = dockerfile.parent
    package = package_name(member)
    instructions = dockerfile_instructions(dockerfile)
    text = "\n".join(f"{i} {a}" for i, a in instructions)

    # Image entry point: the matching module (or the CLI for the migrate/cli image).
    cmds = [args for instruction, args in final_stage(instructions) if instruction == "CMD"]
    assert cmds, f"{dockerfile} has no CMD in its final stage"
    cmd = json.loads(cmds[-1])  # exec form
    if name in SERVICES:
        assert member == ROOT / "services" / name
        assert cmd == ["python", "-m", name]
        assert (member / "src" / name / "__init__.py").is_file()
    else:
        assert package == "coldstream"
        assert cmd[0] == "coldstream"

    # uv: frozen, no dev tools, only this package, against the root lock.
    syncs = [args for instruction, args in instructions if instruction == "RUN" and "uv sync" in args]
    assert syncs
    for sync in syncs:
        assert "--frozen" in sync
        assert "--no-dev" in sync
        assert re.search(rf"--package[ =]{re.escape(package)}(\s|$)", sync), sync
    assert re.search(r"COPY --from=\S+ /uv", text) or "ghcr.io/astral-sh/uv" in text
    assert "ghcr.io/astral-sh/uv" in text
    assert "python:3.11-slim" in text

    # Every workspace member's pyproject.toml is copied (a frozen workspace sync needs them all).
    copies = [args for instruction, args in instructions if instruction == "COPY"]
    copied_sources = {src for args in copies for src in args.split()[:-1] if not src.startswith("--")}
    assert {"pyproject.toml", "uv.lock"} <= copied_sources
    for ws_member in workspace_members():
        relative = ws_member.relative_to(ROOT)
        needed = {f"{relative}/pyproject.toml", f"{relative}/", str(relative)}
        assert copied_sources & needed, f"{dockerfile.relative_to(ROOT)} does not copy {relative}/pyproject.toml"

    # Non-root at runtime.
    users = [args for instruction, args in final_stage(instructions) if instruction == "USER"]
    assert users
    assert users[-1] not in ("root", "0")


def test_dockerignore() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    assert {".venv", ".tools", ".data", ".git"} <= ignored
    assert not ignored & {"uv.lock", "pyproject.toml", "shared", "services", "cli", "*"}


# --------------------------------------------------------------------------------------------------
# .env.example
# --------------------------------------------------------------------------------------------------


def test_compose_variables_documented() -> None:
    text = COMPOSE_FILE.read_text()
    used = set(re.findall(r"\b(COLDSTREAM_[A-Z0-9_]+|[A-Z0-9_]+_API_KEY)\b", text))
    used |= set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))  # interpolated from shell/.env
    missing = used - documented_names()
    assert not missing, f".env.example does not document: {sorted(missing)}"


def test_settings_contract_documented() -> None:
    missing = set(DOCUMENTED_SETTINGS) - documented_names()
    assert not missing, f".env.example does not document: {sorted(missing)}"


def test_env_example_leaves_secrets_empty() -> None:
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^([A-Z0-9_]*(?:_API_KEY|SECRET|PASSWORD))=(.*)$", line)
        if match:
            assert match.group(2).strip() == "", f"{match.group(1)} must be left empty in .env.example"
