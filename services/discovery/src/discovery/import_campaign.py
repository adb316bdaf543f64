"""Use case: import a started campaign's lead files, row by row, into published or rejected leads.

Crash-safe and resumable: rows are handled in batches, and one transaction per batch records the rows' outcomes,
advances the campaign's import cursor and stores the batch's events in the outbox. A redelivered
`campaign.started` continues after the cursor; event ids derive from (source, row), so nothing is emitted twice.
The event is claimed only in the last transaction, the one that emits `campaign.imported`. A batch's events are
published after its commit while the next batch runs (pipeline.py), whose rows were normalised meanwhile in a
worker process (preparation.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Literal

from opentelemetry import trace
from opentelemetry.trace import SpanContext
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.errors import PermanentError
from coldstream_shared.events import CampaignAlert, CampaignStarted, LeadData
from coldstream_shared.unit_of_work import UnitOfWork
from discovery.campaign_events import import_finished_events, progress_event
from discovery.failures import ImportedElsewhereError, failure_details, is_retryable, stopped_message
from discovery.import_records import campaign_view, finish_import, lock_import
from discovery.lead_events import SERVICE, emit_in_lead_trace, event_for
from discovery.normalisation import MAX_EXTRA_COLUMNS
from discovery.outcome_records import record_outcomes
from discovery.outcomes import decide
from discovery.people_search import ProviderRegistry
from discovery.pipeline import BatchPipeline
from discovery.preparation import Prepared, RowPreparer, where_of
from discovery.progress import ProgressMeter
from discovery.row_stream import CampaignSource, batched, open_all, rows_after
from discovery.sources import Cursor, LeadFile, SourceError, SourceRow
from discovery.store import campaigns

__all__ = ["SERVICE", "ImportCampaign"]

log = logging.getLogger(__name__)
Heartbeat = Callable[[], Awaitable[None]]
# Rows (of this run) after which the leads table's statistics are refreshed.
ANALYZE_AFTER_ROWS = (1_000, 10_000, 100_000)


async def _no_heartbeat() -> None:
    return None


class ImportCampaign:
    """Store a started campaign, import its sources, publish a lead event per row, then `campaign.imported`."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        batch_size: int = 1000,
        providers: ProviderRegistry | None = None,
        preparer: RowPreparer | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._batch_size = batch_size
        self._providers = providers
        self._preparer = preparer or RowPreparer()

    async def __call__(
        self, started: CampaignStarted, heartbeat: Heartbeat = _no_heartbeat, *, last_delivery: bool = False
    ) -> None:
        """Import, or end the campaign visibly: any failure a later delivery cannot get past (an unusable source,
        a bug, a statement the database refuses), and on the `last_delivery` any failure at all, marks the
        campaign failed with its cause, publishes `campaign.alert import_failed` and raises PermanentError (the
        start is dead-lettered; a replay resumes after the rows recorded). A failure of the moment is raised as
        it is, so the start is redelivered and resumes."""
        try:
            await self._import(started, heartbeat)
        except ImportedElsewhereError:
            raise  # another delivery holds the import: the campaign is fine
        except SourceError as error:
            message = f"campaign {started.campaign_id}: {error}"
            await self._fail(started, message, error)
            raise PermanentError(message) from error
        except Exception as error:
            retryable = is_retryable(error)
            if retryable and not last_delivery:
                raise
            message = stopped_message(started.campaign_id, error, retried=retryable)
            await self._fail(started, message, error)
            raise PermanentError(message) from error

    async def _import(self, started: CampaignStarted, heartbeat: Heartbeat) -> None:
        cursor = await self._begin(started)
        if cursor is None:
            return
        campaign_span = trace.get_current_span().get_span_context()
        sources = open_all(started.campaign, self._providers)
        by_index = {source.index: source for source in sources}
        meters = {source.index: ProgressMeter(source.estimated_rows()) for source in sources}
        names = {source.index: source.name for source in sources}
        rows = batched(rows_after(sources, cursor), self._batch_size)
        batches = self._preparer.batches(rows, names, started.campaign.icp)
        async with BatchPipeline() as pipeline:
            rows_done = 0
            async for batch, prepared in batches:
                for row in batch:
                    meters[row.source_index].add(1)
                meter = meters[batch[-1].source_index]
                report = meter.due() and meter
                await pipeline.run(
                    partial(self._import_batch, started, batch, prepared, by_index, cursor, campaign_span, report)
                )
                cursor = Cursor(batch[-1].source_index, batch[-1].row_number)
                await heartbeat()  # keeps JetStream from redelivering a long import
                rows_done, before = rows_done + len(batch), rows_done
                if any(before < rows <= rows_done for rows in ANALYZE_AFTER_ROWS):
                    await self._refresh_statistics()
        wide = {
            source.label: len(source.mapping.extras)
            for source in sources
            if isinstance(source, LeadFile) and source.mapping and len(source.mapping.extras) > MAX_EXTRA_COLUMNS
        }
        await self._finish(started, {by_index[i].label: m for i, m in meters.items()}, wide)

    async def _begin(self, started: CampaignStarted) -> Cursor | None:
        """Store the campaign on first sight; the cursor to resume from, or None when there is nothing to do."""
        async with self._uow() as uow:
            session = uow.session
            spec = started.campaign.model_dump(mode="json")
            await session.execute(
                insert(campaigns)
                .values(
                    id=started.campaign_id,
                    team_id=started.team_id,
                    name=started.campaign.name,
                    spec=spec,
                    status="importing",
                    started_event_id=started.event_id,
                )
                .on_conflict_do_nothing()
            )
            row = (
                await session.execute(select(campaigns).where(campaigns.c.id == started.campaign_id).with_for_update())
            ).one()
            if row.status == "imported":
                if await uow.claim(started):
                    log.warning("campaign %s was already imported; a restart is not re-imported", row.id)
                await uow.commit()
                return None
            if row.status == "failed":
                # A replay (e.g. from the dead-letter stream after fixing the file) resumes under this event.
                await session.execute(
                    update(campaigns)
                    .where(campaigns.c.id == row.id)
                    .values(
                        status="importing",
                        error=None,
                        spec=spec,
                        started_event_id=started.event_id,
                        updated_at=func.now(),
                    )
                )
            elif row.started_event_id != started.event_id:
                raise ImportedElsewhereError(f"campaign {row.id} is still importing an earlier start", retry_after=30)
            await uow.commit()
            return Cursor(row.cursor_source, row.cursor_row)

    async def _import_batch(
        self,
        started: CampaignStarted,
        batch: list[SourceRow],
        prepared: list[Prepared],
        files: dict[int, CampaignSource],
        cursor: Cursor,
        campaign_span: SpanContext,
        meter: ProgressMeter | Literal[False],
        committed: asyncio.Event,
    ) -> None:
        """Record, count and publish one batch of rows in one transaction; `committed` is set once it is durable
        (its events are published after that, on leaving the unit of work)."""
        campaign_id, spec = started.campaign_id, started.campaign
        async with self._uow() as uow:
            state = await lock_import(uow.session, campaign_id)
            if state.cursor != cursor or state.status != "importing" or state.started_event_id != started.event_id:
                # Another delivery of this start got ahead of us (a redelivery raced a slow worker).
                raise ImportedElsewhereError(f"campaign {campaign_id} is being imported elsewhere", retry_after=30)
            names = {index: lead_file.name for index, lead_file in files.items()}
            wheres = [where_of(row, names) for row in batch]
            leads = [p.lead for p in prepared if isinstance(p.lead, LeadData)]
            hold = spec.approvals.leads == "manual" and not state.approved
            view = await campaign_view(uow.session, spec, campaign_id, leads, hold)
            outcomes = [
                decide(row, p.lead, where, view, p.score) for row, p, where in zip(batch, prepared, wheres, strict=True)
            ]
            labels = {index: lead_file.label for index, lead_file in files.items()}
            carriers = {}
            for outcome in outcomes:
                event = event_for(started, outcome, labels[outcome.source_index])
                carrier = emit_in_lead_trace(uow, event, outcome, campaign_span)
                if outcome.kind == "held":
                    carriers[outcome.lead_id] = carrier
            await record_outcomes(uow.session, campaign_id, outcomes, labels, carriers)
            if meter:
                last = batch[-1]
                uow.emit(
                    progress_event(started, labels[last.source_index], meter, key=(last.source_index, last.row_number))
                )
            await uow.commit()
            committed.set()

    async def _refresh_statistics(self) -> None:
        """ANALYZE the leads table while a big import grows it: without fresh statistics the planner believes a
        campaign has a handful of leads and scans all of them for every batch's lookups (quadratic time)."""
        async with self._uow() as uow:
            await uow.session.execute(text("ANALYZE discovery.leads"))
            await uow.commit()

    async def _fail(self, started: CampaignStarted, message: str, error: Exception) -> None:
        """Record a campaign-level error (committed before the event is dead-lettered) and alert the operator, once
        per failure: a redelivery that fails the same way at the same row does not alert again."""
        async with self._uow() as uow:
            session = uow.session
            cursor = (
                await session.execute(
                    update(campaigns)
                    .where(campaigns.c.id == started.campaign_id, campaigns.c.status != "imported")
                    .values(status="failed", error=message, updated_at=func.now())
                    .returning(campaigns.c.cursor_source, campaigns.c.cursor_row)
                )
            ).one_or_none()
            at_row = tuple(cursor) if cursor is not None else None
            alert = CampaignAlert.caused_by(
                started,
                producer=SERVICE,
                key=("import_failed", at_row, type(error).__name__),
                kind="import_failed",
                message=message,
                details=failure_details(error, at_row),
            )
            uow.emit(alert)  # the same failure at the same row again is the same alert: the outbox stores it once
            await uow.commit()
        log.error("%s", message)

    async def _finish(self, started: CampaignStarted, meters: dict[str, ProgressMeter], wide: dict[str, int]) -> None:
        """Mark the campaign imported and publish its counters, claiming the start event in the same transaction."""
        async with self._uow() as uow:
            if not await uow.claim(started):
                return
            row = await finish_import(uow.session, started.campaign_id)
            uow.emit(*import_finished_events(started, row, meters, wide))
            await uow.commit()
        log.info(
            "campaign %s imported: %d rows, %d published, %d held, %d rejected, %d duplicates, %d excluded",
            started.campaign_id,
            row.rows_read,
            row.published,
            row.held,
            row.invalid,
            row.duplicates,
            row.excluded,
        )
