"""The pipeline benchmark's measurements on a real nats-server, without the stack: 20 hand-made journeys.

Only that the figures are computed and rendered; timings are never asserted.
"""

from __future__ import annotations

import json
import uuid

import nats
import pytest

from benchmarks._pipeline_measure import STAGES, journeys, raw_jetstream, read_stamped
from benchmarks._pipeline_report import render
from benchmarks.pipeline import PipelineRun
from coldstream_shared import subjects
from tests.integration.helpers import publish_raw

pytestmark = pytest.mark.integration
LEADS = 20


async def test_journeys_are_joined_per_lead_from_stream_timestamps(nats_url: str) -> None:
    campaign = f"bench-smoke-{uuid.uuid4().hex[:8]}"
    await publish_raw(nats_url, subjects.CAMPAIGN_STARTED, json.dumps({"campaign_id": campaign}).encode(), campaign)
    for subject in (subjects.LEAD_SCRAPED, subjects.LEAD_VERIFIED, subjects.EMAIL_GENERATED, subjects.EMAIL_SENT):
        for i in range(LEADS):
            body = {"campaign_id": campaign, "lead_id": f"lead-{i}", "step": 1}
            await publish_raw(nats_url, subject, json.dumps(body).encode(), f"{campaign}-{subject}-{i}")
    # A follow-up touch is not part of the first-touch journey.
    follow_up = {"campaign_id": campaign, "lead_id": "lead-0", "step": 2}
    await publish_raw(nats_url, subjects.EMAIL_SENT, json.dumps(follow_up).encode(), f"{campaign}-step2")

    found = journeys(await read_stamped(nats_url, campaign))

    assert found.started_at is not None
    assert len(found.sent_times) == LEADS
    for label, _before, _after in STAGES:
        assert len(found.latencies[label]) == LEADS, label
        assert min(found.latencies[label]) >= 0, label
    assert found.sustained_rate() is not None
    text = render(PipelineRun(LEADS, 60.0, complete=True, funnel={"sent": LEADS}, journeys=found))
    assert "## Pipeline" in text
    assert f"| end to end (lead.scraped → email.sent) | {LEADS} |" in text


async def test_raw_jetstream_yardstick_cleans_up_its_stream(nats_url: str) -> None:
    rates = await raw_jetstream(nats_url, 20)

    assert min(rates.publish_sequential, rates.publish_concurrent, rates.consume, rates.round_trip) > 0
    nc = await nats.connect(nats_url)
    try:
        names = await nc.jetstream().streams_info()
    finally:
        await nc.close()
    assert not [s.config.name for s in names if (s.config.name or "").startswith("BENCH_RAW_")]
