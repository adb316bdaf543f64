"""Use case: upload queued first touches to Instantly in bulk, exactly once.

Per round (up to `ROUND_LEADS` touches, cut into leads/add calls of `batch_size`): (1) one transaction re-checks
the suppression list under the address locks, writes one batch log row per call and marks the touches `reserved`;
(2) the round's leads/add calls (<= 1,000 leads each, skip_if_in_workspace) go out together, paced only by the
workspace limiter; (3) a few transactions map `created_leads[].index` back to the touches and record them sent.
A crash between (2) and (3) leaves the touches reserved: the follow-up sweep later reconciles each by looking the
lead up at Instantly. The database work is per round, not per call: with small calls the request limit, not the
database, is what bounds the rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nats.errors import Error as NatsError
from sqlalchemy import func, select, update

from coldstream_shared.errors import TransientError
from coldstream_shared.events import utcnow
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.bulk_ledger import lock_many, suppressions_for_many
from sending.dispatch import Dispatcher
from sending.instantly.client import MAX_LEADS_PER_CALL, InstantlyRejectedError
from sending.instantly.hold_campaign import CampaignHeldError, hold_campaign
from sending.instantly.leads import lead_payloads
from sending.instantly.mailer import InstantlyMailer, skip_reason
from sending.mailer import DeliveryResult
from sending.outgoing import sent_event
from sending.store import campaigns, send_ledger, upload_batches
from sending.suppression import blocking_entry
from sending.upload_locks import (
    counters,
    finish_batches,
    open_batches,
    record_uploaded,
    requeue,
    reserve_for_batches,
)

log = logging.getLogger(__name__)
# Touches recorded per transaction: each transaction's outbox then publishes a bounded number of events.
RECORD_CHUNK = 500
# Touches reserved per round (one transaction), whatever the call size.
ROUND_LEADS = 1000
# Refusals of the account or the campaign (a revoked key, a campaign deleted at Instantly), not of the leads in the
# call: the campaign is held and the leads queued again. Other 4xx (400: a payload it will not take) fail the touches.
ACCOUNT_REFUSALS = frozenset({401, 403, 404})
# Rounds of one drain that may be recording while it takes and calls the next one.
RECORDING_AHEAD = 4


@dataclass
class Batch:
    """Touches reserved for one leads/add call, in request order."""

    id: int
    campaign: Any
    instantly_id: str
    rows: list[Any]
    payloads: list[dict[str, Any]]


@asynccontextmanager
async def after_commit_publish_may_fail(batch_id: int) -> AsyncIterator[None]:
    """A batch's unit of work publishes up to 1,000 `email.sent` right after committing. If that publish fails
    (NATS slow or away), the ledger is already right and the outbox relay publishes them later: the round goes on
    instead of failing. An error before the commit still propagates."""
    try:
        yield
    except (TimeoutError, NatsError) as error:
        log.warning("upload batch %d recorded; its events wait for the outbox relay (%s)", batch_id, error)


class UploadQueuedLeads:
    """Takes `queued` touches of active Instantly campaigns up in batches."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        mailer: InstantlyMailer,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        batch_size: int = MAX_LEADS_PER_CALL,
        workers: int = 2,
        clock: Callable[[], datetime] = utcnow,
        after_upload: Callable[[], None] | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._mailer = mailer
        self._uow = unit_of_work
        self._batch_size = max(1, min(batch_size, MAX_LEADS_PER_CALL))
        self._workers = workers
        self._clock = clock
        self._after_upload = after_upload  # tests: stands for a crash right after Instantly answered

    async def __call__(self) -> int:
        """Upload everything queued now (`workers` rounds in flight at once); returns how many leads went up."""
        async with self._uow() as uow:
            ready = await uow.session.execute(
                select(send_ledger.c.campaign_id)
                .join(campaigns, campaigns.c.campaign_id == send_ledger.c.campaign_id)
                .where(send_ledger.c.status == "queued", campaigns.c.paused_reason.is_(None))
                .distinct()
            )
            campaign_ids = [row.campaign_id for row in ready]
        uploaded = 0
        for campaign_id in campaign_ids:
            counts = await asyncio.gather(*(self._drain(campaign_id) for _ in range(self._workers)))
            uploaded += sum(counts)
        return uploaded

    async def _drain(self, campaign_id: str) -> int:
        # A round is recorded while the next one is taken and called: recording ends with publishing up to 1,000
        # `email.sent` (one JetStream fsync each), which would otherwise leave the request budget unused meanwhile.
        recording: list[asyncio.Task[int]] = []
        uploaded = 0
        try:
            while batches := await self._take_round(campaign_id):
                answers = await asyncio.gather(*(self._call(batch) for batch in batches))
                recording.append(asyncio.create_task(self._record_round(list(zip(batches, answers, strict=True)))))
                while len(recording) > RECORDING_AHEAD:  # bounded: what waits for recording is held in memory
                    uploaded += await recording.pop(0)
        finally:
            results = await asyncio.gather(*recording, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
            uploaded += result
        return uploaded

    async def _take_round(self, campaign_id: str) -> list[Batch]:
        """Reserve the next round, one batch per leads/add call; empty when nothing is queued (or paused)."""
        async with self._uow() as uow:
            campaign = await ledger.load_campaign(uow.session, campaign_id)
            if campaign is None or campaign.paused_reason is not None:
                return []
        try:
            instantly_id = await self._mailer.campaigns.ensure(campaign)
        except CampaignHeldError as held:  # nothing reserved: the touches stay queued for the resume
            log.warning("campaign %s held, its queued leads wait: %s", campaign_id, held)
            return []
        size = self._batch_size
        async with self._uow() as uow:
            rows = list(
                await uow.session.execute(
                    select(send_ledger)
                    .where(send_ledger.c.campaign_id == campaign_id, send_ledger.c.status == "queued")
                    .order_by(send_ledger.c.created_at, send_ledger.c.id)
                    .limit(max(size, ROUND_LEADS // size * size))
                    .with_for_update(skip_locked=True)
                )
            )
            if not rows:
                return []
            # The same locks a suppression takes: an entry committed before this point is seen here.
            await lock_many(uow.session, [row.email for row in rows])
            entries = await suppressions_for_many(uow.session, [row.email for row in rows])
            allowed = []
            for row in rows:
                blocked = blocking_entry(row.email, entries)
                if blocked is None:
                    allowed.append(row)
                else:
                    await self._dispatcher.suppress_in(uow, row, blocked.reason, blocked.scope, source="queued")
            batches = []
            if allowed:
                groups = [allowed[start : start + size] for start in range(0, len(allowed), size)]
                ids = await open_batches(uow.session, campaign_id, [len(group) for group in groups])
                reserved = await reserve_for_batches(
                    uow.session, {row.id: ids[n] for n, group in enumerate(groups) for row in group}, self._clock()
                )
                payloads = await lead_payloads(uow.session, self._mailer.compliance, campaign, reserved)
                by_batch: dict[int, tuple[list[Any], list[dict[str, Any]]]] = {id_: ([], []) for id_ in ids}
                for row, payload in zip(reserved, payloads, strict=True):
                    by_batch[row.upload_batch][0].append(row)
                    by_batch[row.upload_batch][1].append(payload)
                batches = [Batch(id_, campaign, instantly_id, *by_batch[id_]) for id_ in ids if by_batch[id_][0]]
            await uow.commit()
        # A round whose touches were all suppressed has no call to make, but the next round may.
        return batches or (await self._take_round(campaign_id) if len(rows) > len(allowed) else [])

    async def _call(self, batch: Batch) -> dict[str, Any] | Exception:
        try:
            answer = await self._mailer.campaigns.client.add_leads(batch.instantly_id, batch.payloads)
        except (InstantlyRejectedError, TransientError) as error:
            return error
        if self._after_upload is not None:
            self._after_upload()
        return answer

    async def _record_round(self, results: list[tuple[Batch, dict[str, Any] | Exception]]) -> int:
        done: list[tuple[Any, str]] = []
        answered: list[tuple[Batch, dict[str, Any]]] = []
        for batch, answer in results:
            if isinstance(answer, InstantlyRejectedError):
                await self._refused(batch, answer)
            elif isinstance(answer, Exception):
                # Unknown outcome (a 5xx may have been processed): the touches stay reserved, and the sweep looks
                # each lead up at Instantly once the lease ran out. Never uploaded again blindly.
                await self._finish(batch, "unknown", error=str(answer))
                log.warning(
                    "upload batch %d: outcome unknown (%s); reconciliation will look leads up", batch.id, answer
                )
            else:
                created = {int(lead["index"]): str(lead["id"]) for lead in answer.get("created_leads") or []}
                done += [(row, created[index]) for index, row in enumerate(batch.rows) if index in created]
                answered.append((batch, answer))
        # Recorded RECORD_CHUNK at a time; the batch log rows with the last chunk. A crash between chunks leaves
        # the rest reserved, to be reconciled by lookup like any other.
        for start in range(0, max(len(done), 1) if answered else 0, RECORD_CHUNK):
            async with after_commit_publish_may_fail(answered[0][0].id), self._uow() as uow:
                chunk = {row.id: lead_id for row, lead_id in done[start : start + RECORD_CHUNK]}
                for row in await record_uploaded(uow.session, chunk, self._clock()):
                    uow.emit(sent_event(row, DeliveryResult("instantly", row.message_id)))
                if start + RECORD_CHUNK >= len(done):
                    await finish_batches(uow.session, [(batch.id, counters(answer)) for batch, answer in answered])
                await uow.commit()
        # Not created: ours from an earlier attempt (skip_if_in_workspace) or refused. Each is looked up.
        for batch, answer in answered:
            created_ids = {int(lead["index"]) for lead in answer.get("created_leads") or []}
            for index, row in enumerate(batch.rows):
                if index not in created_ids:
                    await self._settle_skipped(batch, row, answer)
        return len(done)

    async def _settle_skipped(self, batch: Batch, row: Any, answer: dict[str, Any]) -> None:
        lead = await self._mailer.campaigns.client.find_lead(batch.instantly_id, row.email)
        async with self._uow() as uow:
            if lead is not None:
                await self._dispatcher.record_in(uow, row, batch.campaign, DeliveryResult("instantly", str(lead["id"])))
            else:
                reason = f"Instantly did not take the lead: {skip_reason(answer)}"
                await self._dispatcher.fail_in(uow, row, "instantly", reason)
            await uow.commit()

    async def _refused(self, batch: Batch, error: InstantlyRejectedError) -> None:
        async with self._uow() as uow:
            if error.status in ACCOUNT_REFUSALS:
                # The key or the campaign, not these leads: Instantly added none of them, so they go back in the
                # queue and the campaign is held until an operator fixes it and resumes (each is then sent once).
                await requeue(uow.session, [row.id for row in batch.rows])
                await hold_campaign(uow, batch.campaign, error, "add_leads")
            else:
                for row in batch.rows:
                    await self._dispatcher.fail_in(uow, row, "instantly", str(error))
            await self._finish_in(uow, batch, "failed", error=str(error))
            await uow.commit()
        log.error("upload batch %d refused by Instantly: %s", batch.id, error)

    async def _finish(self, batch: Batch, status: str, **details: Any) -> None:
        async with self._uow() as uow:
            await self._finish_in(uow, batch, status, **details)
            await uow.commit()

    async def _finish_in(
        self, uow: UnitOfWork, batch: Batch, status: str, answer: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        counted = counters(answer or {})
        await uow.session.execute(
            update(upload_batches)
            .where(upload_batches.c.id == batch.id)
            .values(
                status=status,
                leads_uploaded=counted.get("leads_uploaded"),
                skipped=counted.get("skipped_count"),
                response=counted or None,
                error=error,
                finished_at=func.now(),
            )
        )

    async def run_forever(self, interval: float = 2.0) -> None:
        """The background loop the service starts (runtime.loops)."""
        while True:
            try:
                await self()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Instantly upload round failed; retrying in %.0fs", interval)
            await asyncio.sleep(interval)
