"""Pure rules: the one outcome every input row ends in (published, rejected, duplicate or excluded)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Literal

from coldstream_shared.campaign import Icp
from coldstream_shared.events import LeadData
from coldstream_shared.ids import lead_id_for, stable_id
from discovery.normalisation import Rejection, build_lead
from discovery.people import People, remember, same_person_as
from discovery.scoring import Score, meets, score_lead
from discovery.sources import SourceRow

OutcomeKind = Literal["published", "rejected", "duplicate", "excluded"]


def row_id(campaign_id: str, source_index: int, row_number: int) -> str:
    """The id of a row that is not a lead of its own (no usable email, or a duplicate of another row)."""
    return str(stable_id("row", campaign_id, source_index, row_number))


@dataclass(frozen=True)
class Outcome:
    """What became of one row; `lead` (and `score`) are set for published and excluded rows."""

    kind: OutcomeKind
    lead_id: str
    source_index: int
    row_number: int
    email: str | None = None
    lead: LeadData | None = None
    reason_code: str | None = None
    reason: str | None = None
    duplicate_of: str | None = None
    score: Score | None = None


def prepare(row: SourceRow, where: str) -> LeadData | Rejection:
    """The row as a normalised lead, or why it cannot be one (before looking at other rows)."""
    if row.problem:
        return Rejection("unreadable_row", f"{where}: {row.problem}")
    return build_lead(row.fields, row.extras, where)


def decide(
    campaign_id: str,
    row: SourceRow,
    lead: LeadData | Rejection,
    where: str,
    seen: MutableMapping[str, str],
    suppressed: Mapping[str, str],
    people: People | None = None,
    icp: Icp | None = None,
) -> Outcome:
    """Decide one prepared row. `seen` maps every email accepted so far in this campaign to its lead id and
    `people` every accepted lead's company domain to (name key, lead id) (both updated here); `suppressed` maps
    suppressed emails to why (unsubscribed, bounced, ...). Leads scoring below `icp.min_tier` are excluded."""
    people = {} if people is None else people
    icp = icp or Icp()
    si, rn = row.source_index, row.row_number
    if isinstance(lead, Rejection):
        return Outcome(
            "rejected",
            row_id(campaign_id, si, rn),
            si,
            rn,
            email=lead.email,
            reason_code=lead.reason_code,
            reason=lead.reason,
        )
    email = lead.email
    if email in seen:
        return Outcome(
            "duplicate",
            row_id(campaign_id, si, rn),
            si,
            rn,
            email=email,
            reason_code="duplicate",
            reason=f"{where} repeats an email address already in this campaign",
            duplicate_of=seen[email],
        )
    if (first := same_person_as(lead, people)) is not None:
        return Outcome(
            "duplicate",
            row_id(campaign_id, si, rn),
            si,
            rn,
            email=email,
            reason_code="duplicate_fuzzy",
            reason=f"{where} has the same name and company domain as a lead already in this campaign",
            duplicate_of=first,
        )
    lead_id = lead_id_for(campaign_id, email)
    seen[email] = lead_id
    remember(people, lead, lead_id)
    score = score_lead(lead, icp)
    if email in suppressed:
        return Outcome(
            "excluded",
            lead_id,
            si,
            rn,
            email=email,
            lead=lead,
            reason_code="suppressed",
            reason=f"{where}: the address is suppressed ({suppressed[email]})",
            score=score,
        )
    if not meets(score.tier, icp.min_tier):
        return Outcome(
            "excluded",
            lead_id,
            si,
            rn,
            email=email,
            lead=lead,
            reason_code="below_min_tier",
            reason=f"{where}: ICP score {score.score} is tier {score.tier}, below the campaign's {icp.min_tier}",
            score=score,
        )
    return Outcome("published", lead_id, si, rn, email=email, lead=lead, score=score)
