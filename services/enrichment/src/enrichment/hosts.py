"""Host name → IP addresses, as a port: the SMTP probe and the website fetch connect to addresses we checked.

`DnsHostResolver` asks the configured nameservers (the same ones the MX lookup uses, so a loopback DNS server in
tests answers for both); `SystemHostResolver` uses the operating system (getaddrinfo).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import Protocol

import dns.asyncresolver
import dns.exception


class HostResolver(Protocol):
    """Resolves a host name to its addresses (empty when it has none)."""

    async def addresses(self, host: str) -> list[str]:
        """Every A/AAAA address of `host`."""
        ...


def _literal(host: str) -> list[str] | None:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return None


class SystemHostResolver:
    """The operating system's resolver."""

    async def addresses(self, host: str) -> list[str]:
        if (literal := _literal(host)) is not None:
            return literal
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError:
            return []
        return sorted({str(info[4][0]) for info in infos})


class DnsHostResolver:
    """A and AAAA over dnspython with explicit nameservers."""

    def __init__(self, nameservers: Sequence[str], port: int = 53, timeout: float = 3.0) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.nameservers = list(nameservers)
        self._resolver.port = port
        self._resolver.lifetime = timeout

    async def addresses(self, host: str) -> list[str]:
        if (literal := _literal(host)) is not None:
            return literal
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = await self._resolver.resolve(host, rdtype, raise_on_no_answer=False)
            except dns.exception.DNSException:
                continue
            if answer.rrset is not None:
                found += [r.to_text() for r in answer.rrset]
        return found


def build_host_resolver(nameservers: str, port: int, timeout: float) -> HostResolver:
    """The configured nameservers when there are any, else the system resolver."""
    servers = [ns.strip() for ns in nameservers.split(",") if ns.strip()]
    return DnsHostResolver(servers, port, timeout) if servers else SystemHostResolver()
