"""The Apollo people-search source against a local fake with its documented shapes (real HTTP, our real client)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from coldstream.fakes.people_search import FakeApollo, person
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.errors import TransientError
from discovery.outcomes import CampaignView, decide, prepare
from discovery.people_search import ProviderRegistry
from discovery.providers import build_providers
from discovery.row_stream import open_all, rows_after
from discovery.settings import DiscoverySettings
from discovery.sources import Cursor, SourceError, SourceRow


def spec(limit: int | None = None) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "id": "ps",
            "name": "People search",
            "icp": {"titles": ["Head of Growth"], "locations": ["Germany"], "company_size": [50, 500]},
            "sources": [{"type": "provider", "provider": "apollo", "limit": limit}],
            "offer": {"product": "W", "value_proposition": "V"},
            "sequence": {"steps": [{"subject": "Hi", "body": "Hello"}]},
            "sending": {"from_name": "Sam", "from_email": "sam@sender.example"},
        }
    )


def registry(fake: FakeApollo, key: str | None = "test-key") -> ProviderRegistry:
    return build_providers(
        DiscoverySettings(apollo_base_url=fake.base_url, apollo_api_key=key, people_search_per_page=10)
    )


async def collect(rows: AsyncIterator[SourceRow]) -> list[SourceRow]:
    return [row async for row in rows]


async def test_pages_through_every_result_with_the_icp_as_filters() -> None:
    async with FakeApollo([person(i) for i in range(25)]) as fake:
        rows = await collect(rows_after(open_all(spec(), registry(fake)), Cursor()))
    assert [r.row_number for r in rows] == list(range(1, 26))
    assert [body["page"] for body in fake.requests] == [1, 2, 3]
    assert fake.requests[0]["person_titles"] == ["Head of Growth"]
    assert fake.requests[0]["organization_num_employees_ranges"] == ["50,500"]
    first = rows[0]
    assert first.fields["email"] == "person0@acme.io"
    assert first.fields["company_domain"] == "acme.io"
    assert first.extras == {"provider_id": "p0"}
    lead = prepare(first, "result 1")
    assert decide(first, lead, "result 1", CampaignView("ps", spec().icp)).kind == "published"


async def test_a_resumed_import_starts_at_the_cursor_page_and_the_limit_is_kept() -> None:
    async with FakeApollo([person(i) for i in range(40)]) as fake:
        rows = await collect(rows_after(open_all(spec(limit=35), registry(fake)), Cursor(0, 22)))
    assert [r.row_number for r in rows] == list(range(23, 36))
    assert [body["page"] for body in fake.requests] == [3, 4]


async def test_rate_limits_and_server_errors_are_retried() -> None:
    async with FakeApollo([person(i) for i in range(5)]) as fake:
        fake.fail_next(429, headers={"Retry-After": "0"})
        fake.fail_next(503)
        rows = await collect(rows_after(open_all(spec(), registry(fake)), Cursor()))
    assert len(rows) == 5
    assert len(fake.requests) == 3


async def test_a_provider_that_keeps_failing_is_retried_later_not_a_crash() -> None:
    async with FakeApollo([person(0)]) as fake:
        for _ in range(5):
            fake.fail_next(500)
        with pytest.raises(TransientError, match="page 1"):
            await collect(rows_after(open_all(spec(), registry(fake)), Cursor()))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>maintenance</html>", "not JSON"),
        ('["people"]', "without 'people'"),
        ('{"people": "none", "pagination": {}}', "without 'people'"),
    ],
)
async def test_garbage_answers_are_a_clear_campaign_error(body: str, message: str) -> None:
    async with FakeApollo([person(0)]) as fake:
        fake.fail_next(200, body=body)
        with pytest.raises(SourceError, match=message):
            await collect(rows_after(open_all(spec(), registry(fake)), Cursor()))


async def test_garbage_records_become_rows_with_a_problem() -> None:
    async with FakeApollo([person(0), "garbage", 42, {"name": "No Email"}]) as fake:
        rows = await collect(rows_after(open_all(spec(), registry(fake)), Cursor()))
    assert [r.problem is not None for r in rows] == [False, True, True, False]
    outcomes = [decide(r, prepare(r, "here"), "here", CampaignView("ps")) for r in rows]
    assert [(o.kind, o.reason_code) for o in outcomes] == [
        ("published", None),
        ("rejected", "unreadable_row"),
        ("rejected", "unreadable_row"),
        ("rejected", "missing_email"),
    ]


async def test_a_refused_key_an_unknown_provider_or_a_missing_key_is_a_campaign_error() -> None:
    async with FakeApollo([person(0)]) as fake:
        with pytest.raises(SourceError, match="refused the search \\(401\\)"):
            await collect(rows_after(open_all(spec(), registry(fake, key="wrong")), Cursor()))
        with pytest.raises(SourceError, match="not configured"):
            open_all(spec(), registry(fake, key=None))
    other = CampaignSpec.model_validate(
        spec().model_dump() | {"sources": [{"type": "provider", "provider": "zoominfo"}]}
    )
    with pytest.raises(SourceError, match="unknown people-search provider 'zoominfo' \\(registered: apollo\\)"):
        open_all(other, build_providers(DiscoverySettings()))
