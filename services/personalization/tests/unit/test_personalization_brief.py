"""The research brief holds only facts we have; limits and prices are set up as configured."""

from __future__ import annotations

import pytest

from coldstream_shared.campaign import Offer, PersonalizationPolicy, Step
from coldstream_shared.events import LeadData
from personalization.brief import build_brief, grounding_text
from personalization.campaign import Campaign
from personalization.costs import estimate_cost, price_of
from personalization.limits import ModelGate, ModelLimits
from personalization.variants import chosen_variant

CAMPAIGN = Campaign(
    campaign_id="c-brief",
    offer=Offer(
        product="Acme Reports",
        value_proposition="weekly reports in one click",
        proof_points=["cut reporting time by 40% at Initech"],
        pain_points=["Monday mornings lost to spreadsheets"],
    ),
    steps=(Step(subject="Idea for {company}", body="Hi {first_name}"),),
    from_name="Dana",
    from_email="dana@acme.test",
    policy=PersonalizationPolicy(personas=["Head of Operations at a logistics firm"]),
)


def test_the_brief_holds_the_known_facts_and_nothing_else() -> None:
    lead = LeadData(email="jo@globex.test", first_name="Jo", company="Globex", title="[Title]", city=None)
    enrichment = {"employees_estimate": 120, "enrichment_cost_usd": 0.02, "provider": "pdl", "founded": 2011}
    brief = build_brief(lead, CAMPAIGN, enrichment, company_summary="Globex ships parcels across Europe.")
    text = brief.as_text()
    assert "- First name: Jo" in text
    assert "- Company: Globex" in text
    assert "- Summary: Globex ships parcels across Europe." in text
    assert "- employees estimate: 120" in text
    assert "- founded: 2011" in text
    assert "Title" not in text  # a placeholder value is not a fact
    assert "City" not in text  # a missing field is absent, never guessed
    assert "cost" not in text
    assert "pdl" not in text  # plumbing, not facts
    assert "Pain point we solve: Monday mornings lost to spreadsheets" in text
    assert "Persona we write to: Head of Operations at a logistics firm" in text
    assert "Proof point: cut reporting time by 40% at Initech" in text
    assert brief.personal_terms == ("Jo", "Globex")
    assert "Idea for {company}" in grounding_text(brief, CAMPAIGN)


def test_long_values_are_clipped() -> None:
    brief = build_brief(LeadData(email="a@b.test"), CAMPAIGN, company_summary="word " * 200)
    summary = next(line for line in brief.company if line.startswith("Summary"))
    assert len(summary) < 320


@pytest.mark.parametrize(("rpm", "capacity", "period"), [(60, 1.0, 1.0), (30, 1.0, 2.0), (1000, 1000 / 60, 1.0)])
def test_the_request_bucket_holds_one_second_at_least_one_request(rpm: float, capacity: float, period: float) -> None:
    limiter = ModelGate(ModelLimits(requests_per_minute=rpm))._requests
    assert limiter is not None
    assert limiter.max_rate == pytest.approx(capacity)
    assert limiter.time_period == pytest.approx(period)


async def test_a_call_bigger_than_the_token_bucket_waits_instead_of_failing() -> None:
    gate = ModelGate(ModelLimits(requests_per_minute=None, tokens_per_minute=1000))
    async with gate.call(estimated_tokens=5000):
        pass


def test_prices_by_model_family_and_cache_discounts() -> None:
    assert price_of("claude-sonnet-4-6").input == 3.0
    assert price_of("claude-unknown-9").input == 15.0  # unknown: priced high, budgets err on the safe side
    plain = estimate_cost("claude-sonnet-4-6", 1000, 500)
    cached = estimate_cost("claude-sonnet-4-6", 100, 500, cache_read=900)
    assert plain == pytest.approx((1000 * 3 + 500 * 15) / 1e6)
    assert cached < plain


def test_variants_are_spread_evenly_and_stable() -> None:
    picks = [chosen_variant(f"lead-{n}", 3) for n in range(3000)]
    assert set(picks) == {1, 2, 3}
    assert all(800 < picks.count(v) < 1200 for v in (1, 2, 3))
    assert chosen_variant("lead-7", 3) == chosen_variant("lead-7", 3)
    assert chosen_variant("lead-7", 1) == 1
