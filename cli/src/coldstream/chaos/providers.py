"""The outside world of a chaos run: one Instantly workspace (the sending and the inbox halves of the API on one
base URL, as at Instantly) that records every lead it is offered, and a model that writes valid sequences.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from coldstream.fakes.anthropic import FakeAnthropic
from coldstream.fakes.instantly import FakeInstantly
from coldstream.fakes.instantly_inbox import FakeInstantlyInbox
from coldstream.fakes.served import Served

API_KEY = "chaos-instantly-key"
MODEL_KEY = "chaos-anthropic-key"
# Paths of the inbox half (replies' calls); everything else is the sending half.
INBOX_PATHS = ("/api/v2/emails", "/api/v2/webhooks", "/api/v2/leads/update-interest-status")


@dataclass(frozen=True)
class Offer:
    """One lead in one leads/add call, as it arrived (whatever the fake then did with it)."""

    email: str
    campaign: str  # Instantly's campaign id
    at: float  # wall-clock arrival (time.time()), comparable with Postgres timestamps
    created: bool  # the fake created the lead (not skipped as already in the workspace, not blocked)


@dataclass
class RecordingInstantly(FakeInstantly):
    """FakeInstantly that also remembers every offer with its arrival time (for "sent after suppression"), and
    can hold one leads/add answer back after storing the leads: the harness kills sending in that moment."""

    offers: list[Offer] = field(default_factory=list)
    _release: asyncio.Event | None = None
    held: asyncio.Event = field(default_factory=asyncio.Event)

    def hold_next_answer(self, release: asyncio.Event) -> None:
        """The next successful leads/add stores its leads, sets `held`, then answers only once `release` is set."""
        self.held.clear()
        self._release = release

    async def _add_leads(self, request: Request) -> JSONResponse:
        response = await super()._add_leads(request)
        release = self._release
        if release is not None and response.status_code == 200:
            self._release = None
            self.held.set()
            await release.wait()
        return response

    def _store_leads(self, body: dict[str, Any], leads: list[dict[str, Any]]) -> dict[str, Any]:
        at = time.time()
        answer = super()._store_leads(body, leads)
        created = {int(lead["index"]) for lead in answer["created_leads"]}
        with self._lock:
            self.offers.extend(
                Offer(str(lead["email"]).strip().lower(), str(body.get("campaign_id")), at, index in created)
                for index, lead in enumerate(leads)
            )
        return answer

    def created_emails(self) -> set[str]:
        """Addresses the workspace holds a lead for (what Instantly will mail)."""
        with self._lock:
            return {offer.email for offer in self.offers if offer.created}


class InstantlyWorkspace(Served):
    """Both fakes behind one base URL: sending and replies share COLDSTREAM_INSTANTLY_BASE_URL."""

    def __init__(self) -> None:
        self.sending = RecordingInstantly(api_key=API_KEY)
        self.inbox = FakeInstantlyInbox(api_key=API_KEY, emails_per_minute=None)
        self.app = _ByPath(self.inbox.app, self.sending.app)


class _ByPath:
    """ASGI: the inbox paths to one app, the rest to the other (an object, so uvicorn sees an ASGI 3 app)."""

    def __init__(self, inbox: Any, sending: Any) -> None:
        self._inbox, self._sending = inbox, sending

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        await (self._inbox if path.startswith(INBOX_PATHS) else self._sending)(scope, receive, send)


def model() -> FakeAnthropic:
    """The fake Messages API: a valid two-touch sequence for personalization, a verdict for replies."""
    return FakeAnthropic(answer, api_key=MODEL_KEY)


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """What the model says: tool input for whichever tool the request forces."""
    tool = (request.get("tool_choice") or {}).get("name") or ((request.get("tools") or [{}])[0]).get("name")
    text = _prompt_text(request)
    if tool == "write_sequence":
        return _sequence(text)
    return {"category": "question", "confidence": 0.81, "reasoning": "asks why they would switch", "key_phrase": "why"}


def _sequence(brief: str) -> dict[str, Any]:
    """Two touches naming the lead and the company from the brief (so the grounding check finds every name)."""
    company = _fact(brief, "Company") or "your team"
    first = _fact(brief, "First name") or "there"
    touch = {
        "subject": f"{company} and outbound that books meetings",
        "opening_line": f"Hi {first}, outbound at {company} probably sends a lot of messages every week.",
        "body": "Coldstream Insights shows which outbound messages turn into meetings, per segment, within a week.",
        "call_to_action": "Worth a 15-minute look next Tuesday?",
    }
    follow_up = {**touch, "subject": f"Re: {company} and outbound that books meetings"}
    return {"framework": "PAS", "personalization_level": "high", "touches": [touch, follow_up]}


def _fact(brief: str, label: str) -> str | None:
    found = re.search(rf"(?m)^\W*{re.escape(label)}: (.+)$", brief)
    return found.group(1).strip() if found else None


def _prompt_text(request: dict[str, Any]) -> str:
    parts: list[str] = []
    for message in request.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [block.get("text", "") for block in content if isinstance(block, dict)]
    return "\n".join(parts)
