"""Safety net: Instantly disables a webhook after repeated delivery failures; resume ours when it does."""

from __future__ import annotations

import logging
from typing import Any

from replies.instantly import InstantlyClient

log = logging.getLogger(__name__)
ACTIVE = 1
OUR_PATH = "/webhooks/instantly"


class ResumeDisabledWebhooks:
    """`run_once()` lists the workspace's webhooks and resumes every disabled one that points at us."""

    def __init__(self, instantly: InstantlyClient, path: str = OUR_PATH) -> None:
        self._instantly = instantly
        self._path = path

    async def run_once(self) -> list[str]:
        """The ids resumed (usually none)."""
        resumed: list[str] = []
        cursor: str | None = None
        while True:
            page = await self._instantly.list_webhooks(cursor)
            for hook in page.items:
                if self._ours(hook) and _disabled(hook):
                    await self._instantly.resume_webhook(str(hook["id"]))
                    log.warning("resumed Instantly webhook %s (it had been disabled after failures)", hook["id"])
                    resumed.append(str(hook["id"]))
            if not page.items or page.next_starting_after is None:
                return resumed
            cursor = page.next_starting_after

    def _ours(self, hook: dict[str, Any]) -> bool:
        # Other integrations' webhooks in the workspace are theirs to manage.
        url = hook.get("target_hook_url")
        return isinstance(url, str) and self._path in url and isinstance(hook.get("id"), str)


def _disabled(hook: dict[str, Any]) -> bool:
    status = hook.get("status")
    return status is not None and status != ACTIVE
