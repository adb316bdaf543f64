"""ICP scoring: transparent weighted rules, renormalised over the criteria the campaign sets."""

import pytest

from coldstream_shared.campaign import Icp
from coldstream_shared.events import LeadData
from discovery.scoring import TIER_A, TIER_B, meets, score_lead, seniority_of, tier_for

FULL_ICP = Icp(
    titles=["Head of Growth", "VP Marketing"],
    seniority=["vp", "head"],
    industries=["SaaS"],
    company_size=(50, 500),
    locations=["Germany", "United States"],
)


def lead(**fields: object) -> LeadData:
    return LeadData.model_validate({"email": "a@acme.com", **fields})


PERFECT = lead(
    first_name="Ana",
    last_name="Ruiz",
    title="Head of Growth",
    company="Acme",
    company_domain="acme.com",
    linkedin_url="https://linkedin.com/in/ana",
    country="Germany",
    industry="SaaS",
    company_size=120,
)


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("Chief Executive Officer", "c_level"),
        ("CEO & Co-Founder", "c_level"),
        ("Vice President, Sales", "vp"),
        ("SVP Marketing", "vp"),
        ("Head of Growth", "head"),
        ("Marketing Director", "director"),
        ("Product Manager", "manager"),
        ("Software Engineer", "ic"),
        (None, None),
    ],
)
def test_seniority_is_inferred_from_the_title(title: str | None, level: str | None) -> None:
    assert seniority_of(title) == level


def test_a_stated_known_seniority_wins_over_the_title() -> None:
    assert seniority_of("Engineer", "C-Level") == "c_level"
    assert seniority_of("VP Sales", "something odd") == "vp"


def test_a_perfect_fit_scores_100_and_is_tier_a() -> None:
    result = score_lead(PERFECT, FULL_ICP)
    assert (result.score, result.tier) == (100, "A")
    assert set(result.breakdown) == {"title", "seniority", "industry", "company_size", "location", "completeness"}
    assert sum(result.breakdown.values()) == pytest.approx(100)


def test_a_poor_fit_is_tier_c_and_the_breakdown_says_why() -> None:
    result = score_lead(lead(title="Software Engineer", country="France", industry="Retail"), FULL_ICP)
    assert result.tier == "C"
    assert result.breakdown["title"] < 10
    assert result.breakdown["seniority"] == 0
    assert result.breakdown["industry"] == result.breakdown["location"] == result.breakdown["company_size"] == 0
    assert sum(result.breakdown.values()) == pytest.approx(result.score, abs=1)


def test_empty_criteria_are_left_out_and_the_weights_renormalised() -> None:
    result = score_lead(PERFECT, Icp(titles=["Head of Growth"]))
    assert set(result.breakdown) == {"title", "completeness"}
    assert result.breakdown == {"title": 75.0, "completeness": 25.0}  # weights 30 and 10, scaled to 100
    assert result.score == 100


def test_with_no_icp_only_completeness_counts() -> None:
    result = score_lead(lead(first_name="Ana", title="CTO", company="Acme"), Icp())
    assert set(result.breakdown) == {"completeness"}
    assert result.score == round(3 / 9 * 100)


def test_similar_titles_earn_partial_points_and_adjacent_seniority_half() -> None:
    icp = Icp(titles=["Head of Growth"], seniority=["head"])
    result = score_lead(lead(title="Director of Growth Marketing"), icp)
    assert 0 < result.breakdown["title"] < 75 * 30 / 60
    assert result.breakdown["seniority"] == pytest.approx(20 / 60 * 100 / 2, abs=0.1)


def test_location_matches_country_aliases_city_and_accents() -> None:
    icp = Icp(locations=["USA", "München"])
    assert score_lead(lead(country="United States"), icp).breakdown["location"] > 0
    assert score_lead(lead(city="Munchen"), icp).breakdown["location"] > 0
    assert score_lead(lead(country="France"), icp).breakdown["location"] == 0


def test_company_size_must_be_in_range() -> None:
    icp = Icp(company_size=(50, 500))
    assert score_lead(lead(company_size=50), icp).breakdown["company_size"] > 0
    assert score_lead(lead(company_size=501), icp).breakdown["company_size"] == 0
    assert score_lead(lead(), icp).breakdown["company_size"] == 0


def test_tiers_and_minimums() -> None:
    assert (tier_for(TIER_A), tier_for(TIER_A - 1), tier_for(TIER_B), tier_for(TIER_B - 1)) == ("A", "B", "B", "C")
    assert [meets(t, "B") for t in ("A", "B", "C")] == [True, True, False]
    assert meets("C", "C")
