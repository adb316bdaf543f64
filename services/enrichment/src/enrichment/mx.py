"""MX lookup: a `MxResolver` port, its dnspython adapter and a per-domain TTL cache.

The lookup answers one question — can this domain receive mail? — as an `MxAnswer`. Only the DNS *outcome* is
reported; what that means for a lead's verdict is decided by the pure rules in `domain_rules.py`. DNS failures
(timeouts, SERVFAIL, unreachable nameservers) come back as status "error" rather than exceptions, so a flaky
resolver can never make us reject a lead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

MxStatus = Literal["mx", "null_mx", "a_only", "no_mail", "nxdomain", "error"]


@dataclass(frozen=True)
class MxAnswer:
    """What DNS says about a domain's mail servers; `ttl` is how long the answer may be reused."""

    status: MxStatus
    hosts: tuple[str, ...] = ()
    ttl: int | None = None
    detail: str = ""


class MxResolver(Protocol):
    """Looks up where a domain's mail goes."""

    async def lookup(self, domain: str) -> MxAnswer:
        """The MX outcome for `domain` (never raises for DNS failures)."""
        ...


class DnsMxResolver:
    """MX lookup over real DNS with dnspython's async resolver (A/AAAA as the RFC 5321 implicit MX)."""

    def __init__(self, nameservers: Sequence[str] = (), port: int = 53, timeout: float = 3.0) -> None:
        # Explicit nameservers make lookups reproducible (and testable on loopback); none means /etc/resolv.conf.
        self._resolver = dns.asyncresolver.Resolver(configure=not nameservers)
        if nameservers:
            self._resolver.nameservers = list(nameservers)
            self._resolver.port = port
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout

    async def lookup(self, domain: str) -> MxAnswer:
        """Query MX, then A and AAAA when there is no MX."""
        try:
            mx = await self._resolver.resolve(domain, "MX", raise_on_no_answer=False)
            if mx.rrset is not None and len(mx.rrset):
                hosts = tuple(str(r.exchange).rstrip(".") for r in sorted(mx.rrset, key=lambda r: r.preference))
                # RFC 7505 null MX ("MX 0 .") is the domain saying it accepts no mail at all.
                status: MxStatus = "null_mx" if hosts == ("",) else "mx"
                return MxAnswer(status, hosts if status == "mx" else (), mx.rrset.ttl)
            for rdtype in ("A", "AAAA"):
                addresses = await self._resolver.resolve(domain, rdtype, raise_on_no_answer=False)
                if addresses.rrset is not None and len(addresses.rrset):
                    return MxAnswer("a_only", (domain,), addresses.rrset.ttl)
            return MxAnswer("no_mail")
        except dns.resolver.NXDOMAIN:
            return MxAnswer("nxdomain")
        except dns.exception.Timeout:
            return MxAnswer("error", detail="timeout")
        except dns.resolver.NoNameservers:
            return MxAnswer("error", detail="no nameserver answered (SERVFAIL)")
        except dns.exception.DNSException as error:
            return MxAnswer("error", detail=type(error).__name__)


class CachedMxResolver:
    """Caches answers per domain for the record TTL clamped to [min_ttl, max_ttl]; negatives for `negative_ttl`.

    Errors are not cached, so a resolver outage heals on the next lead. Concurrent lookups of one domain share a
    single query: a hundred leads at one company cost one DNS round trip.
    """

    def __init__(
        self,
        inner: MxResolver,
        *,
        min_ttl: int = 60,
        max_ttl: int = 86_400,
        negative_ttl: int = 300,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self._inner = inner
        self._min_ttl, self._max_ttl, self._negative_ttl = min_ttl, max_ttl, negative_ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, MxAnswer]] = {}
        self._in_flight: dict[str, asyncio.Future[MxAnswer]] = {}

    async def lookup(self, domain: str) -> MxAnswer:
        """The cached answer, or one shared fresh lookup."""
        key = domain.lower().rstrip(".")
        cached = self._entries.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[MxAnswer] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            answer = await self._inner.lookup(key)
            self._store(key, answer)
            future.set_result(answer)
            return answer
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            del self._in_flight[key]

    def _store(self, key: str, answer: MxAnswer) -> None:
        if answer.status == "error":
            return
        if answer.status in ("mx", "a_only") and answer.ttl is not None:
            ttl = min(max(answer.ttl, self._min_ttl), self._max_ttl)
        else:
            ttl = self._negative_ttl
        if len(self._entries) >= self._max_entries:
            self._evict_expired()
        if len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))  # oldest insertion: bounded memory over perfect recall
        self._entries[key] = (self._clock() + ttl, answer)

    def _evict_expired(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
