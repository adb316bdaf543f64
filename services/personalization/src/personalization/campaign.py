"""The part of a campaign personalization needs: its projection of `campaign.started`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from coldstream_shared.campaign import CampaignSpec, Offer, PersonalizationPolicy, Step


@dataclass(frozen=True)
class Campaign:
    """What the writers need to know about a campaign: the offer, the sequence, the sender and the policy."""

    campaign_id: str
    offer: Offer
    steps: tuple[Step, ...]
    from_name: str
    from_email: str
    sending_approval: Literal["auto", "manual"] = "auto"
    variants: int = 1
    policy: PersonalizationPolicy = field(default_factory=PersonalizationPolicy)

    @classmethod
    def from_spec(cls, campaign_id: str, spec: CampaignSpec) -> Campaign:
        """Project the campaign file carried by `campaign.started`."""
        return cls(
            campaign_id=campaign_id,
            offer=spec.offer,
            steps=tuple(spec.sequence.steps),
            from_name=spec.sending.from_name,
            from_email=spec.sending.from_email,
            sending_approval=spec.approvals.sending,
            variants=spec.sequence.variants,
            policy=spec.personalization,
        )
