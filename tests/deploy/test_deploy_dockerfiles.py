"""Parser-level checks of deploy/service.Dockerfile (all five services), cli/Dockerfile and .dockerignore."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.deploy.parsing import (
    ROOT,
    SERVICE_DOCKERFILE,
    dockerfile_instructions,
    package_name,
    stages,
    workspace_members,
)

CLI_DOCKERFILE = ROOT / "cli" / "Dockerfile"


def uv_syncs(path: Path) -> list[str]:
    return [args for instruction, args in dockerfile_instructions(path) if instruction == "RUN" and "uv sync" in args]


def copied_sources(path: Path) -> set[str]:
    """What COPY takes from the build context (copies between stages, `--from=...`, are left out)."""
    copies = [args for instruction, args in dockerfile_instructions(path) if instruction == "COPY"]
    return {src for args in copies if "--from=" not in args for src in args.split()[:-1] if not src.startswith("--")}


@pytest.mark.parametrize("dockerfile", [SERVICE_DOCKERFILE, CLI_DOCKERFILE], ids=["service", "cli"])
def test_multi_stage_uv_image_on_python_slim(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert "ghcr.io/astral-sh/uv" in text
    assert "python:3.11-slim" in text
    assert re.search(r"COPY --from=\S+ /uv", text)
    assert len(stages(dockerfile_instructions(dockerfile))) >= 3  # uv, builder, runtime


@pytest.mark.parametrize("dockerfile", [SERVICE_DOCKERFILE, CLI_DOCKERFILE], ids=["service", "cli"])
def test_frozen_sync_against_the_workspace_lock(dockerfile: Path) -> None:
    syncs = uv_syncs(dockerfile)
    assert syncs
    for sync in syncs:
        assert "--frozen" in sync
        assert "--no-dev" in sync
        assert "--package" in sync
    # A frozen workspace sync needs every member's pyproject.toml, whichever package it installs.
    sources = copied_sources(dockerfile)
    assert {"pyproject.toml", "uv.lock"} <= sources
    for member in workspace_members():
        relative = member.relative_to(ROOT)
        assert sources & {f"{relative}/pyproject.toml", f"{relative}/", str(relative)}, f"{relative}/pyproject.toml"


@pytest.mark.parametrize("dockerfile", [SERVICE_DOCKERFILE, CLI_DOCKERFILE], ids=["service", "cli"])
def test_runs_as_non_root(dockerfile: Path) -> None:
    runtime = stages(dockerfile_instructions(dockerfile))[-1]
    users = [args for instruction, args in runtime if instruction == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")


def test_service_image_installs_only_its_package_and_shared() -> None:
    instructions = dockerfile_instructions(SERVICE_DOCKERFILE)
    for stage in stages(instructions)[1:]:  # builder and runtime each declare the build argument
        assert ("ARG", "SERVICE") in stage
    for sync in uv_syncs(SERVICE_DOCKERFILE):
        assert re.search(r"--package \"?coldstream-\$\{SERVICE\}\"?(\s|$)", sync), sync
    # Sources: shared and the one service; never another service's folder or the cli.
    sources = {s for s in copied_sources(SERVICE_DOCKERFILE) if not s.endswith("pyproject.toml")}
    assert sources == {"shared/", "services/${SERVICE}/", "uv.lock"}, sources


def test_service_package_names_follow_the_build_argument() -> None:
    for member in workspace_members():
        if member.parent.name == "services":
            assert package_name(member) == f"coldstream-{member.name}"
            assert (member / "src" / member.name / "__main__.py").is_file()


def test_service_image_runs_the_module_named_by_the_build_argument() -> None:
    runtime = stages(dockerfile_instructions(SERVICE_DOCKERFILE))[-1]
    envs = " ".join(args for instruction, args in runtime if instruction == "ENV")
    assert "COLDSTREAM_SERVICE=${SERVICE}" in envs
    assert "COLDSTREAM_DATA_DIR=/data" in envs
    cmd = json.loads(next(args for instruction, args in reversed(runtime) if instruction == "CMD"))
    assert cmd[:2] == ["sh", "-c"]
    assert cmd[2].startswith("exec python -m ")  # exec: python gets SIGTERM, not the shell
    assert "$COLDSTREAM_SERVICE" in cmd[2]


def test_cli_image_runs_the_cli() -> None:
    runtime = stages(dockerfile_instructions(CLI_DOCKERFILE))[-1]
    cmd = json.loads(next(args for instruction, args in reversed(runtime) if instruction == "CMD"))
    assert cmd[0] == "coldstream"
    for sync in uv_syncs(CLI_DOCKERFILE):
        assert re.search(r"--package[ =]coldstream(\s|$)", sync), sync


def test_dockerignore_keeps_the_context_small_but_complete() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    assert {".venv", ".tools", ".data", ".git", ".env"} <= ignored
    assert not ignored & {"uv.lock", "pyproject.toml", "shared", "services", "cli", "deploy", "*"}
