"""Pure rules: how well a lead fits the campaign's ICP, as a 0-100 score, a tier and the points of every rule.

Each rule gives a fit between 0 and 1 and has a weight (WEIGHTS). A rule whose ICP criterion is empty says nothing
about fit, so it is left out and the remaining weights are scaled to add up to 100; data completeness always counts.
The breakdown holds each rule's points after that scaling, so its values add up to the score (give or take rounding).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz

from coldstream_shared.campaign import Icp
from coldstream_shared.events import LeadData

Tier = Literal["A", "B", "C"]

# Who the person is weighs most; the company next; completeness only breaks ties between similar leads.
WEIGHTS: dict[str, float] = {
    "title": 30,
    "seniority": 20,
    "industry": 15,
    "location": 15,
    "company_size": 10,
    "completeness": 10,
}
TIER_A = 70  # score >= 70: fits on most criteria
TIER_B = 45  # score >= 45: fits on about half; below is C
TIER_RANK: dict[str, int] = {"A": 3, "B": 2, "C": 1}

# token_set_ratio scores 100 when one title's words contain the other's ("VP Growth" in "VP Growth EMEA"); below
# TITLE_FLOOR two titles share little more than filler words, so the fit rises linearly from the floor to TITLE_FULL.
TITLE_FLOOR = 50
TITLE_FULL = 90
INDUSTRY_MATCH = 85  # token_set_ratio for "SaaS" ~ "Software / SaaS", not "Retail" ~ "Real estate"

# The ladder, most senior first; one rung away from a wanted level earns half the points.
SENIORITY_LADDER = ("c_level", "vp", "head", "director", "manager", "ic")
_SENIORITY_ALIASES = {
    "c_suite": "c_level",
    "clevel": "c_level",
    "cxo": "c_level",
    "executive": "c_level",
    "owner": "c_level",
    "founder": "c_level",
    "vice_president": "vp",
    "individual_contributor": "ic",
    "senior": "ic",
    "entry": "ic",
}
_SENIORITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("c_level", re.compile(r"\b(chief|c[etfomri]o|cpo|ciso|founder|cofounder|owner|(?<!vice )president)\b")),
    ("vp", re.compile(r"\b(vp|svp|evp|avp|vice president)\b")),
    ("head", re.compile(r"\bhead\b")),
    ("director", re.compile(r"\bdirector\b")),
    ("manager", re.compile(r"\b(manager|team lead)\b")),
)
# Fields that make a lead usable downstream (personalisation, verification, routing).
USEFUL_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "company",
    "company_domain",
    "linkedin_url",
    "country",
    "industry",
    "company_size",
)
_COUNTRY_ALIASES = {
    "us": "united states",
    "usa": "united states",
    "united states of america": "united states",
    "uk": "united kingdom",
    "gb": "united kingdom",
    "great britain": "united kingdom",
    "england": "united kingdom",
    "deutschland": "germany",
    "de": "germany",
    "fr": "france",
}


@dataclass(frozen=True)
class Score:
    """A lead's fit: 0-100, its tier, and the points each rule contributed."""

    score: int
    tier: Tier
    breakdown: dict[str, float]


@lru_cache(maxsize=65_536)  # titles, industries and countries repeat across a file
def plain(text: str | None) -> str:
    """Lower-case, accents stripped, punctuation to spaces, whitespace collapsed: 'José-Álvarez ' -> 'jose alvarez'."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", ascii_only.lower()).split())


@lru_cache(maxsize=65_536)
def seniority_of(title: str | None, stated: str | None = None) -> str | None:
    """The seniority level: the stated one when it is a known level, else inferred from the title."""
    if stated and (level := normalise_seniority(stated)) in SENIORITY_LADDER:
        return level
    text = plain(title).replace("co founder", "cofounder")
    if not text:
        return None
    for level, pattern in _SENIORITY_PATTERNS:
        if pattern.search(text):
            return level
    return "ic"


@lru_cache(maxsize=4096)
def normalise_seniority(value: str) -> str:
    """'C-Level' -> 'c_level', 'Vice President' -> 'vp'."""
    key = plain(value).replace(" ", "_")
    return _SENIORITY_ALIASES.get(key, key)


def tier_for(score: int) -> Tier:
    """A >= TIER_A, B >= TIER_B, else C."""
    return "A" if score >= TIER_A else "B" if score >= TIER_B else "C"


def meets(tier: Tier, min_tier: Tier) -> bool:
    """Whether a tier is at least the campaign's minimum."""
    return TIER_RANK[tier] >= TIER_RANK[min_tier]


