"""The whole service in-process with providers on: real NATS, Postgres, DNS (dnslib) and HTTP provider fakes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream.fakes.dns import serve_dns
from coldstream.fakes.providers import Fault, ProviderState, serve_providers
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted, LeadData, LeadScraped
from coldstream_shared.migrations import upgrade
from enrichment.main import create_app
from enrichment.store import provider_calls
from enrichment.testing import FAKE_ZONE, settings_for_fakes
from tests.integration.helpers import collect, publish_event

pytestmark = pytest.mark.integration


# One call per lead, or ZeroBounce and PDL person through their bulk endpoints (leads in flight share a call).
SINGLE = {"pdl_batch_size": 1}
BULK = {"zerobounce_batch_size": 200, "zerobounce_batches_per_minute": 6000, "pdl_batch_size": 100}


@pytest.fixture
async def service(
    request: pytest.FixtureRequest, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[str, ProviderState]]:
    overrides = getattr(request, "param", {})
    with serve_dns(FAKE_ZONE) as dns_port, serve_providers() as (url, state):
        await asyncio.to_thread(upgrade, "enrichment", fresh_database_url)
        port = url.rsplit(":", 1)[1]
        settings = settings_for_fakes(
            nats_url=nats_url,
            database_url=fresh_database_url,
            data_dir=tmp_path,
            providers_url=url,
            dns_port=dns_port,
            dns_timeout=1.0,
            provider_attempts=2,
            **overrides,
        )
        app = create_app(settings)
        await app.start()
        try:
            yield fresh_database_url, state, port
        finally:
            await app.stop()


def campaign(campaign_id: str, budget: float | None = None, accept: list[str] | None = None) -> CampaignStarted:
    spec = CampaignSpec.model_validate(
        {
            "id": campaign_id,
            "name": "test",
            "sources": [{"type": "csv", "path": "leads.csv"}],
            "offer": {"product": "p", "value_proposition": "v"},
            "sequence": {"steps": [{"subject": "s", "body": "b"}]},
            "sending": {"from_name": "A", "from_email": "a@b.example"},
            "enrichment": {"budget_usd": budget, "accept_verdicts": accept or ["safe", "catch_all"]},
        }
    )
    return CampaignStarted.originate(producer="test", key=(campaign_id,), campaign_id=campaign_id, campaign=spec)


def scraped(campaign_id: str, email: str, port: str, **lead: str) -> LeadScraped:
    domain = email.rpartition("@")[2]
    website = lead.pop("website", f"http://{domain}:{port}/")
    return LeadScraped.originate(
        producer="test",
        key=(campaign_id, email),
        lead_id=f"{campaign_id}-{email}",
        campaign_id=campaign_id,
        lead=LeadData(email=email, website=website, **lead),
        source="test",
    )


@pytest.mark.parametrize("service", [SINGLE, BULK], indirect=True, ids=["single", "bulk"])
async def test_leads_are_verified_enriched_and_researched_once_per_company(service, nats_url: str) -> None:
    database_url, state, port = service
    cid = f"enr-wf-{uuid.uuid4().hex[:8]}"
    await publish_event(nats_url, campaign(cid))
    emails = [
        "jane.doe@acme.example",
        "john.roe@acme.example",
        "invalid.x@acme.example",
        "catchall@acme.example",
        "unknown.x@acme.example",
    ]
    for email in emails:
        await publish_event(nats_url, scraped(cid, email, port))
    await publish_event(
        nats_url,
        scraped(cid, "ann.lee@gmail.com", port, first_name="Ann", last_name="Lee", company_domain="beta.example"),
    )
    mine = lambda p: p["campaign_id"] == cid  # noqa: E731
    verified = {v["lead"]["email"]: v for v in await collect(nats_url, "lead.verified", mine, expect=4, timeout=30)}
    rejected = await collect(nats_url, "lead.rejected", mine, expect=2)

    assert sorted(verified) == [
        "ann.lee@gmail.com",
        "catchall@acme.example",
        "jane.doe@acme.example",
        "john.roe@acme.example",
    ]
    jane = verified["jane.doe@acme.example"]
    assert (jane["verdict"], jane["verified_by"]) == ("safe", "syntax+mx+zerobounce")
    assert jane["lead"]["title"] == "head of growth"
    assert jane["enrichment"]["revenue_range"] == "$10M-$25M"
    assert jane["enrichment"]["tech_stack"] == "HubSpot"
    assert jane["company_summary"].startswith("Acme builds event software")
    assert jane["company_summary_source"] == f"http://acme.example:{port}/"
    assert verified["catchall@acme.example"]["verdict"] == "catch_all"
    ann = verified["ann.lee@gmail.com"]
    assert ann["enrichment"]["work_email"] == "alee@beta.example", "pattern guess unverifiable, so Hunter found it"
    # accept_verdicts is [safe, catch_all]: a paid "unknown" is rejected by the campaign's policy.
    assert sorted((r["reason_code"], r["email"]) for r in rejected) == [
        ("verdict_invalid", "invalid.x@acme.example"),
        ("verdict_unknown", "unknown.x@acme.example"),
    ]
    assert state.calls[("pdl_company", "acme.example")] == 1
    assert state.calls[("website", "acme.example")] == 1
    bulk = state.count("zerobounce_batch") > 0
    assert (state.count("zerobounce") == 0) is bulk, "either every address went in batches or none did"
    assert (state.count("pdl_person") == 0) is bulk

    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    provider_calls.c.provider,
                    provider_calls.c.operation,
                    func.count(),
                    func.sum(provider_calls.c.cost_usd),
                )
                .where(provider_calls.c.campaign_id == cid)
                .group_by(provider_calls.c.provider, provider_calls.c.operation)
            )
        ).all()
    await engine.dispose()
    log = {(p, o): (n, float(c)) for p, o, n, c in rows}
    # Bulk or not, one cost row per lead at that lead's price: providers bill per address or match.
    assert log[("zerobounce", "verification")] == (6, pytest.approx(0.048))
    assert log[("pdl", "person")] == (4, pytest.approx(4 * 0.28))  # the leads that went on to enrichment
    assert log[("pdl", "company")] == (2, pytest.approx(0.2))  # acme and beta
    assert log[("hunter", "work_email")] == (1, pytest.approx(0.049))


async def test_budget_stops_spending_raises_one_alert_and_leads_go_on(service, nats_url: str) -> None:
    _, _, port = service
    cid = f"enr-budget-{uuid.uuid4().hex[:8]}"
    await publish_event(nats_url, campaign(cid, budget=0.0, accept=["safe", "unknown"]))
    for i in range(3):
        await publish_event(nats_url, scraped(cid, f"p{i}@budget{i}.example", port))
    mine = lambda p: p["campaign_id"] == cid  # noqa: E731
    verified = await collect(nats_url, "lead.verified", mine, expect=3, timeout=30)
    alerts = await collect(nats_url, "campaign.alert", mine, settle=1.0)
    assert {v["verdict"] for v in verified} == {"unknown"}
    assert all("verification: zerobounce skipped (budget reached)" in v["reasons"] for v in verified)
    assert [a["kind"] for a in alerts] == ["enrichment_budget_reached"]


async def test_a_verifier_refusal_rejects_and_an_outage_redelivers(service, nats_url: str) -> None:
    _, state, port = service
    cid = f"enr-fail-{uuid.uuid4().hex[:8]}"
    await publish_event(nats_url, campaign(cid))
    state.faults["zerobounce"].append(Fault(400))
    await publish_event(nats_url, scraped(cid, "refused@gamma.example", port))
    mine = lambda p: p["campaign_id"] == cid  # noqa: E731
    rejected = await collect(nats_url, "lead.rejected", mine, timeout=30)
    assert rejected[0]["reason_code"] == "verification_refused"
    assert "answered 400" in rejected[0]["reason"]

    state.faults["zerobounce"].extend([Fault(503, {"Retry-After": "0"})] * 2)  # both attempts of one delivery
    await publish_event(nats_url, scraped(cid, "later@delta.example", port))
    verified = await collect(nats_url, "lead.verified", mine, timeout=40)
    assert verified[0]["verdict"] == "safe"
    assert state.calls[("zerobounce", "later@delta.example")] == 3
