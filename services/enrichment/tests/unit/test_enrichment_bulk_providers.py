"""Bulk provider endpoints (ZeroBounce /v2/validatebatch, PDL /v5/person/bulk) against the local HTTP fake with the
documented shapes: concurrent leads share one call, each lead gets its own answer, per-address failures stay with
their address, and a bulk call that fails as a whole (429, 5xx, malformed body, bad key) is handled like a single
call's failure."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from coldstream.fakes.providers import Fault, ProviderState
from coldstream_shared.resilience import AsyncLimiter, CircuitBreaker
from enrichment.providers.batching import MicroBatcher
from enrichment.providers.pdl import PdlPersonBulk
from enrichment.providers.resilient import ProviderRejectedError, ProviderUnavailableError, ResilientProvider
from enrichment.providers.zerobounce import ZeroBounceBatchVerifier


def resilient(name: str, client: httpx.AsyncClient) -> ResilientProvider:
    breaker = CircuitBreaker(name, failure_threshold=2, reset_after=30.0)
    return ResilientProvider(name, client, limiter=AsyncLimiter(100, 1), breaker=breaker, attempts=3, base_delay=0.01)


def fresh(state: ProviderState) -> ProviderState:
    state.faults.clear()
    state.calls.clear()
    return state


def zerobounce(fake: tuple[str, ProviderState], client: httpx.AsyncClient, key: str = "zb-key", size: int = 200):
    url, state = fake
    fresh(state)
    http = resilient("zerobounce", client)
    return ZeroBounceBatchVerifier(http, key, url, 0.008, batch_size=size, linger=0.02), http.breaker


def pdl(fake: tuple[str, ProviderState], client: httpx.AsyncClient) -> tuple[PdlPersonBulk, CircuitBreaker]:
    url, state = fake
    fresh(state)
    http = resilient("pdl", client)
    return PdlPersonBulk(http, "p-key", url, 0.28, batch_size=100, linger=0.02), http.breaker


async def each(provider: Any, emails: list[str]) -> list[Any]:
    """Every lead's answer (or its exception), looked up concurrently as leads in flight do."""
    return await asyncio.gather(*(provider.fetch({"email": e}) for e in emails), return_exceptions=True)


def bulk_calls(state: ProviderState, route: str) -> list[int]:
    """The size of every bulk call the fake saw on `route`."""
    return sorted(int(size) for (r, size), n in state.calls.items() if r == route for _ in range(n))


async def test_zerobounce_leads_in_flight_share_one_batch_call(fake, client) -> None:
    verifier, _ = zerobounce(fake, client)
    emails = ["ok@a.example", "invalid@a.example", "catchall@a.example", "trap@a.example", "role@a.example"]
    answers = await each(verifier, emails)
    assert [a["verdict"] for a in answers] == ["safe", "invalid", "catch_all", "invalid", "risky"]
    assert answers[1]["reason"] == "zerobounce: invalid (mailbox_not_found)"
    assert bulk_calls(fake[1], "zerobounce_batch") == [5]
    assert fake[1].count("zerobounce") == 0, "no single-address calls"


async def test_a_full_batch_leaves_at_once_and_the_rest_follow(fake, client) -> None:
    verifier, _ = zerobounce(fake, client, size=2)
    answers = await each(verifier, [f"ok{i}@a.example" for i in range(5)])
    assert all(a["verdict"] == "safe" for a in answers)
    assert bulk_calls(fake[1], "zerobounce_batch") == [1, 2, 2]


async def test_zerobounce_failure_for_one_address_does_not_fail_the_others(fake, client) -> None:
    verifier, breaker = zerobounce(fake, client)
    ok, refused, dropped = await each(verifier, ["ok@b.example", "refused@b.example", "dropped@b.example"])
    assert ok["verdict"] == "safe"
    assert isinstance(refused, ProviderRejectedError), "named in `errors`: refused for good, like a 4xx"
    assert isinstance(dropped, ProviderUnavailableError), "left out of the answer: ask again later"
    assert breaker.state == "closed"


