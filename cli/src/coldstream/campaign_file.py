"""Reading a campaign file: YAML in, a validated CampaignSpec out, or an error that names the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from coldstream_shared.campaign import CampaignSpec


class CampaignFileError(Exception):
    """The campaign file cannot be used; the message says where and why."""


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe(error: ValidationError) -> str:
    """One line per problem, each starting with the field path, e.g. `sequence.steps[0].subject: ...`."""
    return "\n".join(f"  {_location(e['loc'])}: {e['msg']}" for e in error.errors())


def load_campaign(path: Path) -> CampaignSpec:
    """Parse and validate a campaign file; file sources become absolute paths that must exist."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise CampaignFileError(f"{path}: no such file") from error
    except UnicodeDecodeError as error:
        raise CampaignFileError(f"{path}: not UTF-8 text ({error}); save it as UTF-8") from error
    except OSError as error:
        raise CampaignFileError(f"{path}: cannot read it: {error}") from error
    # PyYAML raises ValueError for scalars it mistakes for dates and numbers ("2024-13-45", "!!int x") and
    # RecursionError for absurd nesting, besides its own YAMLError.
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        raise CampaignFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise CampaignFileError(f"{path}: expected a mapping of campaign fields at the top level")
    try:
        spec = CampaignSpec.model_validate(raw)
    except ValidationError as error:
        raise CampaignFileError(f"{path}: invalid campaign\n{describe(error)}") from error
    return _resolve_sources(spec, path.parent.resolve())


def _resolve_sources(spec: CampaignSpec, base: Path) -> CampaignSpec:
    sources = []
    for i, source in enumerate(spec.sources):
        if source.path is not None:
            try:  # a NUL, a lone surrogate or an overlong name is refused by the OS, not merely missing
                resolved = (base / source.path).resolve()
                found = resolved.is_file()
            except (OSError, ValueError) as error:
                problem = f"{source.path[:200]!r} is not a usable path: {str(error)[:200]}"
                raise CampaignFileError(f"sources[{i}].path: {problem}") from error
            if not found:
                raise CampaignFileError(f"sources[{i}].path: {source.path} not found (looked in {resolved})")
            source = source.model_copy(update={"path": str(resolved)})
        sources.append(source)
    return spec.model_copy(update={"sources": sources})


def json_schema() -> str:
    """The JSON Schema of the campaign file (editors can validate against it)."""
    schema = CampaignSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Coldstream campaign file"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
