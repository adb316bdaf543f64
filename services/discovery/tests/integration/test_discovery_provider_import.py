"""A campaign sourced from a people-search provider (the local Apollo fake) on real Postgres: same outcomes,
same counters, resumable like a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from discovery_testkit import assert_counters_add_up, counters, direct_runtime, outbox_events, unique_campaign_id
from sqlalchemy.ext.asyncio import AsyncEngine

from coldstream.fakes.people_search import FakeApollo, person
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted
from discovery.import_campaign import ImportCampaign
from discovery.providers import build_providers
from discovery.settings import DiscoverySettings

pytestmark = pytest.mark.integration


async def test_a_provider_sourced_campaign_is_imported_with_the_same_rules(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    campaign_id = unique_campaign_id()
    people = [person(i, domain=f"co{i}.io") for i in range(12)] + [person(3, domain="co3.io"), "garbage"]
    spec = CampaignSpec.model_validate(
        {
            "id": campaign_id,
            "name": "Provider",
            "icp": {"titles": ["Head of Growth"]},
            "sources": [{"type": "provider", "provider": "apollo"}],
            "offer": {"product": "W", "value_proposition": "V"},
            "sequence": {"steps": [{"subject": "Hi", "body": "Hello"}]},
            "sending": {"from_name": "Sam", "from_email": "sam@sender.example"},
        }
    )
    started = CampaignStarted.originate(producer="test", key=campaign_id, campaign_id=campaign_id, campaign=spec)
    async with FakeApollo(people) as fake, direct_runtime(nats_url, fresh_database_url, tmp_path) as runtime:
        providers = build_providers(
            DiscoverySettings(apollo_base_url=fake.base_url, apollo_api_key="test-key", people_search_per_page=5)
        )
        await ImportCampaign(runtime.unit_of_work, batch_size=4, providers=providers)(started)
        await providers.aclose()
    scraped = await outbox_events(database, campaign_id, "lead.scraped")
    assert len(scraped) == 12
    assert {p["source"] for p in scraped} == {"provider:apollo"}
    assert scraped[0]["lead"]["linkedin_url"] == "https://www.linkedin.com/in/person-0"
    rejected = sorted(p["reason_code"] for p in await outbox_events(database, campaign_id, "lead.rejected"))
    assert rejected == ["duplicate", "unreadable_row"]
    c = await counters(database, campaign_id)
    assert_counters_add_up(c)
    assert (c["rows_read"], c["status"]) == (14, "imported")
