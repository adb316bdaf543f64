"""Fixtures for the provider adapter tests: the local HTTP fake of ZeroBounce, Hunter and PDL, and a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from coldstream.fakes.providers import ProviderState, serve_providers


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[str, ProviderState]]:
    with serve_providers() as served:
        yield served


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=0.5) as http:
        yield http
