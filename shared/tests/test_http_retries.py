"""The HTTP retry helper against an httpx transport that answers like a flaky provider."""

import httpx
import pytest

from coldstream_shared.http import RetryableStatusError, retry_after_seconds, send_with_retries


def flaky(statuses: list[int], headers: dict[str, str] | None = None) -> tuple[httpx.AsyncClient, list[int]]:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = statuses[min(len(seen), len(statuses) - 1)]
        seen.append(status)
        return httpx.Response(status, headers=headers or {}, json={"ok": status < 400})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://provider.test"), seen


async def test_retries_429_and_5xx_then_succeeds() -> None:
    client, seen = flaky([429, 503, 200], headers={"Retry-After": "0"})
    response = await send_with_retries(lambda: client.get("/x"), base_delay=0.01)
    assert response.status_code == 200
    assert seen == [429, 503, 200]


async def test_client_errors_are_not_retried() -> None:
    client, seen = flaky([404])
    response = await send_with_retries(lambda: client.get("/x"), base_delay=0.01)
    assert response.status_code == 404
    assert seen == [404]


async def test_gives_up_after_the_attempts() -> None:
    client, seen = flaky([500])
    with pytest.raises(RetryableStatusError):
        await send_with_retries(lambda: client.get("/x"), attempts=3, base_delay=0.01, max_delay=0.02)
    assert len(seen) == 3


def test_retry_after_parses_seconds_and_dates() -> None:
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_seconds(httpx.Response(429)) is None
