"""Use case: upload queued first touches to Instantly in bulk, exactly once.

Per batch: (1) one transaction re-checks the suppression list under the address locks, writes the batch log row
and marks the touches `reserved`; (2) one leads/add call (<= 1,000 leads, skip_if_in_workspace); (3) one
transaction maps `created_leads[].index` back to the touches and records them sent. A crash between (2) and (3)
leaves the touches reserved: the follow-up sweep later reconciles each by looking the lead up at Instantly.
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
from sqlalchemy import func, insert, select, update

from coldstream_shared.errors import TransientError
from coldstream_shared.events import utcnow
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.dispatch import Dispatcher, sent_event
from sending.instantly.client import MAX_LEADS_PER_CALL, InstantlyRejectedError
from sending.instantly.leads import lead_payloads
from sending.instantly.mailer import InstantlyMailer, skip_reason
from sending.mailer import DeliveryResult
from sending.store import campaigns, send_ledger, upload_batches
from sending.suppression import blocking_entry
from sending.upload_locks import lock_many, record_uploaded, suppressions_for_many

log = logging.getLogger(__name__)
RECORD_CHUNK = 100


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
        """Upload everything queued now (a few batches in flight at once); returns how many leads went up."""
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
        uploaded = 0
        while (batch := await self._take_batch(campaign_id)) is not None:
            if batch.rows:
                uploaded += await self._upload(batch)
        return uploaded

    async def _take_batch(self, campaign_id: str) -> Batch | None:
        """Reserve the next batch; None when nothing is queued (or the campaign is paused)."""
        async with self._uow() as uow:
            campaign = await ledger.load_campaign(uow.session, campaign_id)
            if campaign is None or campaign.paused_reason is not None:
                return None
        instantly_id = await self._mailer.campaigns.ensure(campaign)
        async with self._uow() as uow:
            rows = list(
                await uow.session.execute(
                    select(send_ledger)
                    .where(send_ledger.c.campaign_id == campaign_id, send_ledger.c.status == "queued")
                    .order_by(send_ledger.c.created_at, send_ledger.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            if not rows:
                return None
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
            batch = Batch(0, campaign, instantly_id, [], [])
            if allowed:
                batch.id = (
                    await uow.session.execute(
                        insert(upload_batches)
                        .values(campaign_id=campaign_id, leads_sent=len(allowed), status="pending")
                        .returning(upload_batches.c.id)
                    )
                ).scalar_one()
                reserved = await uow.session.execute(
                    update(send_ledger)
                    .where(send_ledger.c.id.in_([row.id for row in allowed]), send_ledger.c.status == "queued")
                    .values(status="reserved", attempt_at=self._clock(), upload_batch=batch.id)
                    .returning(*send_ledger.c)
                )
                batch.rows = sorted(reserved, key=lambda row: (row.created_at, row.id))
                batch.payloads = await lead_payloads(uow.session, self._mailer.compliance, campaign, batch.rows)
            await uow.commit()
        return batch

    async def _upload(self, batch: Batch) -> int:
        try:
            answer = await self._mailer.campaigns.client.add_leads(batch.instantly_id, batch.payloads)
        except InstantlyRejectedError as error:
            await self._refused(batch, str(error))
            return 0
        except TransientError as error:
            # Unknown outcome (a 5xx may have been processed): the touches stay reserved, and the sweep looks
            # each lead up at Instantly once the lease ran out. Never uploaded again blindly.
            await self._finish(batch, "unknown", error=str(error))
            log.warning("upload batch %d: outcome unknown (%s); reconciliation will look the leads up", batch.id, error)
            return 0
        if self._after_upload is not None:
            self._after_upload()
        created = {int(lead["index"]): str(lead["id"]) for lead in answer.get("created_leads") or []}
        done = [(index, row) for index, row in enumerate(batch.rows) if index in created]
        # Recorded RECORD_CHUNK at a time: each transaction's outbox flush then publishes a bounded number of
        # events. A crash between chunks leaves the rest reserved, to be reconciled by lookup like any other.
        for start in range(0, max(len(done), 1), RECORD_CHUNK):
            async with after_commit_publish_may_fail(batch.id), self._uow() as uow:
                chunk = {row.id: created[index] for index, row in done[start : start + RECORD_CHUNK]}
                for row in await record_uploaded(uow.session, chunk, self._clock()):
                    uow.emit(sent_event(row, DeliveryResult("instantly", row.message_id)))
                if start + RECORD_CHUNK >= len(done):
                    await self._finish_in(uow, batch, "uploaded", answer=answer)
                await uow.commit()
        # Not created: ours from an earlier attempt (skip_if_in_workspace) or refused. Each is looked up.
        for index, row in enumerate(batch.rows):
            if index not in created:
                await self._settle_skipped(batch, row, answer)
        return len(created)

    async def _settle_skipped(self, batch: Batch, row: Any, answer: dict[str, Any]) -> None:
        lead = await self._mailer.campaigns.client.find_lead(batch.instantly_id, row.email)
        async with self._uow() as uow:
            if lead is not None:
                await self._dispatcher.record_in(uow, row, batch.campaign, DeliveryResult("instantly", str(lead["id"])))
            else:
                reason = f"Instantly did not take the lead: {skip_reason(answer)}"
                await self._dispatcher.fail_in(uow, row, "instantly", reason)
            await uow.commit()

    async def _refused(self, batch: Batch, reason: str) -> None:
        async with self._uow() as uow:
            for row in batch.rows:
                await self._dispatcher.fail_in(uow, row, "instantly", reason)
            await self._finish_in(uow, batch, "failed", error=reason)
            await uow.commit()
        log.error("upload batch %d refused by Instantly: %s", batch.id, reason)

    async def _finish(self, batch: Batch, status: str, **details: Any) -> None:
        async with self._uow() as uow:
            await self._finish_in(uow, batch, status, **details)
            await uow.commit()

    async def _finish_in(
        self, uow: UnitOfWork, batch: Batch, status: str, answer: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        counters = {k: v for k, v in (answer or {}).items() if isinstance(v, int | float)}  # no addresses kept
        await uow.session.execute(
            update(upload_batches)
            .where(upload_batches.c.id == batch.id)
            .values(
                status=status,
                leads_uploaded=counters.get("leads_uploaded"),
                skipped=counters.get("skipped_count"),
                response=counters or None,
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
