"""Pure rules: the one outcome every input row ends in (published, rejected, duplicate or excluded)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Literal

from coldstream_shared.events import LeadData
from coldstream_shared.ids import lead_id_for, stable_id
from discovery.normalisation import Rejection, build_lead
from discovery.sources import SourceRow

OutcomeKind = Literal["published", "rejected", "duplicate", "excluded"]


def row_id(campaign_id: str, source_index: int, row_number: int) -> str:
    """The id of a row that is not a lead of its own (no usable email, or a duplicate of another row)."""
    return str(stable_id("row", campaign_id, source_index, row_number))


@dataclass(frozen=True)
class Outcome:
    """What became of one row; `lead` is set for published and excluded rows."""

    kind: OutcomeKind
    lead_id: str
    source_index: int
    row_number: int
    email: str | None = None
    lead: LeadData | None = None
    reason_code: str | None = None
    reason: str | None = None
    duplicate_of: str | None = None


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
) -> Outcome:
    """Decide one prepared row. `seen` maps every email accepted so far in this campaign to its lead id (and is
    updated here); `suppressed` maps suppressed emails to why (unsubscribed, bounced, ...)."""
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
    lead_id = lead_id_for(campaign_id, email)
    seen[email] = lead_id
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
        )
    return Outcome("published", lead_id, si, rn, email=email, lead=lead)
