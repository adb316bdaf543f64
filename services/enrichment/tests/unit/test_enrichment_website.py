"""The SSRF-safe website fetch: names are resolved by a real DNS server on loopback (dnslib) and the site is a
real HTTP server on 127.0.0.1, which only the test-only allow list lets us reach."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from coldstream.fakes.dns import serve_dns
from coldstream.fakes.providers import Fault, ProviderState, serve_providers
from enrichment.hosts import DnsHostResolver
from enrichment.html_text import summarize, tech_stack
from enrichment.website import FetchFailedError, FetchRefusedError, WebsiteFetcher, is_public, parse_networks

ZONE = {
    "site.example": [("A", "127.0.0.1")],
    "loopback.example": [("A", "127.0.0.1")],
    "metadata.example": [("A", "169.254.169.254")],
    "internal.example": [("A", "10.1.2.3")],
    "v6loop.example": [("AAAA", "::1")],
    "mapped.example": [("AAAA", "::ffff:127.0.0.1")],
    "mixed.example": [("A", "93.184.216.34"), ("A", "192.168.1.10")],
}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, str, ProviderState]]:
    with serve_dns(ZONE) as dns_port, serve_providers() as (url, state):
        yield dns_port, url, state


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False) as http:
        yield http


def fetcher(servers, client, allow: str = "", **options) -> WebsiteFetcher:  # type: ignore[no-untyped-def]
    hosts = DnsHostResolver(["127.0.0.1"], servers[0], timeout=2.0)
    return WebsiteFetcher(client, hosts, allow_networks=parse_networks(allow), **options)


def port_of(servers) -> int:  # type: ignore[no-untyped-def]
    return int(servers[1].rsplit(":", 1)[1])


@pytest.mark.parametrize(
    ("host", "blocked"),
    [
        ("loopback.example", "127.0.0.1"),
        ("metadata.example", "169.254.169.254"),
        ("internal.example", "10.1.2.3"),
        ("v6loop.example", "::1"),
        ("mapped.example", "::ffff:127.0.0.1"),
        ("mixed.example", "192.168.1.10"),
        ("[::1]", "::1"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
async def test_non_public_addresses_are_refused_after_resolution(servers, client, host: str, blocked: str) -> None:
    with pytest.raises(FetchRefusedError, match=f"non-public address \\({blocked}\\)"):
        await fetcher(servers, client).fetch(f"http://{host}:{port_of(servers)}/")
    assert servers[2].count("website") == 0 or host not in {k for _, k in servers[2].calls}


async def test_allowed_site_is_fetched_and_turned_into_text(servers, client) -> None:
    page = await fetcher(servers, client, "127.0.0.1/32").fetch(f"http://site.example:{port_of(servers)}/")
    assert page.url == f"http://site.example:{port_of(servers)}/"
    assert summarize(page.html) == (
        "Site builds event software for B2B teams. Site We help teams run events. Trusted by 500 companies."
    )
    assert tech_stack(page.html) == ["HubSpot"]
    assert servers[2].calls[("website", "site.example")] >= 1, "the Host header carries the name, not the IP"


@pytest.mark.parametrize(
    "target",
    ["http://metadata.example/latest/meta-data/", "http://internal.example/", "http://[::1]/", "http://10.0.0.1/"],
)
async def test_redirects_to_internal_addresses_are_refused(servers, client, target: str) -> None:
    servers[2].faults["website"].append(Fault(302, {"location": target}))
    with pytest.raises(FetchRefusedError, match="non-public address"):
        await fetcher(servers, client, "127.0.0.1/32").fetch(f"http://site.example:{port_of(servers)}/")


async def test_redirect_budget_and_schemes(servers, client) -> None:
    here = f"http://site.example:{port_of(servers)}/next"
    servers[2].faults["website"].extend([Fault(302, {"location": here})] * 3)
    with pytest.raises(FetchRefusedError, match="more than 2 redirects"):
        await fetcher(servers, client, "127.0.0.1/32", max_redirects=2).fetch(here)
    servers[2].faults["website"].clear()
    with pytest.raises(FetchRefusedError, match="only http"):
        await fetcher(servers, client).fetch("file:///etc/passwd")


async def test_size_cap_and_timeout(servers, client) -> None:
    url = f"http://site.example:{port_of(servers)}/"
    page = await fetcher(servers, client, "127.0.0.1/32", max_bytes=64).fetch(url)
    assert (len(page.html), page.truncated) == (64, True)
    servers[2].faults["website"].append(Fault(delay=2.0))
    with pytest.raises(FetchFailedError, match="timed out"):
        await fetcher(servers, client, "127.0.0.1/32", timeout=0.3).fetch(url)


def test_public_address_rules() -> None:
    assert is_public("93.184.216.34")
    assert is_public("2606:2800:220:1:248:1893:25c8:1946")
    for address in (
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
    ):
        assert not is_public(address), address
