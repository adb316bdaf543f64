"""Counters that add up batch by batch, cross-campaign exclusion from the consumed projection, the approval gate.
Real nats-server and Postgres; the service runs in-process with its subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from discovery_testkit import (
    assert_counters_add_up,
    campaign_started,
    counters,
    direct_runtime,
    outbox_events,
    outcome_counts,
    publish,
    read_all,
    read_events,
    unique_campaign_id,
    wait_for,
)
from nats.js.client import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from coldstream_shared.errors import TransientError
from coldstream_shared.events import CampaignApproved, EmailSent, LeadBounced, LeadProposed, LeadUnsubscribed
from coldstream_shared.ids import lead_id_for
from discovery.approve_leads import ApproveLeads
from discovery.import_campaign import ImportCampaign
from discovery.known import KnownSet, known_domains, known_emails
from discovery.main import create_app
from discovery.propose_lead import ProposeLead
from discovery.settings import DiscoverySettings

pytestmark = pytest.mark.integration

# Emailed 10 days ago (inside the 30-day window) and 100 days ago (outside it), bounced, unsubscribed, an address
# at a domain that unsubscribed as a whole, planted duplicates, a bad row, and two fresh people at one company.
HISTORY_CSV = (
    "Email,Full Name,Company,Website\n"
    "recent@acme.com,Rita Recent,Acme,acme.com\n"
    "old@acme.com,Olaf Old,Acme,acme.com\n"
    "bounced@beta.io,Bea Bounce,Beta,beta.io\n"
    "unsub@gamma.io,Uma Unsub,Gamma,gamma.io\n"
    "anyone@blocked.io,Any One,Blocked,blocked.io\n"
    "fresh@delta.io,Fred Fresh,Delta,delta.io\n"
    " FRESH@delta.io ,Fred again,Delta,delta.io\n"
    "f.fresh@delta.io,Fred Fresh,Delta,delta.io\n"
    "new@delta.io,Nina New,Delta,delta.io\n"
    "broken-address,Bad Row,Nowhere,\n"
)


@pytest.fixture
async def service(database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[None]:
    # `database` first: the schema exists before the subscribers start.
    settings = DiscoverySettings(
        nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path, import_batch_size=3
    )
    app = create_app(settings)
    await app.start()
    try:
        yield
    finally:
        await app.stop()


async def plant_history(js: JetStreamContext, database: AsyncEngine, tag: str) -> None:
    """Facts other services publish; discovery's projection consumes them."""
    now = datetime.now(UTC)
    for email, days in (("recent@acme.com", 10), ("old@acme.com", 100)):
        sent = EmailSent.originate(
            producer="test",
            key=("sent", tag, email),
            lead_id=f"old-{email}",
            campaign_id=f"older-{tag}",
            email=email,
            step=1,
            backend="file",
            message_id=f"<{tag}-{email}>",
            occurred_at=now - timedelta(days=days),
        )
        await publish(js, sent)
    await publish(js, LeadBounced.originate(producer="test", key=("b", tag), email="Bounced@beta.io"))
    await publish(js, LeadUnsubscribed.originate(producer="test", key=("u", tag), email="unsub@gamma.io", source="cli"))
    domain = LeadUnsubscribed.originate(
        producer="test", key=("d", tag), email="@blocked.io", source="cli", scope="domain"
    )
    await publish(js, domain)
    # The service's durable consumers start at the beginning of the session's streams, which earlier tests may have
    # filled with thousands of events for other campaigns: give the projection time to get through them.
    await wait_for(database, "SELECT count(*) = 4 FROM discovery.contacts", seconds=180)
    await wait_for(database, "SELECT count(*) = 1 FROM discovery.suppressed_domains", seconds=180)


