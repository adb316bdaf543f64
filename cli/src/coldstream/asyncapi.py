"""The published contract: one AsyncAPI document per service, generated from the code."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from coldstream.migrate import SERVICES


def generate(service: str) -> str:
    """The AsyncAPI JSON for one service, as FastStream derives it from the subscribers and models."""
    from faststream.specification import AsyncAPI

    module = importlib.import_module(f"{service}.main")
    app = module.create_app()
    document = AsyncAPI(app.broker, title=f"coldstream-{service}", version="1.0.0").to_specification()
    return json.dumps(json.loads(document.to_json()), indent=2, sort_keys=True) + "\n"


def write_all(out_dir: Path) -> list[Path]:
    """Regenerate every service's document into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for service in SERVICES:
        path = out_dir / f"{service}.json"
        path.write_text(generate(service), encoding="utf-8")
        written.append(path)
    return written
