"""Command groups beyond the core ones in `coldstream.cli`, one module each.

Each module defines `register(app, campaign_app)`; add it to `MODULES` to wire it into `coldstream`.
"""

from __future__ import annotations

import importlib

import typer

MODULES: tuple[str, ...] = (
    "campaigns",
    "approvals",
    "dlq",
    "leads",
    "report",
    "status",
    "samples",
    "suppress",
    "campaign_control",
    "replies",
    "chaos",
)


def register_all(app: typer.Typer, campaign_app: typer.Typer) -> None:
    """Attach every command module's commands."""
    for name in MODULES:
        importlib.import_module(f"coldstream.commands.{name}").register(app, campaign_app)