async def test_previously_emailed_bounced_and_unsubscribed_contacts_are_excluded_and_logged(
    service: None, database: AsyncEngine, js: JetStreamContext, tmp_path: Path
) -> None:
    campaign_id = unique_campaign_id()
    await plant_history(js, database, campaign_id)
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text(HISTORY_CSV, encoding="utf-8")
    await publish(js, campaign_started(campaign_id, lead_file, sending={"recontact_after_days": 30}))
    [(imported, _)] = await read_events(js, "campaign.imported", campaign_id, lambda found: len(found) == 1)

    assert (imported["rows_read"], imported["published"], imported["rejected"]) == (10, 3, 1)
    assert (imported["duplicates"], imported["excluded"], imported["held"]) == (2, 4, 0)
    c = await counters(database, campaign_id)
    assert_counters_add_up(c)
    assert (c["excluded_emailed"], c["excluded_bounced"], c["excluded_unsubscribed"]) == (1, 1, 2)
    assert (c["duplicates_fuzzy"], c["available"], c["scored"]) == (1, 3, 3)
    assert c["status"] == "imported"
    assert all(c[f"{stage}_completed_at"] for stage in ("validation", "dedup", "cross_dedup", "scoring"))

    scraped = await read_all(js, "lead.scraped", campaign_id)
    assert {body["lead"]["email"] for body in scraped} == {"old@acme.com", "fresh@delta.io", "new@delta.io"}
    rejected = {body["email"].strip().lower(): body for body in await read_all(js, "lead.rejected", campaign_id)}
    assert rejected["recent@acme.com"]["reason_code"] == "recently_emailed"
    assert rejected["bounced@beta.io"]["reason_code"] == "suppressed"
    assert rejected["anyone@blocked.io"]["reason_code"] == "suppressed"
    assert rejected["f.fresh@delta.io"]["duplicate_of"] == lead_id_for(campaign_id, "fresh@delta.io")

    async with database.connect() as conn:
        log = dict(
            (
                await conn.execute(
                    text("SELECT email, reason FROM discovery.exclusions WHERE campaign_id = :c"), {"c": campaign_id}
                )
            )
            .tuples()
            .all()
        )
        delta = (
            await conn.execute(text("SELECT name, leads FROM discovery.organisations WHERE domain = 'delta.io'"))
        ).one()
    assert log == {
        "recent@acme.com": "emailed",
        "bounced@beta.io": "bounced",
        "unsub@gamma.io": "unsubscribed",
        "anyone@blocked.io": "domain_unsubscribed",
    }
    assert tuple(delta) == ("Delta", 2)  # one organisation per domain; its two unique leads counted

    async with AsyncSession(database) as session:
        assert await known_emails(session, {"fresh@delta.io", "old@acme.com", "stranger@zeta.io"}) == {
            "fresh@delta.io",
            "old@acme.com",
        }
        assert await known_domains(session, {"delta.io", "zeta.io"}) == {"delta.io"}
        # The in-memory snapshots agree (Postgres computes the same fingerprints as Python).
        emails, domains = await KnownSet.of_emails(session), await KnownSet.of_domains(session)
        assert "fresh@delta.io" in emails
        assert "unsub@gamma.io" in emails
        assert "stranger@zeta.io" not in emails
        assert "delta.io" in domains
        assert "zeta.io" not in domains


