"""The report's spend comes from the services' cost logs, per provider/operation and per model."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream.campaign_costs import campaign_costs
from coldstream_shared.migrations import upgrade
from enrichment.store import provider_calls
from personalization.store import llm_calls


def _call(campaign: str, provider: str, cost: float) -> dict[str, object]:
    return {
        "service": "enrichment",
        "operation": "verify",
        "provider": provider,
        "campaign_id": campaign,
        "units": 1,
        "cost_usd": cost,
        "success": True,
    }


def _llm(campaign: str, cost: float) -> dict[str, object]:
    return {
        "campaign_id": campaign,
        "lead_id": "l",
        "variant": 1,
        "model": "claude-sonnet-4-6",
        "prompt_version": "sequence-writer/v1",
        "input_tokens": 1000,
        "output_tokens": 500,
        "cache_read_tokens": 0,
        "cache_creation_tokens": 0,
        "latency_ms": 2000,
        "cost_usd": cost,
        "outcome": "accepted",
    }


async def test_costs_are_summed_per_provider_and_model(fresh_database_url: str) -> None:
    for service in ("enrichment", "personalization"):  # Alembic runs its own event loop
        await asyncio.to_thread(upgrade, service, fresh_database_url)
    engine = create_async_engine(fresh_database_url)
    async with engine.begin() as conn:
        await conn.execute(
            insert(provider_calls), [_call("c1", "zerobounce", 0.008)] * 3 + [_call("c2", "zerobounce", 1)]
        )
        await conn.execute(insert(llm_calls), [_llm("c1", 0.012), _llm("c1", 0.013)])
    await engine.dispose()

    costs = await campaign_costs(fresh_database_url, "c1")

    assert costs is not None
    assert round(costs["zerobounce/verify"], 6) == 0.024
    assert round(costs["anthropic/claude-sonnet-4-6"], 6) == 0.025


async def test_an_unreachable_database_means_unknown_not_zero(free_port: int) -> None:
    assert await campaign_costs(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port}/nope", "c1") is None
