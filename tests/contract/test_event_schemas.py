"""Event contracts: the JSON schema of every event model is snapshotted; a change must be deliberate.

Regenerate after an intended change with `UPDATE_SNAPSHOTS=1 pytest tests/contract`. Adding an optional field is
compatible; removing or retyping a field is a breaking change and needs a new model on a `.v2` subject.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from coldstream.asyncapi import generate
from coldstream.campaign_file import json_schema
from coldstream.migrate import SERVICES
from coldstream_shared.events import ALL_EVENTS

SNAPSHOTS = Path(__file__).parent / "snapshots"
ROOT = Path(__file__).parents[2]
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


def check(path: Path, current: str) -> None:
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(current, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == current, f"{path.name} changed: review, then UPDATE_SNAPSHOTS=1"


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: e.subject)
def test_event_schema_matches_snapshot(event) -> None:
    check(
        SNAPSHOTS / f"{event.subject}.json",
        json.dumps(event.model_json_schema(), indent=2, sort_keys=True) + "\n",
    )


def test_campaign_file_schema_is_current() -> None:
    check(ROOT / "docs" / "campaign.schema.json", json_schema())


@pytest.mark.parametrize("service", SERVICES)
def test_asyncapi_document_is_current(service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLDSTREAM_DATA_DIR", str(tmp_path))
    check(ROOT / "docs" / "asyncapi" / f"{service}.json", generate(service))
