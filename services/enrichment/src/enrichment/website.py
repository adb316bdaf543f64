"""SSRF-safe website fetch: the URL comes from lead data, so it must never reach our own network.

Every hop (the first URL and each redirect) is resolved first and refused unless *all* its addresses are public
(no private, loopback, link-local — 169.254.169.254 is the cloud metadata service —, shared, reserved, multicast
or unspecified ranges; IPv4-mapped IPv6 is unwrapped first). We then connect to the address we checked, not to
the name, so a second DNS answer cannot swap in an internal address (DNS rebinding); TLS still verifies the
name (SNI). Timeouts, a byte cap and a small redirect budget bound what one fetch can cost.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from enrichment.hosts import HostResolver

USER_AGENT = "ColdstreamResearch/1.0 (+company research; one page per domain)"


class FetchRefusedError(Exception):
    """The URL points somewhere we must not go (or goes round in redirects)."""


class FetchFailedError(Exception):
    """The site could not be read (timeout, error status, not HTML)."""


@dataclass(frozen=True)
class Page:
    """A fetched page: where it ended up and its (possibly truncated) HTML."""

    url: str
    html: str
    truncated: bool


def parse_networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated CIDRs (the test-only allow list)."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]


def is_public(address: str, allow: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()) -> bool:
    """Whether an address may be fetched: globally routable, or explicitly allowed (tests only)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allow):
        return True
    return ip.is_global and not ip.is_multicast


class WebsiteFetcher:
    """GET one HTML page with the SSRF guard on every hop."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        hosts: HostResolver,
        *,
        timeout: float = 10.0,
        max_bytes: int = 1_000_000,
        max_redirects: int = 3,
        allow_networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
    ) -> None:
        self._client, self._hosts = client, hosts
        self._timeout, self._max_bytes, self._max_redirects = timeout, max_bytes, max_redirects
        self._allow = list(allow_networks)

    async def fetch(self, url: str) -> Page:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._follow(httpx.URL(url))
        except TimeoutError as error:
            raise FetchFailedError(f"timed out after {self._timeout:g}s") from error
        except httpx.HTTPError as error:
            raise FetchFailedError(type(error).__name__) from error

    async def _follow(self, url: httpx.URL) -> Page:
        for _ in range(self._max_redirects + 1):
            pinned, host_header = await self._pin(url)
            request = self._client.build_request(
                "GET",
                pinned,
                headers={"Host": host_header, "User-Agent": USER_AGENT, "Accept": "text/html"},
                extensions={"sni_hostname": url.host},
            )
            response = await self._client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = url.join(response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise FetchFailedError(f"{url.host} answered {response.status_code}")
                content_type = response.headers.get("content-type", "text/html")
                if "html" not in content_type and "text/plain" not in content_type:
                    raise FetchFailedError(f"not HTML ({content_type.split(';')[0]})")
                body, truncated = await self._read_capped(response)
                return Page(str(url), body.decode(response.encoding or "utf-8", errors="replace"), truncated)
            finally:
                await response.aclose()
        raise FetchRefusedError(f"more than {self._max_redirects} redirects")

    async def _pin(self, url: httpx.URL) -> tuple[httpx.URL, str]:
        """Check the host's addresses and return the URL aimed at the first one, with the Host header to send."""
        if url.scheme not in ("http", "https") or not url.host:
            raise FetchRefusedError(f"only http(s) URLs are fetched, not {url.scheme or 'a relative URL'}")
        addresses = await self._hosts.addresses(url.host)
        if not addresses:
            raise FetchFailedError(f"{url.host} does not resolve")
        blocked = [a for a in addresses if not is_public(a, self._allow)]
        if blocked:
            raise FetchRefusedError(f"{url.host} resolves to a non-public address ({blocked[0]})")
        host_header = url.host if url.port is None else f"{url.host}:{url.port}"
        return url.copy_with(host=addresses[0]), host_header

    async def _read_capped(self, response: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= self._max_bytes:
                return b"".join(chunks)[: self._max_bytes], True
        return b"".join(chunks), False
