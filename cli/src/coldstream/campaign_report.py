"""A campaign's report, computed from its events: the funnel, what replies said, and which steps, variants and
prompt versions turn into interest (seed 001's self-improvement loop).

Attribution: a reply counts for the step the prospect last received before replying (or the step the webhook
named); a lead's variant and prompt version come from its `email.generated` event. Bounces and unsubscribes are
matched to the campaign by address, since a prospect may unsubscribe through a link that names no campaign.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from coldstream.funnel import Funnel
from coldstream.stream_scan import read_to_end

POSITIVE = frozenset({"interested", "meeting_request"})
HUMAN_REPLY_EXCLUDED = frozenset({"out_of_office", "auto_reply", "bounce"})


@dataclass
class Rate:
    """Successes out of a base, as a JSON-friendly dict."""

    hits: int
    base: int

    def as_dict(self) -> dict[str, float | int]:
        return {"hits": self.hits, "base": self.base, "rate": round(self.hits / self.base, 4) if self.base else 0.0}


@dataclass
class CampaignReport:
    campaign_id: str
    funnel: Funnel = field(init=False)
    generated: dict[str, dict[str, Any]] = field(default_factory=dict)  # lead id -> variant, prompt, writer, model
    sent_steps: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    emails: dict[str, str] = field(default_factory=dict)  # address -> lead id
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)  # lead id -> latest classification
    bounced: set[str] = field(default_factory=set)
    unsubscribed: set[str] = field(default_factory=set)
    held: Counter[str] = field(default_factory=Counter)
    costs: dict[str, float] = field(default_factory=dict)  # "provider/model" -> USD, filled by the caller if known

    def __post_init__(self) -> None:
        self.funnel = Funnel(self.campaign_id)

    def visit(self, subject: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        self.funnel.feed(subject, payload)
        email = str(payload.get("email") or "").lower()
        if subject in ("lead.bounced", "lead.unsubscribed"):
            (self.bounced if subject == "lead.bounced" else self.unsubscribed).add(email)
            return
        if payload.get("campaign_id") != self.campaign_id:
            return
        lead_id = str(payload.get("lead_id"))
        if subject == "email.generated":
            self.generated[lead_id] = {
                "variant": payload.get("variant", 1),
                "prompt_version": payload.get("prompt_version"),
                "model": payload.get("model"),
                "writer": payload.get("writer"),
            }
        elif subject == "email.sent":
            self.sent_steps[lead_id].append((str(payload.get("occurred_at")), int(payload.get("step", 1))))
            self.emails[email] = lead_id
        elif subject == "reply.classified":
            self.replies[lead_id] = payload
        elif subject == "email.held":
            self.held[str(payload.get("reason_code"))] += 1

    def _step_replied(self, lead_id: str, reply: dict[str, Any]) -> int:
        if reply.get("step"):
            return int(reply["step"])
        before = [step for at, step in sorted(self.sent_steps.get(lead_id, [])) if at <= str(reply.get("occurred_at"))]
        return before[-1] if before else 1

    def as_dict(self) -> dict[str, Any]:
        sends_per_step = Counter(step for steps in self.sent_steps.values() for _, step in steps)
        human = {lead: r for lead, r in self.replies.items() if r.get("category") not in HUMAN_REPLY_EXCLUDED}
        replies_per_step = Counter(self._step_replied(lead, r) for lead, r in human.items())
        contacted = set(self.sent_steps)
        by_variant = self._group(contacted, human, "variant")
        by_prompt = self._group(contacted, human, "prompt_version")
        first_touches = sends_per_step.get(1, 0)
        bounced = {e for e in self.bounced if e in self.emails}
        unsubscribed = {e for e in self.unsubscribed if e in self.emails}
        leads = max(1, len(self.funnel.leads))
        return {
            "campaign_id": self.campaign_id,
            "funnel": self.funnel.as_dict(),
            "reply_categories": dict(Counter(r.get("category") for r in self.replies.values()).most_common()),
            "reply_rate": Rate(len(human), len(contacted)).as_dict(),
            "positive_rate": Rate(sum(r.get("category") in POSITIVE for r in human.values()), len(contacted)).as_dict(),
            "bounce_rate": Rate(len(bounced), first_touches).as_dict(),
            "unsubscribe_rate": Rate(len(unsubscribed), first_touches).as_dict(),
            "reply_rate_by_step": {
                str(step): Rate(replies_per_step.get(step, 0), sends).as_dict()
                for step, sends in sorted(sends_per_step.items())
            },
            "by_variant": by_variant,
            "by_prompt_version": by_prompt,
            "held": dict(self.held),
            "cost_usd": {k: round(v, 4) for k, v in sorted(self.costs.items())},
            "cost_per_lead_usd": round(sum(self.costs.values()) / leads, 4),
        }

    def _group(self, contacted: set[str], human: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
        groups: dict[str, dict[str, int]] = defaultdict(lambda: {"contacted": 0, "replies": 0, "positive": 0})
        for lead_id in contacted:
            group = groups[str(self.generated.get(lead_id, {}).get(key, "?"))]
            group["contacted"] += 1
            if lead_id in human:
                group["replies"] += 1
                group["positive"] += human[lead_id].get("category") in POSITIVE
        return {
            name: g | {"positive_rate": round(g["positive"] / g["contacted"], 4) if g["contacted"] else 0.0}
            for name, g in sorted(groups.items())
        }


async def campaign_report(nats_url: str, campaign_id: str, costs: dict[str, float] | None = None) -> dict[str, Any]:
    """The report of one campaign, from every stored event."""
    report = CampaignReport(campaign_id)
    report.costs = dict(costs or {})
    await read_to_end(nats_url, report.visit)
    return report.as_dict()
