"""Parsers shared by the deployment checks: compose files, Dockerfiles, the workspace and .env.example.

There is no Docker engine where the tests run, so instead of `docker compose config` or `docker build` the
files are parsed and checked for what the stack relies on.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SERVICE_DOCKERFILE = ROOT / "deploy" / "service.Dockerfile"

SERVICES = ("discovery", "enrichment", "personalization", "sending", "replies")


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def env_of(service: dict[str, Any]) -> dict[str, str | None]:
    """A compose service's `environment`, in either the mapping or the list form."""
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
            ports.add(int(str(entry).rsplit(":", 1)[-1].split("/", 1)[0]))
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
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current.strip():
        logical.append(current)
    pairs = [line.partition(" ") for line in logical]
    return [(instruction.upper(), args.strip()) for instruction, _, args in pairs]


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (the global ARGs before the first FROM are dropped)."""
    starts = [i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM"]
    assert starts, "Dockerfile has no FROM"
    return [instructions[start:end] for start, end in zip(starts, [*starts[1:], len(instructions)], strict=True)]


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
    """Every variable named in .env.example, set or commented out."""
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def nats_store_limit(conf: str) -> int:
    """JetStream's max_file_store in bytes, read conservatively (decimal units)."""
    match = re.search(r"\bmax_file_store:\s*(\d+)\s*([KMGT]?)B?\b", re.sub(r"#.*", "", conf), re.I)
    assert match, "set max_file_store: an unbounded store fills the disk"
    scale = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}[match.group(2).upper()]
    return int(match.group(1)) * scale


def reserved_stream_bytes() -> int:
    """What the streams reserve on every node that holds them (their byte caps)."""
    from coldstream_shared.streams import STREAM_CONFIGS

    return sum(config.max_bytes or 0 for config in STREAM_CONFIGS.values())
