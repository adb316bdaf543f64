"""Paid provider adapters against a local HTTP fake with the documented shapes: retries, Retry-After, timeouts,
malformed bodies, permanent refusals, and the circuit breaker opening and closing."""

from __future__ import annotations

import time

import httpx
import pytest

from coldstream.fakes.providers import Fault, ProviderState
from coldstream_shared.resilience import AsyncLimiter, CircuitBreaker
from enrichment.providers.pdl import PdlCompany, PdlPerson
from enrichment.providers.resilient import ProviderRejectedError, ProviderUnavailableError, ResilientProvider
from enrichment.providers.zerobounce import ZeroBounceVerifier


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def zerobounce(
    fake: tuple[str, ProviderState], client: httpx.AsyncClient, clock: Clock | None = None, key: str = "zb-key"
):
    url, state = fake
    state.faults.clear()
    breaker = CircuitBreaker("zerobounce", failure_threshold=2, reset_after=30.0, clock=clock or time.monotonic)
    http = ResilientProvider(
        "zerobounce", client, limiter=AsyncLimiter(100, 1), breaker=breaker, attempts=3, base_delay=0.01, max_delay=2
    )
    return ZeroBounceVerifier(http, key, url, 0.008), breaker


@pytest.mark.parametrize(
    ("email", "verdict"),
    [
        ("ok@a.example", "safe"),
        ("invalid@a.example", "invalid"),
        ("catchall@a.example", "catch_all"),
        ("trap@a.example", "invalid"),
        ("role@a.example", "risky"),
        ("unknown@a.example", "unknown"),
    ],
)
async def test_zerobounce_statuses_map_to_verdicts(fake, client, email: str, verdict: str) -> None:
    verifier, _ = zerobounce(fake, client)
    assert (await verifier.fetch({"email": email}))["verdict"] == verdict


async def test_429_with_retry_after_is_waited_out_then_retried(fake, client) -> None:
    verifier, _ = zerobounce(fake, client)
    state = fake[1]
    state.faults["zerobounce"].append(Fault(429, {"Retry-After": "1"}))
    started = time.monotonic()
    assert (await verifier.fetch({"email": "after429@a.example"}))["verdict"] == "safe"
    assert state.calls[("zerobounce", "after429@a.example")] == 2
    assert time.monotonic() - started >= 0.9, "the provider asked for a one-second pause"


async def test_500s_are_retried_until_one_succeeds(fake, client) -> None:
    verifier, breaker = zerobounce(fake, client)
    fake[1].faults["zerobounce"].extend([Fault(500), Fault(503)])
    assert (await verifier.fetch({"email": "flaky@a.example"}))["verdict"] == "safe"
    assert fake[1].calls[("zerobounce", "flaky@a.example")] == 3
    assert breaker.state == "closed"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault(500), "answered 500"),
        (Fault(delay=2.0), "ReadTimeout"),
        (Fault(200, body="<html>not json"), "malformed response"),
        (Fault(200, body='{"status": "valid?"}'), "malformed response"),
        (Fault(401), "check the API key"),
    ],
)
async def test_failures_after_retries_are_unavailable(fake, client, fault: Fault, message: str) -> None:
    verifier, breaker = zerobounce(fake, client)
    fake[1].faults["zerobounce"].extend([fault] * 3)
    with pytest.raises(ProviderUnavailableError, match=message):
        await verifier.fetch({"email": f"fail-{message[:5]}@a.example"})
    assert breaker.state == "closed", "one failed call is not enough to open the breaker"


async def test_in_band_key_error_is_unavailable_not_a_verdict(fake, client) -> None:
    verifier, breaker = zerobounce(fake, client, key="wrong")
    with pytest.raises(ProviderUnavailableError, match="ran out of credits"):
        await verifier.fetch({"email": "x@a.example"})
    with pytest.raises(ProviderUnavailableError, match="ran out of credits"):
        await verifier.fetch({"email": "y@a.example"})
    # The 200 carrying the error is not a success: two in a row reach the threshold (it used to reset to one).
    assert breaker.state == "open"


async def test_a_4xx_is_a_permanent_refusal(fake, client) -> None:
    verifier, breaker = zerobounce(fake, client)
    fake[1].faults["zerobounce"].append(Fault(400))
    with pytest.raises(ProviderRejectedError, match="answered 400"):
        await verifier.fetch({"email": "bad@a.example"})
    assert fake[1].calls[("zerobounce", "bad@a.example")] == 1, "a refusal is not retried"
    assert breaker.state == "closed"


async def test_breaker_opens_skips_fast_then_closes_after_a_good_trial(fake, client) -> None:
    clock = Clock()
    verifier, breaker = zerobounce(fake, client, clock)
    state = fake[1]
    state.faults["zerobounce"].extend([Fault(503)] * 6)
    for _ in range(2):
        with pytest.raises(ProviderUnavailableError):
            await verifier.fetch({"email": "dead@a.example"})
    assert breaker.state == "open"
    calls = state.calls[("zerobounce", "dead@a.example")]
    with pytest.raises(ProviderUnavailableError, match="circuit open") as skipped:
        await verifier.fetch({"email": "dead@a.example"})
    assert state.calls[("zerobounce", "dead@a.example")] == calls, "an open breaker makes no call"
    assert skipped.value.retry_in == pytest.approx(30.0)

    clock.now += 31  # cool-down over: one trial call goes out and succeeds
    state.faults["zerobounce"].clear()
    assert (await verifier.fetch({"email": "dead@a.example"}))["verdict"] == "safe"
    assert breaker.state == "closed"


async def test_pdl_person_and_company_shapes_and_not_found(fake, client) -> None:
    url, state = fake
    state.faults.clear()
    http = ResilientProvider("pdl", client, limiter=AsyncLimiter(100, 1), breaker=CircuitBreaker("pdl"), attempts=2)
    person = await PdlPerson(http, "k", url, 0.28).fetch({"email": "jane.doe@acme.example"})
    assert person == {
        "title": "head of growth",
        "seniority": "director",
        "linkedin_url": "linkedin.com/in/jane-doe",
        "full_name": "Jane Doe",
        "country": "germany",
    }
    assert await PdlPerson(http, "k", url, 0.28).fetch({"email": "nobody@acme.example"}) is None
    company = await PdlCompany(http, "k", url, 0.1).fetch({"domain": "acme.example"})
    assert company is not None
    assert (company["company_size"], company["revenue_range"], company["founded_year"]) == (120, "$10M-$25M", 2015)
