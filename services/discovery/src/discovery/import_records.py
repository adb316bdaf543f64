"""Repository reads for an import in progress: the campaign's cursor and what the campaign and history know."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import LeadData
from discovery.exclusion import ContactFacts
from discovery.outcomes import CampaignView
from discovery.people import People
from discovery.sources import Cursor
from discovery.store import any_of, campaigns, contacts, leads, suppressed_domains


@dataclass(frozen=True)
class ImportState:
    """Where a campaign's import stands, read under a row lock."""

    status: str
    started_event_id: uuid.UUID
    cursor: Cursor
    approved: bool


async def lock_import(session: AsyncSession, campaign_id: str) -> ImportState:
    """Lock the campaign row for this transaction (one batch at a time per campaign) and read its state."""
    row = (
        await session.execute(
            select(
                campaigns.c.status,
                campaigns.c.started_event_id,
                campaigns.c.cursor_source,
                campaigns.c.cursor_row,
                campaigns.c.leads_approved_at,
            )
            .where(campaigns.c.id == campaign_id)
            .with_for_update()
        )
    ).one()
    return ImportState(
        row.status, row.started_event_id, Cursor(row.cursor_source, row.cursor_row), row.leads_approved_at is not None
    )


async def contact_facts(
    session: AsyncSession, emails: set[str], domains: set[str], recontact_days: int
) -> ContactFacts:
    """The projection's facts about these addresses and domains (one indexed query each)."""
    if not emails:
        return ContactFacts()
    found = await session.execute(
        select(
            contacts.c.email, contacts.c.suppressed_reason, contacts.c.suppressed_at, contacts.c.last_emailed_at
        ).where(contacts.c.email == any_of(emails))
    )
    suppressed: dict[str, tuple[str, datetime | None]] = {}
    emailed: dict[str, datetime] = {}
    for email, reason, suppressed_at, last_emailed_at in found.tuples():
        if reason is not None:
            suppressed[email] = (reason, suppressed_at)
        if last_emailed_at is not None:
            emailed[email] = last_emailed_at
    blocked = {}
    if domains:
        rows = await session.execute(
            select(suppressed_domains.c.domain, suppressed_domains.c.reason, suppressed_domains.c.suppressed_at).where(
                suppressed_domains.c.domain == any_of(domains)
            )
        )
        blocked = {domain: (reason, at) for domain, reason, at in rows.tuples()}
    # recontact_after_days = 0 means "no window": an earlier email never keeps anyone out.
    cutoff = datetime.now(UTC) - timedelta(days=recontact_days) if recontact_days > 0 else None
    return ContactFacts(suppressed, emailed, blocked, cutoff)


async def campaign_view(
    session: AsyncSession, spec: CampaignSpec, campaign_id: str, batch: list[LeadData], hold: bool
) -> CampaignView:
    """What this batch's rows are compared with: earlier leads of the campaign sharing an address, a LinkedIn
    profile or a company domain, and the projection's facts about the batch's contacts."""
    emails = {lead.email for lead in batch}
    profiles = {lead.linkedin_url for lead in batch if lead.linkedin_url}
    company_domains = {lead.company_domain for lead in batch if lead.company_domain}
    view = CampaignView(campaign_id, spec.icp, hold=hold)
    # Two queries, not one with OR: each uses its own index, (campaign_id, email) and (campaign_id, linkedin_url).
    if emails:
        earlier = await session.execute(
            select(leads.c.email, leads.c.lead_id).where(
                leads.c.campaign_id == campaign_id, leads.c.email == any_of(emails)
            )
        )
        view.seen.update(earlier.tuples().all())
    if profiles:
        earlier = await session.execute(
            select(leads.c.linkedin_url, leads.c.lead_id).where(
                leads.c.campaign_id == campaign_id, leads.c.linkedin_url == any_of(profiles)
            )
        )
        view.linkedin.update(earlier.tuples().all())
    view.people.update(await known_people(session, campaign_id, company_domains))
    email_domains = {email.rsplit("@", 1)[-1] for email in emails}
    view.facts = await contact_facts(
        session, emails, email_domains | company_domains, spec.sending.recontact_after_days
    )
    return view


async def known_people(session: AsyncSession, campaign_id: str, domains: set[str]) -> People:
    """The campaign's leads at these company domains: domain -> [(name key, lead id)], oldest first."""
    if not domains:
        return {}
    rows = await session.execute(
        select(leads.c.company_domain, leads.c.name_key, leads.c.lead_id)
        .where(
            leads.c.campaign_id == campaign_id,
            leads.c.company_domain == any_of(domains),
            leads.c.name_key.is_not(None),
        )
        .order_by(leads.c.source_index, leads.c.row_number)
    )
    people: People = {}
    for domain, key, lead_id in rows.tuples():
        people.setdefault(domain, []).append((key, lead_id))
    return people


async def finish_import(session: AsyncSession, campaign_id: str) -> Any:
    """Mark the import done; every stage ran row by row, so they all complete now. Returns the counters."""
    return (
        await session.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id)
            .values(
                status="imported",
                imported_at=func.now(),
                validation_completed_at=func.now(),
                dedup_completed_at=func.now(),
                cross_dedup_completed_at=func.now(),
                scoring_completed_at=func.now(),
                updated_at=func.now(),
            )
            .returning(campaigns)
        )
    ).one()