async def test_counters_add_up_after_every_batch(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text(HISTORY_CSV, encoding="utf-8")
    campaign_id = unique_campaign_id()
    snapshots: list[dict[str, Any]] = []

    async def check() -> None:
        snapshot = await counters(database, campaign_id)
        assert_counters_add_up(snapshot)
        snapshots.append(snapshot)

    async with direct_runtime(nats_url, fresh_database_url, tmp_path) as runtime:
        await ImportCampaign(runtime.unit_of_work, batch_size=3)(campaign_started(campaign_id, lead_file), check)
    assert [s["rows_read"] for s in snapshots] == [3, 6, 9, 10]
    progress = await outbox_events(database, campaign_id, "campaign.progress")
    assert progress[-1]["done"] is True
    assert progress[-1]["rows_read"] == progress[-1]["rows_total"] == 10


async def approve(js: JetStreamContext, campaign_id: str) -> None:
    event = CampaignApproved.originate(
        producer="cli", key=(campaign_id, "leads"), campaign_id=campaign_id, stage="leads", approved_by="ann"
    )
    await publish(js, event)


async def test_manual_approval_holds_leads_until_approved_then_publishes_each_once(
    service: None, database: AsyncEngine, js: JetStreamContext, tmp_path: Path
) -> None:
    campaign_id = unique_campaign_id()
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text(
        "email,name\nann@one.io,Ann One\nbo@two.io,Bo Two\nlate@three.io,Late Three\ncy@four.io,Cy Four\n",
        encoding="utf-8",
    )
    await publish(js, campaign_started(campaign_id, lead_file, approvals={"leads": "manual"}))
    [(imported, _)] = await read_events(js, "campaign.imported", campaign_id, lambda found: len(found) == 1)
    assert (imported["held"], imported["published"]) == (4, 0)
    alerts = await read_all(js, "campaign.alert", campaign_id)
    assert [a["kind"] for a in alerts] == ["leads_awaiting_approval"]
    assert await read_all(js, "lead.scraped", campaign_id) == []
    assert_counters_add_up(await counters(database, campaign_id))

    # While the leads wait, one of them unsubscribes: the release must not publish them.
    await publish(js, LeadUnsubscribed.originate(producer="t", key=campaign_id, email="late@three.io", source="link"))
    await wait_for(database, "SELECT count(*) FROM discovery.contacts WHERE email = 'late@three.io'")

    await approve(js, campaign_id)
    scraped = await read_events(js, "lead.scraped", campaign_id, lambda found: len(found) >= 3)
    assert {body["lead"]["email"] for body, _ in scraped} == {"ann@one.io", "bo@two.io", "cy@four.io"}
    await wait_for(database, "SELECT held = 0 FROM discovery.campaigns WHERE id = :c", c=campaign_id)

    # Approving again (a repeat of the CLI command, a redelivery) publishes nothing more.
    again = CampaignApproved.originate(
        producer="cli", key=(campaign_id, "leads", "again"), campaign_id=campaign_id, stage="leads", approved_by="bo"
    )
    await publish(js, again)
    await wait_for(
        database, "SELECT count(*) FROM discovery.processed_events WHERE event_id = :e", e=str(again.event_id)
    )
    assert len(await read_all(js, "lead.scraped", campaign_id)) == 3
    late = [r for r in await read_all(js, "lead.rejected", campaign_id) if r["email"] == "late@three.io"]
    assert [r["reason_code"] for r in late] == ["suppressed"]
    c = await counters(database, campaign_id)
    assert_counters_add_up(c)
    assert (c["published"], c["held"], c["excluded_unsubscribed"], c["leads_approved_by"]) == (3, 0, 1, "ann")
    assert await outcome_counts(database, campaign_id) == {"published": 3, "excluded": 1}


async def test_an_approved_campaign_publishes_the_rest_of_its_import_directly(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    """Approval during an import: held leads are released, later batches flow on without waiting."""
    campaign_id = unique_campaign_id()
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text("email\na@one.io\nb@two.io\nc@three.io\nd@four.io\n", encoding="utf-8")
    started = campaign_started(campaign_id, lead_file, approvals={"leads": "manual"})
    async with direct_runtime(nats_url, fresh_database_url, tmp_path) as runtime:
        approval = CampaignApproved.originate(
            producer="cli", key=(campaign_id, "leads"), campaign_id=campaign_id, stage="leads", approved_by="ann"
        )
        approved = asyncio.Event()

        async def approve_after_first_batch() -> None:
            if not approved.is_set():
                approved.set()
                await ApproveLeads(runtime.unit_of_work)(approval)

        await ImportCampaign(runtime.unit_of_work, batch_size=2)(started, approve_after_first_batch)
    scraped = await outbox_events(database, campaign_id, "lead.scraped")
    assert sorted(p["lead"]["email"] for p in scraped) == ["a@one.io", "b@two.io", "c@three.io", "d@four.io"]
    imported = await outbox_events(database, campaign_id, "campaign.imported")
    assert (imported[0]["published"], imported[0]["held"]) == (4, 0)


async def test_a_contact_proposed_in_a_reply_is_imported_like_a_row(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    campaign_id = unique_campaign_id()
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text("email,name\nann@one.io,Ann One\n", encoding="utf-8")

    def proposal(email: str, name: str | None = None) -> LeadProposed:
        return LeadProposed.originate(
            producer="replies",
            key=(campaign_id, email),
            campaign_id=campaign_id,
            email=email,
            full_name=name,
            referred_by="ann@one.io",
            reason="referral",
        )

    async with direct_runtime(nats_url, fresh_database_url, tmp_path) as runtime:
        propose = ProposeLead(runtime.unit_of_work)
        with pytest.raises(TransientError):  # the campaign is not stored yet: retried later
            await propose(proposal("early@one.io"))
        await ImportCampaign(runtime.unit_of_work)(campaign_started(campaign_id, lead_file))
        referral = proposal("Cara@One.io", "Cara Diaz")
        await propose(referral)
        await propose(referral)  # redelivered: nothing twice
        await propose(proposal("ann@one.io"))  # already a lead of the campaign
        await propose(proposal("not an address"))
    scraped = await outbox_events(database, campaign_id, "lead.scraped")
    cara = [p for p in scraped if p["lead"]["email"] == "cara@one.io"]
    assert len(cara) == 1
    assert (cara[0]["source"], cara[0]["lead"]["first_name"], cara[0]["lead"]["extra"]) == (
        "reply:referral",
        "Cara",
        {"referred_by": "ann@one.io"},
    )
    rejected = sorted(p["reason_code"] for p in await outbox_events(database, campaign_id, "lead.rejected"))
    assert rejected == ["duplicate", "invalid_email"]
    c = await counters(database, campaign_id)
    assert_counters_add_up(c)
    assert (c["rows_read"], c["published"], c["cursor_source"], c["cursor_row"]) == (4, 2, 0, 2)
