"""Enrichment in-process against real NATS, Postgres and a loopback DNS server, with DNS verification on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dnslib import MX, QTYPE, RCODE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from coldstream_shared.events import LeadData, LeadScraped
from coldstream_shared.migrations import upgrade
from enrichment.main import create_app
from enrichment.settings import EnrichmentSettings
from tests.integration.helpers import collect, publish_event

pytestmark = pytest.mark.integration


class OneDomainZone(BaseResolver):
    """`mail.example` has an MX; every other name does not exist."""

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        if str(request.q.qname).rstrip(".") == "mail.example":
            if request.q.qtype == QTYPE.MX:
                reply.add_answer(RR("mail.example", QTYPE.MX, rdata=MX("mx1.mail.example", 10), ttl=300))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


@pytest.fixture
async def enrichment(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[None]:
    dns = DNSServer(
        OneDomainZone(), address="127.0.0.1", port=0, logger=DNSLogger(log="-log_recv", logf=lambda _: None)
    )
    dns.start_thread()
    await asyncio.to_thread(upgrade, "enrichment", fresh_database_url)
    settings = EnrichmentSettings(
        nats_url=nats_url,
        database_url=fresh_database_url,
        data_dir=tmp_path,
        enrichment_dns=True,
        dns_nameservers="127.0.0.1",
        dns_port=dns.server.server_address[1],
        dns_timeout=1.0,
    )
    app = create_app(settings)
    await app.start()
    try:
        yield
    finally:
        await app.stop()
        dns.stop()
        dns.server.server_close()


def scraped(campaign: str, email: str) -> LeadScraped:
    return LeadScraped.originate(
        producer="test",
        key=(campaign, email),
        lead_id=f"{campaign}-{email}",
        campaign_id=campaign,
        lead=LeadData(email=email),
        source="test",
    )


@pytest.mark.usefixtures("enrichment")
async def test_dns_verdicts_reach_the_bus(nats_url: str) -> None:
    campaign = f"enr-dns-{uuid.uuid4().hex[:8]}"
    for email in ("jane@mail.example", "ghost@nowhere.example", "temp@mailinator.com"):
        await publish_event(nats_url, scraped(campaign, email))

    mine = lambda payload: payload["campaign_id"] == campaign  # noqa: E731
    verified = await collect(nats_url, "lead.verified", mine)
    rejected = await collect(nats_url, "lead.rejected", mine, expect=2)

    assert [(v["lead"]["email"], v["verified_by"], v["reasons"]) for v in verified] == [
        ("jane@mail.example", "syntax+mx", ["syntax: ok", "mx: ok", "policy: campaign not known yet, defaults used"])
    ]
    reasons = sorted(r["reason"] for r in rejected)
    assert [r.split("; policy:")[0] for r in reasons] == [
        "syntax: ok; disposable domain",
        "syntax: ok; mx: domain does not exist (NXDOMAIN)",
    ]