def score_lead(lead: LeadData, icp: Icp) -> Score:
    """Score one lead against the ICP; rules with an empty criterion are left out and the weights renormalised."""
    fits: dict[str, float] = {"completeness": _completeness(lead)}
    # The fits are memoised on (value, criterion) with the criterion as a tuple: titles and industries repeat.
    if icp.titles:
        fits["title"] = _title_fit(lead.title, tuple(icp.titles))
    if icp.seniority:
        fits["seniority"] = _seniority_fit(seniority_of(lead.title, lead.seniority), tuple(icp.seniority))
    if icp.industries:
        fits["industry"] = _industry_fit(lead.industry, tuple(icp.industries))
    if icp.company_size is not None:
        low, high = icp.company_size
        fits["company_size"] = 1.0 if lead.company_size is not None and low <= lead.company_size <= high else 0.0
    if icp.locations:
        fits["location"] = _location_fit(lead, _places(tuple(icp.locations)))
    total = sum(WEIGHTS[rule] for rule in fits)
    breakdown = {rule: round(WEIGHTS[rule] * fit * 100 / total, 1) for rule, fit in fits.items()}
    score = max(0, min(100, round(sum(WEIGHTS[rule] * fit for rule, fit in fits.items()) * 100 / total)))
    return Score(score, tier_for(score), breakdown)


@lru_cache(maxsize=65_536)
def _title_fit(title: str | None, wanted: tuple[str, ...]) -> float:
    text = plain(title)
    if not text:
        return 0.0
    best = max(fuzz.token_set_ratio(text, plain(w)) for w in wanted)
    return min(1.0, max(0.0, (best - TITLE_FLOOR) / (TITLE_FULL - TITLE_FLOOR)))


@lru_cache(maxsize=1024)
def _seniority_fit(level: str | None, wanted: tuple[str, ...]) -> float:
    if level is None:
        return 0.0
    rungs = [SENIORITY_LADDER.index(w) for w in map(normalise_seniority, wanted) if w in SENIORITY_LADDER]
    if not rungs:
        return 0.0
    distance = min(abs(SENIORITY_LADDER.index(level) - rung) for rung in rungs)
    return 1.0 if distance == 0 else 0.5 if distance == 1 else 0.0


@lru_cache(maxsize=65_536)
def _industry_fit(industry: str | None, wanted: tuple[str, ...]) -> float:
    text = plain(industry)
    if not text:
        return 0.0
    return 1.0 if max(fuzz.token_set_ratio(text, plain(w)) for w in wanted) >= INDUSTRY_MATCH else 0.0


def _place(value: str | None) -> str:
    text = plain(value)
    return _COUNTRY_ALIASES.get(text, text)


@lru_cache(maxsize=1024)
def _places(wanted: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_place(w) for w in wanted) - {""}


def _location_fit(lead: LeadData, wanted: frozenset[str]) -> float:
    return 1.0 if _place(lead.country) in wanted or _place(lead.city) in wanted else 0.0


def _completeness(lead: LeadData) -> float:
    present = sum(1 for name in USEFUL_FIELDS if getattr(lead, name) not in (None, ""))
    return present / len(USEFUL_FIELDS)
