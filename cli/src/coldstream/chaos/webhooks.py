"""Instantly's side of a run's replies: webhooks posted to the replies service while the campaign runs.

Each lead's webhook comes from the plan (seed and address). Replies and their kin are posted a few seconds after
the lead reached Instantly; the early unsubscribes and bounces are posted from the start, so their suppression can
land before the lead is uploaded. A share is delivered twice, byte for byte, as Instantly does after a timeout:
half of those copies race the first delivery (posted at the same moment), half follow it a few seconds later.
A delivery that meets a killed replies service (connection refused, 5xx) is retried until it is accepted.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from coldstream.chaos.plan import KINDS, Hook, Plan

SECRET = "chaos-webhook-secret"  # noqa: S105 - the local stack's shared secret, not a credential
log = logging.getLogger(__name__)


@dataclass
class Delivery:
    """One webhook (and its copy, when delivered twice)."""

    email: str
    hook: Hook
    body: bytes
    posted_at: list[float] = field(default_factory=list)  # wall clock of each accepted copy
    attempts: int = 0
    replays: int = 0  # copies the service answered "duplicate" to
    posts: int = 0  # copies sent so far
    racing: bool = False  # the copy is posted at the same moment as the first
    error: str | None = None  # never accepted

    @property
    def event_type(self) -> str:
        return KINDS[self.hook.kind][0]


def payload(email: str, hook: Hook, instantly_campaign: str | None) -> bytes:
    """The body Instantly would post (its documented base fields, reply fields for replies)."""
    event_type, text = KINDS[hook.kind]
    body: dict[str, object] = {
        "timestamp": datetime.now(UTC).isoformat(),
        "event_type": event_type,
        "workspace": "chaos-workspace",
        "campaign_id": instantly_campaign or "",
        "campaign_name": "chaos",
        "lead_email": email,
        "email_id": uuid.uuid4().hex,
        "step": 1,
    }
    if text is not None:
        body |= {"reply_text": text, "reply_text_snippet": text[:100], "reply_subject": "Re: outbound"}
    return json.dumps(body).encode()


class WebhookPoster:
    """Schedules and posts the plan's webhooks; `finish()` then `drained` tells when all are in."""

    def __init__(
        self,
        replies_url: str,
        plan: Plan,
        addresses: list[str],
        uploaded: Callable[[], dict[str, str]],  # address -> Instantly campaign id, for leads Instantly holds
        *,
        concurrency: int = 8,
        give_up_after: float = 180.0,
    ) -> None:
        self._url = f"{replies_url.rstrip('/')}/webhooks/instantly"
        self._plan = plan
        self._uploaded = uploaded
        self._rng = random.Random(plan.seed)  # noqa: S311 - reproducible jitter, not security
        self._queue: list[tuple[float, int, Delivery]] = []  # (due, tie-breaker, delivery)
        self._order = itertools.count()
        self._seen: set[str] = set()
        self._pending = 0
        self._finishing = False
        self._semaphore = asyncio.Semaphore(concurrency)
        self._give_up_after = give_up_after
        self.deliveries: list[Delivery] = []
        now = time.monotonic()
        # Early suppressions: due from the start, whatever has been uploaded by then.
        for email in addresses:
            hook = plan.hook_for(email)
            if hook is not None and hook.before_sending:
                self._seen.add(email)
                self._schedule(Delivery(email, hook, payload(email, hook, None)), now + hook.delay)

    @property
    def drained(self) -> bool:
        """finish() was called and every delivery (copies included) is done."""
        return self._finishing and not self._queue and self._pending == 0

    def finish(self) -> None:
        """Schedule the hooks of leads uploaded so far; nothing new after this."""
        self._pick_up_uploads()
        self._finishing = True

    def _schedule(self, delivery: Delivery, due: float) -> None:
        self.deliveries.append(delivery)
        delivery.racing = delivery.hook.twice and self._rng.random() < 0.5
        for _ in range(2 if delivery.racing else 1):
            heapq.heappush(self._queue, (due, next(self._order), delivery))

    def _pick_up_uploads(self) -> None:
        now = time.monotonic()
        for email, instantly_campaign in self._uploaded().items():
            if email in self._seen:
                continue
            self._seen.add(email)
            hook = self._plan.hook_for(email)
            if hook is not None and not hook.before_sending:
                self._schedule(Delivery(email, hook, payload(email, hook, instantly_campaign)), now + hook.delay)

    async def run(self, stop: asyncio.Event) -> None:
        """Post due deliveries until drained (or `stop`)."""
        async with httpx.AsyncClient(timeout=10.0) as http:
            tasks: set[asyncio.Task[None]] = set()
            while not stop.is_set() and not self.drained:
                if not self._finishing:
                    self._pick_up_uploads()
                now = time.monotonic()
                while self._queue and self._queue[0][0] <= now:
                    _, _, delivery = heapq.heappop(self._queue)
                    self._pending += 1
                    task = asyncio.create_task(self._post(http, delivery))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.sleep(0.2)
            for task in list(tasks):
                task.cancel()

    async def _post(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        try:
            delivery.posts += 1
            first = delivery.posts == 1
            async with self._semaphore:
                await self._deliver(http, delivery)
            if first and delivery.hook.twice and not delivery.racing and delivery.error is None:
                copy_due = time.monotonic() + self._rng.uniform(0.2, 5.0)
                heapq.heappush(self._queue, (copy_due, next(self._order), delivery))
        finally:
            self._pending -= 1

    async def _deliver(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        """POST until accepted (2xx), as Instantly retries; a 4xx is final."""
        headers = {"X-Webhook-Secret": SECRET, "Content-Type": "application/json"}
        deadline = time.monotonic() + self._give_up_after
        pause = 0.25
        while True:
            delivery.attempts += 1
            try:
                response = await http.post(self._url, content=delivery.body, headers=headers)
            except httpx.HTTPError as error:
                status, reason = None, type(error).__name__
            else:
                status, reason = response.status_code, response.text[:200]
                if status < 300:
                    if response.json().get("duplicate"):
                        delivery.replays += 1
                    else:
                        delivery.posted_at.append(time.time())
                    return
                if status < 500:
                    delivery.error = f"{status}: {reason}"
                    return
            if time.monotonic() > deadline:
                delivery.error = f"not accepted in {self._give_up_after:.0f}s (last: {status or reason})"
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
