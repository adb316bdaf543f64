"""Pure rules: the same person at two addresses. A lead whose name nearly equals an earlier lead's at the same
company domain is a duplicate of it (e.g. jose.alvarez@acme.com and j.alvarez@acme.com, both 'José Álvarez').
"""

from __future__ import annotations

from collections.abc import Mapping

from nameparser import HumanName
from rapidfuzz import fuzz

from coldstream_shared.events import LeadData
from discovery.scoring import plain

# rapidfuzz ratio (0-100) on the normalised names. 92 absorbs a typo or a dropped letter in a name of 12+
# characters ('jonathon smith' ~ 'jonathan smith' = 92.9) but not a nickname ('jon smith' ~ 'jonathan smith' = 78):
# two different people at one company are worse to merge than one person emailed twice is to keep.
NAME_MATCH = 92

# company domain -> [(name key, lead id)] of the leads accepted so far in the campaign.
People = dict[str, list[tuple[str, str]]]


def name_key(lead: LeadData) -> str | None:
    """'Dr. José  ÁLVAREZ Jr.' -> 'jose alvarez': first and last name, lower-case, accents stripped."""
    if lead.first_name or lead.last_name:
        first, last = lead.first_name or "", lead.last_name or ""
    elif lead.full_name:
        name = HumanName(lead.full_name)
        first, last = name.first, name.last
    else:
        return None
    key = plain(f"{first} {last}")
    return key or None


def same_person_as(lead: LeadData, people: Mapping[str, list[tuple[str, str]]]) -> str | None:
    """The lead id of an earlier lead at the same company domain with (nearly) the same name, if any."""
    key = name_key(lead)
    if key is None or not lead.company_domain:
        return None
    for other_key, lead_id in people.get(lead.company_domain, ()):
        if fuzz.ratio(key, other_key) >= NAME_MATCH:
            return lead_id
    return None


def remember(people: People, lead: LeadData, lead_id: str) -> None:
    """Add an accepted lead, so later rows of the campaign are compared with it."""
    key = name_key(lead)
    if key is not None and lead.company_domain:
        people.setdefault(lead.company_domain, []).append((key, lead_id))
