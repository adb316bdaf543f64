"""Pure rules: the one outcome every input row ends in (published, held, rejected, duplicate or excluded).

The order follows seed 000's agents: validation, duplicates within the campaign (exact on email and LinkedIn URL,
then fuzzy on name + company domain), cross-campaign exclusion, the event window, ICP scoring and its minimum tier,
then the approval gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from coldstream_shared.campaign import Icp
from coldstream_shared.events import LeadData
from coldstream_shared.ids import lead_id_for, stable_id
from discovery.exclusion import ContactFacts, Exclusion, event_window_miss, exclusion_for
from discovery.normalisation import Rejection, build_lead
from discovery.people import People, remember, same_person_as
from discovery.scoring import Score, meets, score_lead
from discovery.sources import SourceRow

OutcomeKind = Literal["published", "held", "rejected", "duplicate", "excluded"]


def row_id(campaign_id: str, source_index: int, row_number: int) -> str:
    """The id of a row that is not a lead of its own (no usable email, or a duplicate of another row)."""
    return str(stable_id("row", campaign_id, source_index, row_number))


@dataclass(frozen=True)
class Outcome:
    """What became of one row; `lead` is set for published, held and excluded rows, `score` once scored."""

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
    exclusion: Exclusion | None = None


@dataclass
class CampaignView:
    """What a row is compared with: the campaign's accepted leads so far (updated by `decide`) and known facts."""

    campaign_id: str
    icp: Icp = field(default_factory=Icp)
    seen: dict[str, str] = field(default_factory=dict)  # email -> lead id
    linkedin: dict[str, str] = field(default_factory=dict)  # canonical LinkedIn URL -> lead id
    people: People = field(default_factory=dict)
    facts: ContactFacts = field(default_factory=ContactFacts)
    hold: bool = False  # approvals.leads is manual and nobody approved yet
    today: date = field(default_factory=lambda: datetime.now(UTC).date())


def prepare(row: SourceRow, where: str) -> LeadData | Rejection:
    """The row as a normalised lead, or why it cannot be one (before looking at other rows)."""
    if row.problem:
        return Rejection("unreadable_row", f"{where}: {row.problem}")
    return build_lead(row.fields, row.extras, where)


def decide(
    row: SourceRow, lead: LeadData | Rejection, where: str, view: CampaignView, score: Score | None = None
) -> Outcome:
    """Decide one prepared row against the campaign so far (`score`: the lead's ICP score, if computed already)."""
    cid, si, rn = view.campaign_id, row.source_index, row.row_number
    if isinstance(lead, Rejection):
        return Outcome(
            "rejected", row_id(cid, si, rn), si, rn, lead.email, reason_code=lead.reason_code, reason=lead.reason
        )
    duplicate = _duplicate_of(lead, view)
    if duplicate is not None:
        code, sentence, first = duplicate
        return Outcome(
            "duplicate", row_id(cid, si, rn), si, rn, lead.email, None, code, f"{where} {sentence}", duplicate_of=first
        )
    lead_id = lead_id_for(cid, lead.email)
    view.seen[lead.email] = lead_id
    if lead.linkedin_url:
        view.linkedin[lead.linkedin_url] = lead_id
    remember(view.people, lead, lead_id)

    def excluded(code: str, sentence: str, score: Score | None = None, exclusion: Exclusion | None = None) -> Outcome:
        return Outcome(
            "excluded", lead_id, si, rn, lead.email, lead, code, f"{where}: {sentence}", None, score, exclusion
        )

    if (exclusion := exclusion_for(lead, view.facts)) is not None:
        return excluded(exclusion.reason_code, exclusion.sentence, exclusion=exclusion)
    if view.icp.event_window is not None:
        miss = event_window_miss(lead, view.icp.event_window, view.today)
        if miss is not None:
            return excluded(*miss)
    if score is None:
        score = score_lead(lead, view.icp)
    if not meets(score.tier, view.icp.min_tier):
        sentence = f"ICP score {score.score} is tier {score.tier}, below the campaign's {view.icp.min_tier}"
        return excluded("below_min_tier", sentence, score)
    return Outcome("held" if view.hold else "published", lead_id, si, rn, lead.email, lead, score=score)


def _duplicate_of(lead: LeadData, view: CampaignView) -> tuple[str, str, str] | None:
    """(reason code, sentence, first lead id) when the campaign already has this person."""
    if lead.email in view.seen:
        return "duplicate", "repeats an email address already in this campaign", view.seen[lead.email]
    if lead.linkedin_url and lead.linkedin_url in view.linkedin:
        return (
            "duplicate_linkedin",
            "repeats a LinkedIn profile already in this campaign",
            view.linkedin[lead.linkedin_url],
        )
    if (first := same_person_as(lead, view.people)) is not None:
        return "duplicate_fuzzy", "has the same name and company domain as a lead already in this campaign", first
    return None
