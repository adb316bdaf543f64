"""Use case: decide whether a scraped lead can be mailed, learn what we can about it within budget, publish.

Order matters for cost: free checks first (syntax, lists, MX, SMTP), a paid verifier only when they left the
verdict unknown, and paid enrichment only for leads the campaign's policy lets through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from coldstream_shared.campaign import EnrichmentPolicy
from coldstream_shared.errors import TransientError
from coldstream_shared.events import LeadScraped
from coldstream_shared.group_commit import Committed, GroupCommit
from coldstream_shared.unit_of_work import UnitOfWork
from enrichment.campaigns import CampaignPolicies
from enrichment.domain_rules import apply_api, is_free_mail
from enrichment.enrichers import Enrichers
from enrichment.lead_fields import flat, merge_into_lead
from enrichment.outcome import EnrichedLead, record_all
from enrichment.spending import Spend, SpendLedger
from enrichment.verification import Verification, proceeds
from enrichment.waterfall import Waterfall, order

SERVICE = "enrichment"


class EnrichLead:
    """Verify and enrich one lead, then publish `lead.verified` or `lead.rejected`."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        policies: CampaignPolicies,
        enrichers: Enrichers,
        applied: Callable[[LeadScraped], Any],
        *,
        max_batch: int = 100,
    ) -> None:
        self._uow = unit_of_work
        self._policies = policies
        self._x = enrichers
        self._applied = applied
        self._ledger = SpendLedger(policies.spent)
        # Leads handled at once share a transaction (claim, rows, outbox): see coldstream_shared.group_commit.
        self._record: GroupCommit[EnrichedLead, None] = GroupCommit(self._store, max_batch=max_batch)

    async def __call__(self, event: LeadScraped, *, first_delivery: bool = False) -> None:
        # A redelivered event may have been applied already: then pay for nothing. A first delivery skips the
        # check (one query less per lead); a republish under a new message id is still caught by the claim.
        if not first_delivery and await self._applied(event):
            return
        stored = await self._policies.get(event.campaign_id)
        policy = stored or EnrichmentPolicy()
        spend = Spend(event.campaign_id, policy.budget_usd, self._ledger)
        # Verified before the transaction opens: network round trips must not hold a database connection.
        result = await self._x.verifier(event.lead.email)
        if stored is None:
            result = replace(result, reasons=[*result.reasons, "policy: campaign not known yet, defaults used"])
        result, refused = await self._paid_verification(result, spend)
        outcome = EnrichedLead(event, result, spend, refused=refused)
        if refused is None and proceeds(result.verdict, frozenset(policy.accept_verdicts)):
            await self._enrich(outcome, policy)
        await self._record(outcome)
        if result.normalized and self._x.patterns is not None:
            self._x.patterns.learn(result.normalized, event.lead.first_name, event.lead.last_name)

    async def _store(self, outcomes: list[EnrichedLead], committed: Committed) -> None:
        async with self._uow() as uow:
            await record_all(uow, outcomes, SERVICE)
            await uow.commit()
            committed([None] * len(outcomes))  # the leads' messages are acknowledged; their events publish next

    async def _paid_verification(self, result: Verification, spend: Spend) -> tuple[Verification, str | None]:
        """Ask the paid verifiers only when free checks could not decide (offline: never).

        Returns the verification and, when a verifier refused the address for good, why (the lead is rejected).
        Verifiers that are down make the lead come back later (TransientError) instead of deciding blind.
        """
        if result.verdict != "unknown" or not self._x.verification or self._x.verifier.offline:
            return result, None
        waterfall = Waterfall("verification", list(self._x.verification.values()), lambda f: f["verdict"] != "unknown")
        found = await waterfall.run({"email": result.normalized}, spend)
        if found.fields:
            return apply_api(result, str(found.provider), found.fields["verdict"], found.fields["reason"]), None
        if found.unavailable and not found.over_budget:
            retry = max((e.retry_in or 0.0 for e in found.unavailable), default=0.0)
            raise TransientError("; ".join(found.reasons), retry_after=max(retry, 5.0))
        checked = replace(result, reasons=[*result.reasons, *found.reasons])
        return checked, ("; ".join(found.reasons) if found.rejected else None)

    async def _enrich(self, outcome: EnrichedLead, policy: EnrichmentPolicy) -> None:
        lead, email = outcome.event.lead, outcome.result.normalized or outcome.event.lead.email
        email_domain = email.rpartition("@")[2].lower()
        company_domain = (lead.company_domain or ("" if is_free_mail(email_domain) else email_domain)).lower()
        groups = policy.providers
        steps = []
        if is_free_mail(email_domain) and lead.first_name and lead.last_name and company_domain:
            providers = order(self._x.work_email, groups.get("work_email"), ("pattern", "hunter"))
            query = {"first_name": lead.first_name, "last_name": lead.last_name, "company_domain": company_domain}
            steps.append(
                Waterfall("work_email", providers, lambda f: bool(f.get("work_email"))).run(query, outcome.spend)
            )
        if not (lead.title and lead.linkedin_url) and self._x.person:
            providers = order(self._x.person, groups.get("person"), ("pdl",))
            steps.append(
                Waterfall("person", providers, lambda f: bool(f.get("title"))).run({"email": email}, outcome.spend)
            )
        results = await asyncio.gather(*steps, self._research(company_domain, lead.website, outcome.spend, policy))
        found: dict[str, Any] = {}
        for step in results[:-1]:
            found.update(step.fields)
            outcome.reasons.extend(step.reasons)
        research = results[-1]
        if research is not None:
            found.update(research.fields)
            outcome.summary, outcome.summary_source = research.summary, research.summary_source
        outcome.enrichment = flat(found)
        outcome.lead = merge_into_lead(lead, found, email)

    async def _research(self, domain: str, website: str | None, spend: Spend, policy: EnrichmentPolicy) -> Any:
        if not domain or self._x.researcher is None:
            return None
        groups = [
            ("company", order(self._x.company, policy.providers.get("company"), ("pdl",))),
            ("website", order(self._x.website, policy.providers.get("website"), ("website",))),
        ]
        groups = [(name, providers) for name, providers in groups if providers]
        if not groups:
            return None
        max_age = timedelta(days=policy.research_max_age_days) if policy.research_max_age_days else None
        return await self._x.researcher.research(domain, website, spend, groups, max_age)
