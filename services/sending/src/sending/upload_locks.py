"""Bulk forms of the ledger operations a batch of sends needs (one round trip each, not one per touch)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import cast, func, insert, literal_column, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from sending.store import send_ledger, upload_batches


async def record_uploaded(session: AsyncSession, lead_ids: Mapping[uuid.UUID, str], at: datetime) -> list[Any]:
    """reserved → sent for touches Instantly created (message id = its lead id); their follow-ups are handed over
    to Instantly's sequencer. Returns the rows that moved (a touch another attempt recorded first is left alone)."""
    if not lead_ids:
        return []
    values = text("SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:mids AS text[])) AS v(id, mid)").bindparams(
        ids=list(lead_ids), mids=list(lead_ids.values())
    )
    given = values.columns(id=send_ledger.c.id.type, mid=send_ledger.c.message_id.type).subquery("v")
    moved = list(
        await session.execute(
            update(send_ledger)
            .where(send_ledger.c.id == given.c.id, send_ledger.c.status == "reserved")
            .values(status="sent", sent_at=at, message_id=given.c.mid, backend="instantly", error=None)
            .returning(*send_ledger.c)
        )
    )
    if moved:
        await session.execute(
            update(send_ledger)
            .where(
                send_ledger.c.campaign_id == moved[0].campaign_id,
                send_ledger.c.lead_id.in_([row.lead_id for row in moved]),
                send_ledger.c.step > 1,
                send_ledger.c.status == "scheduled",
            )
            .values(status="handed_over")
        )
    return moved


def counters(answer: dict[str, Any]) -> dict[str, Any]:
    """Instantly's counters from a leads/add answer, for the batch log (no addresses kept)."""
    return {k: v for k, v in answer.items() if isinstance(v, int | float)}


async def open_batches(session: AsyncSession, campaign_id: str, sizes: Sequence[int]) -> list[int]:
    """One `pending` batch log row per leads/add call about to be made; their ids, in the order of `sizes`."""
    result = await session.execute(
        insert(upload_batches).returning(upload_batches.c.id, sort_by_parameter_order=True),
        [{"campaign_id": campaign_id, "leads_sent": size, "status": "pending"} for size in sizes],
    )
    return list(result.scalars())


async def reserve_for_batches(session: AsyncSession, batch_of: Mapping[uuid.UUID, int], at: datetime) -> list[Any]:
    """queued → reserved, each touch with its batch; returns the rows that moved, oldest first (request order)."""
    values = text("SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:batches AS bigint[])) AS v(id, batch)").bindparams(
        ids=list(batch_of), batches=list(batch_of.values())
    )
    given = values.columns(id=send_ledger.c.id.type, batch=send_ledger.c.upload_batch.type).subquery("v")
    moved = await session.execute(
        update(send_ledger)
        .where(send_ledger.c.id == given.c.id, send_ledger.c.status == "queued")
        .values(status="reserved", attempt_at=at, upload_batch=given.c.batch)
        .returning(*send_ledger.c)
    )
    return sorted(moved, key=lambda row: (row.created_at, row.id))


async def requeue(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    """reserved → queued: touches whose upload Instantly refused as a whole, before adding any of them."""
    await session.execute(
        update(send_ledger)
        .where(send_ledger.c.id.in_(ids), send_ledger.c.status == "reserved")
        .values(status="queued", attempt_at=None, upload_batch=None)
    )


async def finish_batches(session: AsyncSession, answered: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Mark batch log rows `uploaded` with Instantly's counters, in one statement."""
    if not answered:
        return
    values = text(
        "SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:responses AS text[])) AS v(id, response)"
    ).bindparams(ids=[id_ for id_, _ in answered], responses=[json.dumps(c) for _, c in answered])
    given = values.columns(id=upload_batches.c.id.type, response=upload_batches.c.error.type).subquery("v")
    response = cast(given.c.response, upload_batches.c.response.type)
    await session.execute(
        update(upload_batches)
        .where(upload_batches.c.id == given.c.id)
        .values(
            status="uploaded",
            leads_uploaded=cast(response["leads_uploaded"].astext, upload_batches.c.leads_uploaded.type),
            skipped=cast(response["skipped_count"].astext, upload_batches.c.skipped.type),
            response=func.nullif(response, literal_column("'{}'::jsonb")),
            error=None,
            finished_at=func.now(),
        )
    )
