"""A real DNS server for tests and benchmarks: dnslib over UDP on 127.0.0.1, answering MX/A/AAAA from a static zone."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator


class _StaticZone:
    """Answers MX/A/AAAA from a dict; `*.suffix` keys match any name under the suffix; others are NXDOMAIN."""

    def __init__(self, records: dict[str, list[tuple[str, str]]]) -> None:
        self.records = records

    def _lookup(self, name: str) -> list[tuple[str, str]] | None:
        if name in self.records:
            return self.records[name]
        parts = name.split(".")
        for i in range(1, len(parts)):
            if (wildcard := "*." + ".".join(parts[i:])) in self.records:
                return self.records[wildcard]
        return None

    def resolve(self, request: object, handler: object) -> object:
        from dnslib import AAAA, MX, QTYPE, RCODE, RR, A

        reply = request.reply()  # type: ignore[attr-defined]
        name = str(request.q.qname).rstrip(".").lower()  # type: ignore[attr-defined]
        qtype = QTYPE[request.q.qtype]  # type: ignore[attr-defined]
        found = self._lookup(name)
        if found is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        build = {
            "A": lambda v: A(v),
            "AAAA": lambda v: AAAA(list(ipaddress.IPv6Address(v).packed)),
            "MX": lambda v: MX(v, 10),
        }
        for rtype, value in found:
            if rtype == qtype:
                reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=build[rtype](value), ttl=300))
        return reply


@contextlib.contextmanager
def serve_dns(records: dict[str, list[tuple[str, str]]]) -> Iterator[int]:
    """A real DNS server (dnslib, UDP on 127.0.0.1) for a static zone; yields its port.

    `records` maps a name (or `*.suffix`) to (type, value) pairs, e.g. {"corp.example": [("MX", "mx.corp.example")]}.
    """
    from dnslib.server import DNSLogger, DNSServer

    server = DNSServer(
        _StaticZone(records), address="127.0.0.1", port=0, logger=DNSLogger(log="-log_recv", logf=lambda _: None)
    )
    server.start_thread()
    try:
        yield server.server.server_address[1]
    finally:
        server.stop()
        server.server.server_close()
