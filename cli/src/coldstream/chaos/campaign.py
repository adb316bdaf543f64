"""The chaos campaign: a CSV of distinct people (plus a few rows each stage must turn away) and a campaign file
that sends through Instantly.

Every row is a different person at a different company with its own domain, so no fuzzy same-person dedup or
domain-wide rule merges two leads by accident; the rows meant to be turned away are few and of known kinds.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# fmt: off
FIRST = (
    "Ada", "Grace", "Alan", "Linus", "Barbara", "Edsger", "Frances", "Donald", "Margaret", "Ken", "Radia",
    "Niklaus", "Katherine", "Dennis", "Sophie", "John", "Hedy", "Tim", "Lynn", "Guido", "Anita", "Bjarne", "Jean",
    "Vint", "Shafi", "Leslie", "Adele", "Ivan", "Ellen", "Fran", "Joan", "Ward", "Mary", "Claude", "Ruth",
)
LAST = (
    "Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Dijkstra", "Allen", "Knuth", "Hamilton", "Thompson",
    "Perlman", "Wirth", "Johnson", "Ritchie", "Wilson", "McCarthy", "Lamarr", "Berners", "Conway", "Rossum", "Borg",
    "Stroustrup", "Sammet", "Cerf", "Goldwasser", "Lamport", "Goldberg", "Sutherland", "Ullman", "Bilas", "Clarke",
    "Cunningham", "Keller", "Shannon", "Teitelbaum",
)
WORDS = (
    "North", "Wind", "Blue", "Harbor", "Cedar", "Summit", "Iron", "Maple", "Silver", "River", "Granite", "Falcon",
    "Amber", "Orbit", "Pine", "Signal", "Copper", "Beacon", "Delta", "Meadow", "Quartz", "Vertex", "Willow",
    "Atlas", "Lumen", "Nimbus", "Onyx", "Prism", "Tidal", "Zenith",
)
# fmt: on
TITLES = ("Head of Growth", "VP Marketing", "Growth Lead", "CMO")
COUNTRIES = ("United States", "United Kingdom", "Germany")
HEADER = ["First Name", "Last Name", "Email", "Company", "Job Title", "Website", "Country"]


@dataclass
class ChaosCampaign:
    """What the harness needs to know about the campaign it wrote."""

    campaign_id: str
    path: Path  # the campaign file
    rows: int  # data rows in the CSV
    addresses: list[str] = field(default_factory=list)  # the good leads' addresses, in row order
    unusable: dict[str, int] = field(default_factory=dict)  # kind -> rows meant to be turned away


def write_campaign(folder: Path, leads: int, seed: int) -> ChaosCampaign:
    """Write `leads.csv` (about `leads` rows) and `campaign.yaml` into `folder`."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not security
    folder.mkdir(parents=True, exist_ok=True)
    campaign_id = f"chaos-{seed}-{leads}"
    rows: list[list[str]] = []
    addresses: list[str] = []
    unusable = {"bad address": 0, "repeated row": 0, "role address": 0}
    for i in range(leads):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
        domain = f"{company.lower().replace(' ', '')}.io"
        roll = rng.random()
        if roll < 0.01 and rows:  # the same row again: discovery keeps the first
            rows.append(list(rng.choice(rows)))
            unusable["repeated row"] += 1
            continue
        if roll < 0.02:
            email = f"{first.lower()}.{last.lower()}-at-{domain}"  # no @: discovery rejects it
            unusable["bad address"] += 1
        elif roll < 0.03:
            email = f"info@{domain}"  # a role account: enrichment's verdict is 'risky'
            unusable["role address"] += 1
        else:
            email = f"{first.lower()}.{last.lower()}@{domain}"
            addresses.append(email)
        rows.append([first, last, email, company, rng.choice(TITLES), domain, rng.choice(COUNTRIES)])
    with (folder / "leads.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(campaign_document(campaign_id), sort_keys=False), encoding="utf-8")
    return ChaosCampaign(campaign_id, path, len(rows), addresses, unusable)


def campaign_document(campaign_id: str) -> dict[str, object]:
    """The campaign file's content: the sample campaign's offer and steps, sent through Instantly."""
    return {
        "id": campaign_id,
        "name": f"Chaos run {campaign_id}",
        "icp": {
            "titles": list(TITLES),
            "seniority": ["head", "vp", "director", "c_level"],
            "industries": ["software", "saas", "fintech"],
            "company_size": [20, 500],
            "locations": list(COUNTRIES),
            "min_tier": "C",
        },
        "sources": [{"type": "csv", "path": "leads.csv"}],
        "offer": {
            "product": "Coldstream Insights",
            "value_proposition": "shows which outbound messages turn into meetings, per segment, within a week",
            "call_to_action": "Worth a 15-minute look next Tuesday?",
            "proof_points": ["Teams like Northwind cut their time-to-first-meeting by a third"],
        },
        "sequence": {
            "steps": [
                {
                    "subject": "{company} and outbound that books meetings",
                    "body": "Hi {first_name},\n\n{product} {value_proposition}.\n\n{call_to_action}\n\n{sender_name}",
                },
                {
                    "subject": "Re: {company} and outbound that books meetings",
                    "delay_days": 3,
                    "body": "Hi {first_name}, a short follow-up.\n\n{sender_name}",
                },
            ]
        },
        "sending": {
            "backend": "instantly",
            "from_name": "Sam Carter",
            "from_email": "sam@coldstream.example",
            "timezone": "UTC",
            # The run bounces a share of its leads on purpose; the bounce-rate pause is not what it tests.
            "bounce_threshold": 1.0,
        },
        "approvals": {"leads": "auto", "sending": "auto"},
    }
