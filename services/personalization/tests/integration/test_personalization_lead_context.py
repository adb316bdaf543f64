"""Lead contexts against a real Postgres: leads asking at the same time are read with one statement between them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from personalization_helpers import new_campaign_id, started, verified
from sqlalchemy import event

from coldstream_shared.events import LeadData, LeadVerified
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import Runtime, build_runtime
from personalization.lead_context import LeadContexts
from personalization.prompts import BUILTIN
from personalization.record_campaign import SERVICE, RecordCampaign
from personalization.settings import PersonalizationSettings
from personalization.store import metadata
from personalization.template_writer import TemplateWriter
from personalization.write_sequence import WriteSequence

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    await asyncio.to_thread(upgrade, "personalization", fresh_database_url)
    settings = PersonalizationSettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path)
    runtime = build_runtime(SERVICE, settings, metadata)
    await runtime.broker.connect()
    try:
        yield runtime
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()
        runtime.tracer_provider.shutdown()


def lead(campaign_id: str, name: str) -> LeadVerified:
    return verified(campaign_id, LeadData(email=f"{name}@{name}.test", first_name=name.title(), company=name))


async def test_concurrent_reads_share_a_statement_and_each_lead_gets_its_own_context(runtime: Runtime) -> None:
    known = started(new_campaign_id())
    await RecordCampaign(runtime.unit_of_work)(known)
    written = lead(known.campaign_id, "ada")
    await WriteSequence(runtime.unit_of_work, TemplateWriter(), runtime.engine)(written)  # ada's sequence is stored
    fresh = [lead(known.campaign_id, name) for name in ("ben", "cy", "dee", "eve", "fay", "gus")]
    unknown = lead(new_campaign_id(), "hal")  # its campaign.started is not applied here yet

    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "WITH ORDINALITY" in statement:
            reads.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    contexts = LeadContexts(runtime.engine)
    asked = [*fresh, written, unknown]
    found = await asyncio.gather(*(contexts.read(e) for e in asked))

    assert found[-1] is None
    *for_fresh, for_written = found[:-1]
    assert for_written is not None
    assert for_written.done
    for context in for_fresh:
        assert context is not None
        assert not context.done
        assert context.campaign.campaign_id == known.campaign_id
        assert context.prompt == BUILTIN
    # Two slots: the first two callers read alone, everyone who asked meanwhile shares the next statement.
    assert len(reads) < len(asked), reads
