"""Run benchmarks and write their figures.

Each benchmark is a module `benchmarks/<name>.py` with `run() -> str` (sync or async) returning a Markdown section.
The section is written to `docs/benchmarks/<name>.md`; `docs/benchmarks.md` is then rebuilt from every section,
so running one benchmark never loses another's figures.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ROOT / "docs" / "benchmarks"
INDEX = ROOT / "docs" / "benchmarks.md"


def available() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_"))


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def run_one(name: str) -> str:
    module = importlib.import_module(f"benchmarks.{name}")
    result = module.run()
    text = asyncio.run(result) if inspect.isawaitable(result) else result
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{text.rstrip()}\n\n_Measured {stamp} on {machine()}._\n"


def rebuild_index() -> None:
    parts = [
        "# Benchmarks\n",
        "Reproduce with `make bench` (all) or `.venv/bin/python -m benchmarks <name>` (one). Every figure below",
        "was measured on the machine named under it; timings are never asserted inside the test suite.\n",
    ]
    parts += [p.read_text(encoding="utf-8") for p in sorted(SECTIONS.glob("*.md"))]
    INDEX.write_text("\n".join(parts), encoding="utf-8")


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    SECTIONS.mkdir(parents=True, exist_ok=True)
    for name in names:
        print(f"== {name}", flush=True)
        section = run_one(name)
        (SECTIONS / f"{name}.md").write_text(section, encoding="utf-8")
        print(section, flush=True)
    rebuild_index()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
