"""Walking and editing nested JSON-like documents: the fuzzers' way to reach every field of a valid example."""

from __future__ import annotations

import copy
from typing import Any

Path_ = tuple[str | int, ...]


def paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every key path inside `value` (mappings and lists), parents before children."""
    found: list[Path_] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((*prefix, key))
        found.extend(paths(item, (*prefix, key)))
    return found


def edited(doc: dict[str, Any], path: Path_, value: Any = None, *, drop: bool = False) -> dict[str, Any]:
    """A deep copy of `doc` with the field at `path` set to `value`, or removed with `drop`."""
    out = copy.deepcopy(doc)
    parent: Any = out
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out
