"""Discovery against a real nats-server and Postgres: import, dedup, suppression, resume, redelivery, bad files."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from discovery_testkit import (
    campaign_started,
    outbox_subjects,
    outcome_counts,
    publish,
    read_all,
    read_events,
    unique_campaign_id,
    wait_for,
    wait_until_consumed,
)
from nats.js.client import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.errors import PermanentError
from coldstream_shared.events import CampaignStarted, LeadUnsubscribed
from coldstream_shared.ids import lead_id_for
from coldstream_shared.messaging import declare_streams
from coldstream_shared.service import build_runtime
from discovery.import_campaign import SERVICE, ImportCampaign
from discovery.main import create_app
from discovery.settings import DiscoverySettings
from discovery.store import metadata

pytestmark = pytest.mark.integration

# A BOM, planted duplicates (case and whitespace), a bad and a missing email, formula-injection cells, and an
# address that was unsubscribed before the import.
LEADS_CSV = (
    "\ufeffEmail,First Name,Company Name,Notes\n"
    "jane@acme.com,Jane,Acme,\n"
    " JANE@Acme.com ,Jane again,Acme,\n"
    'bob@brightline.org,Bob,"=HYPERLINK(""http://evil.example"",""x"")",\n'
    "not-an-email,Nope,Nowhere,\n"
    ",NoMail,Nowhere,\n"
    "gone@acme.com,Gone,Acme,\n"
    "carol@beta.io,Carol,Beta,@SUM(A1)\n"
)


async def test_import_publishes_one_outcome_per_row_and_is_idempotent(
    database: AsyncEngine, js: JetStreamContext, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    campaign_id = unique_campaign_id()
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text(LEADS_CSV, encoding="utf-8")
    settings = DiscoverySettings(
        nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path, import_batch_size=2
    )
    app = create_app(settings)
    await app.start()
    try:
        unsubscribed = LeadUnsubscribed.originate(
            producer="test", key=("unsub", campaign_id), email="Gone@Acme.com", source="cli"
        )
        await publish(js, unsubscribed)
        await wait_for(database, "SELECT count(*) FROM discovery.contacts WHERE email = 'gone@acme.com'")

        started = campaign_started(campaign_id, lead_file)
        await publish(js, started)
        [(imported, _)] = await read_events(js, "campaign.imported", campaign_id, lambda found: len(found) == 1)
        assert {k: imported[k] for k in ("rows_read", "published", "rejected", "duplicates", "excluded")} == {
            "rows_read": 7,
            "published": 3,
            "rejected": 2,
            "duplicates": 1,
            "excluded": 1,
        }
        assert imported["rows_read"] == (
            imported["published"] + imported["rejected"] + imported["duplicates"] + imported["excluded"]
        )

        # The same start delivered again (as after a publish outside the duplicate window) changes nothing.
        await publish(js, started, msg_id=str(uuid.uuid4()))
        await wait_until_consumed(js)
    finally:
        await app.stop()

    scraped = await read_events(js, "lead.scraped", campaign_id, lambda found: len(found) >= 3)
    rejected = await read_events(js, "lead.rejected", campaign_id, lambda found: len(found) >= 4)
    # Nothing after them: read everything there is now and make sure there is exactly one set of events.
    assert len(await read_all(js, "lead.>", campaign_id)) == 7
    assert len(await read_all(js, "campaign.imported", campaign_id)) == 1

    leads = {body["lead"]["email"]: body for body, _ in scraped}
    assert set(leads) == {"jane@acme.com", "bob@brightline.org", "carol@beta.io"}
    jane_id = lead_id_for(campaign_id, "jane@acme.com")
    assert leads["jane@acme.com"]["lead_id"] == jane_id
    assert leads["jane@acme.com"]["lead"]["company_domain"] == "acme.com"
    assert leads["bob@brightline.org"]["lead"]["company"] == '=HYPERLINK("http://evil.example","x")'
    assert leads["carol@beta.io"]["lead"]["extra"] == {"Notes": "@SUM(A1)"}
    assert leads["carol@beta.io"]["source"] == "csv:leads.csv"
    # No ICP criteria: only data completeness scores, and every tier proceeds (min_tier defaults to C).
    assert all(set(body["score_breakdown"]) == {"completeness"} for body in leads.values())
    assert all(body["tier"] in ("A", "B", "C") and 0 <= body["score"] <= 100 for body in leads.values())

    reasons = {body["reason_code"]: body for body, _ in rejected}
    assert set(reasons) == {"duplicate", "invalid_email", "missing_email", "suppressed"}
    assert reasons["duplicate"]["duplicate_of"] == jane_id
    assert reasons["duplicate"]["lead_id"] != jane_id
    assert reasons["suppressed"]["lead_id"] == lead_id_for(campaign_id, "gone@acme.com")
    assert all(body["stage"] == "discovery" for body, _ in rejected)

    # One trace per lead: every lead's first event carries a trace of its own.
    trace_ids = {headers["traceparent"].split("-")[1] for _, headers in scraped + rejected}
    assert len(trace_ids) == 7

    outcomes = await outcome_counts(database, campaign_id)
    async with database.connect() as conn:
        status = (
            await conn.execute(text("SELECT status FROM discovery.campaigns WHERE id = :c"), {"c": campaign_id})
        ).scalar_one()
    assert outcomes == {"published": 3, "rejected": 2, "duplicate": 1, "excluded": 1}
    assert status == "imported"


async def test_a_crashed_import_resumes_after_its_cursor(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text(LEADS_CSV, encoding="utf-8")
    started = campaign_started(unique_campaign_id(), lead_file)
    runtime = build_runtime(
        SERVICE, DiscoverySettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path), metadata
    )
    await declare_streams(runtime.broker)
    import_campaign = ImportCampaign(runtime.unit_of_work, batch_size=3)

    async def crash() -> None:
        # A failure of the moment (here the heartbeat's connection): raised as it is, so the start is redelivered.
        raise ConnectionResetError("lost after the first batch")

    try:
        with pytest.raises(ConnectionResetError):
            await import_campaign(started, heartbeat=crash)
        assert await outbox_subjects(database) == ["lead.rejected"] + ["lead.scraped"] * 2  # rows 2-4

        await import_campaign(started)  # the redelivery
        await import_campaign(started)  # and once more after it finished: a no-op
        subjects = await outbox_subjects(database)
        assert subjects.count("lead.scraped") + subjects.count("lead.rejected") == 7
        assert subjects.count("campaign.imported") == 1
        async with database.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT rows_read, published, invalid, duplicates, excluded, valid FROM discovery.campaigns")
                )
            ).one()
        assert tuple(row) == (7, 4, 2, 1, 0, 5)  # nobody suppressed in this database
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()


async def test_a_missing_lead_file_fails_the_campaign_with_a_clear_error(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    started = campaign_started(unique_campaign_id(), tmp_path / "missing.csv")
    runtime = build_runtime(
        SERVICE, DiscoverySettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path), metadata
    )
    await declare_streams(runtime.broker)
    try:
        with pytest.raises(PermanentError, match=r"missing\.csv does not exist"):
            await ImportCampaign(runtime.unit_of_work)(started)
        async with database.connect() as conn:
            status, error = (await conn.execute(text("SELECT status, error FROM discovery.campaigns"))).one()
        assert status == "failed"
        assert "missing.csv" in error
        assert await outbox_subjects(database) == ["campaign.alert"]
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()


ICP_CSV = (
    "Email,Full Name,Title,Country,Industry,Employees\n"
    "ana@acme.com,Ana Ruiz,Head of Growth,Germany,SaaS,120\n"
    "jose@acme.com,José Álvarez,VP Marketing,Germany,SaaS,120\n"
    "bo@acme.com,Bo Berg,Accountant,France,Retail,9000\n"
    "j.alvarez@acme.com,Jose Alvarez,VP Marketing,Germany,SaaS,120\n"  # the same person, in the next batch
)


async def test_leads_are_scored_fuzzy_duplicates_merged_and_low_tiers_excluded(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text(ICP_CSV, encoding="utf-8")
    campaign_id = unique_campaign_id()
    plain_start = campaign_started(campaign_id, lead_file)
    icp = {
        "titles": ["Head of Growth", "VP Marketing"],
        "seniority": ["head", "vp"],
        "industries": ["SaaS"],
        "company_size": [50, 500],
        "locations": ["Germany"],
        "min_tier": "B",
    }
    spec = CampaignSpec.model_validate({**plain_start.campaign.model_dump(mode="json"), "icp": icp})
    started = CampaignStarted.originate(
        producer="test", key=(campaign_id, "icp"), campaign_id=campaign_id, campaign=spec
    )
    runtime = build_runtime(
        SERVICE, DiscoverySettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path), metadata
    )
    await declare_streams(runtime.broker)
    try:
        await ImportCampaign(runtime.unit_of_work, batch_size=2)(started)
        async with database.connect() as conn:
            events = [
                (subject, payload)
                for subject, payload in await conn.execute(
                    text("SELECT subject, payload FROM discovery.outbox WHERE subject LIKE 'lead.%'")
                )
            ]
            counters = (
                await conn.execute(
                    text("SELECT rows_read, published, invalid, duplicates, excluded FROM discovery.campaigns")
                )
            ).one()
            stored = dict(
                (await conn.execute(text("SELECT email, tier FROM discovery.leads WHERE score_breakdown IS NOT NULL")))
                .tuples()
                .all()
            )
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()

    scraped = {p["lead"]["email"]: p for s, p in events if s == "lead.scraped"}
    rejected = {p["reason_code"]: p for s, p in events if s == "lead.rejected"}
    assert set(scraped) == {"ana@acme.com", "jose@acme.com"}
    for payload in scraped.values():
        assert payload["tier"] == "A"
        assert payload["score"] >= 70
        assert set(payload["score_breakdown"]) == {
            "title",
            "seniority",
            "industry",
            "company_size",
            "location",
            "completeness",
        }
    assert set(rejected) == {"below_min_tier", "duplicate_fuzzy"}
    assert rejected["duplicate_fuzzy"]["duplicate_of"] == lead_id_for(campaign_id, "jose@acme.com")
    assert rejected["below_min_tier"]["lead_id"] == lead_id_for(campaign_id, "bo@acme.com")
    assert tuple(counters) == (4, 2, 0, 1, 1)  # below the minimum tier counts as excluded
    assert stored == {"ana@acme.com": "A", "jose@acme.com": "A", "bo@acme.com": "C"}
