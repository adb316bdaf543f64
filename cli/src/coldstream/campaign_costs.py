"""What a campaign has spent, by provider and model, from the services' own cost logs.

Enrichment logs every provider call (`enrichment.provider_calls`), personalization every model call
(`personalization.llm_calls`). The report reads them (read-only) because spend is not an event.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from enrichment.store import provider_calls
from personalization.store import llm_calls

log = logging.getLogger(__name__)


async def campaign_costs(database_url: str, campaign_id: str) -> dict[str, float] | None:
    """USD per "provider/operation" and "anthropic/<model>"; None when the database cannot be read."""
    engine = create_async_engine(database_url, connect_args={"timeout": 5})
    costs: dict[str, float] = {}
    try:
        async with engine.connect() as conn:
            paid = await conn.execute(
                select(provider_calls.c.provider, provider_calls.c.operation, func.sum(provider_calls.c.cost_usd))
                .where(provider_calls.c.campaign_id == campaign_id)
                .group_by(provider_calls.c.provider, provider_calls.c.operation)
            )
            for provider, operation, total in paid:
                if total:
                    costs[f"{provider}/{operation}"] = float(total)
            models = await conn.execute(
                select(llm_calls.c.model, func.sum(llm_calls.c.cost_usd))
                .where(llm_calls.c.campaign_id == campaign_id)
                .group_by(llm_calls.c.model)
            )
            for model, total in models:
                if total:
                    costs[f"anthropic/{model}"] = float(total)
    except (OSError, SQLAlchemyError) as error:
        log.warning("costs not available (%s): the report shows no spend", type(error).__name__)
        return None
    finally:
        await engine.dispose()
    return costs