async def test_zerobounce_batch_429_with_retry_after_is_waited_out_then_retried(fake, client) -> None:
    verifier, _ = zerobounce(fake, client)
    fake[1].faults["zerobounce_batch"].append(Fault(429, {"Retry-After": "1"}))
    started = time.monotonic()
    answers = await each(verifier, ["ok1@c.example", "ok2@c.example"])
    assert [a["verdict"] for a in answers] == ["safe", "safe"]
    assert bulk_calls(fake[1], "zerobounce_batch") == [2, 2], "the same batch, sent again"
    assert time.monotonic() - started >= 0.9, "the provider asked for a one-second pause"


@pytest.mark.parametrize("body", ["not json", '{"email_batch": 7}', '["a list"]', '{"email_batch": [{"status": 1}]}'])
async def test_malformed_batch_bodies_are_transient_for_every_address(fake, client, body: str) -> None:
    verifier, _breaker = zerobounce(fake, client)
    fake[1].faults["zerobounce_batch"].append(Fault(200, body=body))
    answers = await each(verifier, ["ok1@d.example", "ok2@d.example"])
    assert all(isinstance(a, ProviderUnavailableError) for a in answers), answers


async def test_zerobounce_batch_bad_key_is_about_us_and_counts_against_the_breaker(fake, client) -> None:
    verifier, breaker = zerobounce(fake, client, key="wrong")
    answers = await each(verifier, ["ok1@e.example", "ok2@e.example"])
    assert all(isinstance(a, ProviderUnavailableError) and "API Key" in str(a) for a in answers)
    await each(verifier, ["ok3@e.example"])
    assert breaker.state == "open", "two failed batch calls reach the threshold of two"


async def test_pdl_bulk_answers_each_lead_in_request_order(fake, client) -> None:
    person, breaker = pdl(fake, client)
    found, missing, refused, other = await each(
        person, ["jane.doe@f.example", "nobody@f.example", "badinput@f.example", "max.roe@f.example"]
    )
    assert found["title"] == "head of growth"
    assert found["full_name"] == "Jane Doe"
    assert other["full_name"] == "Max Roe", "each lead gets its own answer"
    assert missing is None, "404: no match, not billed"
    assert isinstance(refused, ProviderRejectedError)
    assert bulk_calls(fake[1], "pdl_person_bulk") == [4]
    assert breaker.state == "closed"


async def test_pdl_bulk_5xx_is_retried(fake, client) -> None:
    person, _ = pdl(fake, client)
    fake[1].faults["pdl_person_bulk"].extend([Fault(500), Fault(503)])
    answers = await each(person, ["a.b@g.example", "c.d@g.example"])
    assert [a["full_name"] for a in answers] == ["A B", "C D"]
    assert bulk_calls(fake[1], "pdl_person_bulk") == [2, 2, 2]


@pytest.mark.parametrize("body", ['{"status": 200}', "[]", '[{"status": 200, "data": 1}, {"nostatus": 1}]'])
async def test_malformed_pdl_bulk_bodies_fail_only_what_they_must(fake, client, body: str) -> None:
    person, _ = pdl(fake, client)
    fake[1].faults["pdl_person_bulk"].append(Fault(200, body=body))
    answers = await each(person, ["a.b@h.example", "c.d@h.example"])
    assert all(isinstance(a, ProviderUnavailableError) for a in answers), answers


async def test_a_cancelled_lookup_is_left_out_of_the_call() -> None:
    seen: list[list[int]] = []

    async def send(lookups: list[int]) -> list[int]:
        seen.append(lookups)
        return [n * 10 for n in lookups]

    batcher: MicroBatcher[int, int] = MicroBatcher(send, max_size=10, linger=0.05)
    gone = asyncio.create_task(batcher.submit(1))
    kept = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0)
    gone.cancel()
    assert await kept == 20
    assert seen == [[2]]
