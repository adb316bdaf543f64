"""MX lookup and its cache against a real DNS server on loopback (dnslib), not a mocked resolver.

Zone names end in ".example": email-validator refuses the special-use ".test".
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from dnslib import AAAA, MX, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.dns import DNSError
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from enrichment.domain_rules import apply_mx
from enrichment.mx import CachedMxResolver, DnsMxResolver, MxAnswer
from enrichment.settings import EnrichmentSettings
from enrichment.verification import check_syntax
from enrichment.verifier import Verifier, build_verifier


class ZoneResolver(BaseResolver):
    """A tiny authoritative zone that counts every query it receives."""

    def __init__(self) -> None:
        self.queries: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self._lock:
            self.queries[(name, qtype)] += 1
        reply = request.reply()
        if name == "silent.example":
            raise DNSError("dropped on purpose: the client must time out")
        if name == "servfail.example":
            reply.header.rcode = RCODE.SERVFAIL
        elif name == "mx.example":
            if qtype == "MX":
                reply.add_answer(RR(name, QTYPE.MX, rdata=MX("mail.mx.example", 10), ttl=3600))
                reply.add_answer(RR(name, QTYPE.MX, rdata=MX("backup.mx.example", 20), ttl=3600))
        elif name == "aonly.example":
            if qtype == "A":
                reply.add_answer(RR(name, QTYPE.A, rdata=A("192.0.2.10"), ttl=120))
        elif name == "v6only.example":
            if qtype == "AAAA":
                reply.add_answer(RR(name, QTYPE.AAAA, rdata=AAAA("2001:db8::1"), ttl=120))
        elif name == "nullmx.example":
            if qtype == "MX":
                reply.add_answer(RR(name, QTYPE.MX, rdata=MX(".", 0), ttl=3600))
        elif name in ("empty.example", "shortttl.example"):
            if name == "shortttl.example" and qtype == "MX":
                reply.add_answer(RR(name, QTYPE.MX, rdata=MX("mail.shortttl.example", 10), ttl=1))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


@pytest.fixture
def zone() -> Iterator[tuple[ZoneResolver, int]]:
    resolver = ZoneResolver()
    server = DNSServer(
        resolver, address="127.0.0.1", port=0, logger=DNSLogger(log="-log_recv,-log_send", logf=lambda _: None)
    )
    server.start_thread()
    try:
        yield resolver, server.server.server_address[1]
    finally:
        server.stop()
        server.server.server_close()


def dns(port: int, timeout: float = 2.0) -> DnsMxResolver:
    return DnsMxResolver(["127.0.0.1"], port=port, timeout=timeout)


async def test_mx_records_sorted_by_preference(zone: tuple[ZoneResolver, int]) -> None:
    answer = await dns(zone[1]).lookup("mx.example")
    assert answer == MxAnswer("mx", ("mail.mx.example", "backup.mx.example"), 3600)


@pytest.mark.parametrize(
    ("domain", "status"),
    [
        ("aonly.example", "a_only"),
        ("v6only.example", "a_only"),
        ("nullmx.example", "null_mx"),
        ("empty.example", "no_mail"),
        ("nowhere.example", "nxdomain"),
    ],
)
async def test_dns_outcomes(zone: tuple[ZoneResolver, int], domain: str, status: str) -> None:
    assert (await dns(zone[1]).lookup(domain)).status == status


async def test_servfail_is_an_error_not_a_rejection(zone: tuple[ZoneResolver, int]) -> None:
    answer = await dns(zone[1]).lookup("servfail.example")
    assert answer.status == "error"
    assert "SERVFAIL" in answer.detail
    result = apply_mx(check_syntax("jane@servfail.example"), answer)
    assert result.verdict == "unknown"


async def test_silent_server_times_out_as_unknown(zone: tuple[ZoneResolver, int]) -> None:
    answer = await dns(zone[1], timeout=0.3).lookup("silent.example")
    assert answer == MxAnswer("error", detail="timeout")
    assert apply_mx(check_syntax("jane@silent.example"), answer).verdict == "unknown"


async def test_cache_makes_one_query_per_domain(zone: tuple[ZoneResolver, int]) -> None:
    resolver, port = zone
    cached = CachedMxResolver(dns(port))
    domains = ["mx.example", "aonly.example", "nowhere.example", "empty.example"]
    for _ in range(5):
        await asyncio.gather(*(cached.lookup(domain) for domain in domains * 10))
    assert resolver.queries == Counter(
        {
            ("mx.example", "MX"): 1,
            ("aonly.example", "MX"): 1,
            ("aonly.example", "A"): 1,
            ("nowhere.example", "MX"): 1,  # negative answers are cached too
            ("empty.example", "MX"): 1,
            ("empty.example", "A"): 1,
            ("empty.example", "AAAA"): 1,
        }
    )


async def test_cache_uses_record_ttl_clamped_and_skips_errors(zone: tuple[ZoneResolver, int]) -> None:
    resolver, port = zone
    now = [1000.0]
    cached = CachedMxResolver(dns(port), min_ttl=60, max_ttl=600, negative_ttl=30, clock=lambda: now[0])
    for domain in ("mx.example", "shortttl.example", "nowhere.example", "servfail.example"):
        await cached.lookup(domain)
    now[0] += 59  # shortttl's TTL of 1 s was raised to the 60 s floor; nowhere's 30 s negative TTL has passed
    for domain in ("mx.example", "shortttl.example", "nowhere.example", "servfail.example"):
        await cached.lookup(domain)
    assert resolver.queries[("shortttl.example", "MX")] == 1
    assert resolver.queries[("nowhere.example", "MX")] == 2
    assert resolver.queries[("servfail.example", "MX")] >= 2  # failures are retried, never cached
    now[0] += 600  # mx.example's 3600 s TTL was capped at 600 s
    await cached.lookup("mx.example")
    assert resolver.queries[("mx.example", "MX")] == 2


async def test_verifier_with_dns(zone: tuple[ZoneResolver, int]) -> None:
    _, port = zone
    settings = EnrichmentSettings(enrichment_dns=True, dns_nameservers="127.0.0.1", dns_port=port, dns_timeout=0.3)
    verify = build_verifier(settings)

    ok = await verify("Jane@MX.example")
    assert ok.verdict == "unknown"  # MX proves a mail server, not a mailbox: the syntax verdict stands
    assert ok.reasons == ["syntax: ok", "mx: ok"]
    assert ok.verified_by == "syntax+mx"

    role = await verify("sales@mx.example")
    assert (role.verdict, role.verified_by) == ("risky", "syntax+mx")

    gone = await verify("jane@nowhere.example")
    assert gone.verdict == "invalid"
    assert "NXDOMAIN" in gone.reasons[-1]

    nomail = await verify("jane@empty.example")
    assert nomail.verdict == "invalid"
    assert "no mail server" in nomail.reasons[-1]

    flaky = await verify("jane@silent.example")
    assert flaky.verdict == "unknown"
    assert flaky.reasons[-1] == "mx: lookup failed (timeout)"


async def test_disposable_domain_spends_no_dns_query(zone: tuple[ZoneResolver, int]) -> None:
    resolver, port = zone
    verify = Verifier(CachedMxResolver(dns(port)))
    result = await verify("jane@mailinator.com")
    assert result.verdict == "invalid"
    assert "disposable domain" in result.reasons
    assert not resolver.queries
