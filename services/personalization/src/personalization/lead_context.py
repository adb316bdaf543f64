"""What a lead is written from: its campaign, the active prompt and whether it was written before, in one query.

The campaign projection and the prompt change rarely (a re-applied `campaign.started`, an activated prompt version)
yet were read and parsed for every lead: three statements in a transaction (five round trips) and the campaign's
JSON validated again each time. One fixed statement now returns their versions (the campaign's `updated_at`, the
active prompt's id) with the lead's own fact; the parsed objects are kept per version, so a change is seen by the
very next lead of every replica, with no invalidation message to miss.

Leads pulled together ask at the same moment, so their reads are coalesced the way their writes are (the shared
`GroupCommit`): one statement for every lead waiting, with the leads as arrays, instead of one each. That also
frees the lead's connection: only a batch borrows one, so the concurrency is no longer bound by the pool size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ARRAY, Text, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coldstream_shared.events import LeadVerified
from coldstream_shared.group_commit import Committed, GroupCommit
from personalization.campaign import Campaign
from personalization.prompts import BUILTIN, PromptVersion
from personalization.records import spent_usd
from personalization.store import campaigns, load_campaign, prompt_versions, sequences

# Fixed text, one array per column whatever the number of leads; `i` numbers the leads (1-based) so each gets its
# row back. A lead whose campaign is not known here yet has no row.
_VERSIONS = text(
    "SELECT t.i, c.updated_at,"
    f" EXISTS (SELECT 1 FROM {sequences.fullname} s"
    "  WHERE s.lead_id = t.lead_id AND s.campaign_id = t.campaign_id) AS done,"
    f" (SELECT p.id FROM {prompt_versions.fullname} p WHERE p.name = :prompt_name AND p.active"
    "  ORDER BY p.created_at DESC, p.id DESC LIMIT 1) AS prompt_id"
    " FROM unnest(CAST(:campaign_ids AS text[]), CAST(:lead_ids AS text[]))"
    "  WITH ORDINALITY AS t(campaign_id, lead_id, i)"
    f" JOIN {campaigns.fullname} c ON c.campaign_id = t.campaign_id"
).bindparams(bindparam("campaign_ids", type_=ARRAY(Text)), bindparam("lead_ids", type_=ARRAY(Text)))
_PROMPT = select(prompt_versions.c.name, prompt_versions.c.version, prompt_versions.c.content).where(
    prompt_versions.c.id == bindparam("id")
)
# Campaigns kept parsed; past this many (an unusual process), the cache starts over rather than grow.
MAX_CAMPAIGNS = 1000


@dataclass(frozen=True)
class LeadContext:
    """The campaign and prompt a lead is written with, whether its sequence is stored already, and (when counted)
    what the campaign's model calls have cost so far."""

    campaign: Campaign
    prompt: PromptVersion
    done: bool
    spent: float = 0.0


class LeadContexts:
    """Reads the contexts of the leads asking at the same time in one round trip, outside any transaction."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 100) -> None:
        # Autocommit: a lone SELECT needs no BEGIN and ROLLBACK around it (two round trips per lead saved).
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._campaigns: dict[str, tuple[datetime, Campaign]] = {}
        self._prompts: dict[int, PromptVersion] = {}
        self._reads: GroupCommit[tuple[LeadVerified, bool], LeadContext | None] = GroupCommit(
            self._read_batch, max_batch=max_batch
        )

    async def read(self, event: LeadVerified, *, count_spending: bool = False) -> LeadContext | None:
        """None when the campaign's `campaign.started` has not been applied here yet. `count_spending` adds the
        campaign's model spend when it has a budget (one more query per campaign, for the model writer only)."""
        return await self._reads((event, count_spending))

    async def _read_batch(self, leads: list[tuple[LeadVerified, bool]], done: Committed) -> None:
        params = {
            "campaign_ids": [event.campaign_id for event, _ in leads],
            "lead_ids": [event.lead_id for event, _ in leads],
            "prompt_name": BUILTIN.name,
        }
        async with self._engine.connect() as connection:
            rows = {row.i: row for row in await connection.execute(_VERSIONS, params)}
            spent: dict[str, float] = {}
            contexts: list[LeadContext | None] = []
            for i, (event, count_spending) in enumerate(leads, start=1):
                row = rows.get(i)
                campaign = None if row is None else await self._campaign(connection, event.campaign_id, row.updated_at)
                if row is None or campaign is None:  # not known yet (or deleted between the two statements)
                    contexts.append(None)
                    continue
                prompt = BUILTIN if row.prompt_id is None else await self._prompt(connection, row.prompt_id)
                if count_spending and campaign.policy.budget_usd is not None and event.campaign_id not in spent:
                    spent[event.campaign_id] = await spent_usd(connection, event.campaign_id)
                contexts.append(LeadContext(campaign, prompt, bool(row.done), spent.get(event.campaign_id, 0.0)))
        done(contexts)

    async def _campaign(self, connection: AsyncConnection, campaign_id: str, version: datetime) -> Campaign | None:
        cached = self._campaigns.get(campaign_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        campaign = await load_campaign(connection, campaign_id)
        if campaign is not None:
            if len(self._campaigns) >= MAX_CAMPAIGNS:
                self._campaigns.clear()
            # Kept under the version read with the lead: a newer row read here is simply parsed again next time.
            self._campaigns[campaign_id] = (version, campaign)
        return campaign

    async def _prompt(self, connection: AsyncConnection, prompt_id: int) -> PromptVersion:
        prompt = self._prompts.get(prompt_id)
        if prompt is None:
            # A version is never edited in place (a change is a new version, or outcomes could not be traced to
            # the text that produced them), so an id names one text for good.
            row = (await connection.execute(_PROMPT, {"id": prompt_id})).one()
            prompt = self._prompts[prompt_id] = PromptVersion(row.name, row.version, row.content)
        return prompt
