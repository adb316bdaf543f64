"""What a lead is written from: its campaign, the active prompt and whether it was written before, in one query.

The campaign projection and the prompt change rarely (a re-applied `campaign.started`, an activated prompt version)
yet were read and parsed for every lead: three statements in a transaction (five round trips) and the campaign's
JSON validated again each time. One fixed statement now returns their versions (the campaign's `updated_at`, the
active prompt's id) with the lead's own fact; the parsed objects are kept per version, so a change is seen by the
very next lead of every replica, with no invalidation message to miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from coldstream_shared.events import LeadVerified
from personalization.campaign import Campaign
from personalization.prompts import BUILTIN, PromptVersion
from personalization.records import spent_usd
from personalization.store import campaigns, load_campaign, prompt_versions, sequences

# Built once: SQLAlchemy then finds the compiled form in its cache instead of building and compiling per lead.
_DONE = (
    select(sequences.c.lead_id)
    .where(sequences.c.lead_id == bindparam("lead_id"), sequences.c.campaign_id == campaigns.c.campaign_id)
    .exists()
)
_ACTIVE_PROMPT = (
    select(prompt_versions.c.id)
    .where(prompt_versions.c.name == bindparam("prompt_name"), prompt_versions.c.active.is_(True))
    .order_by(prompt_versions.c.created_at.desc(), prompt_versions.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
_VERSIONS = select(campaigns.c.updated_at, _DONE.label("done"), _ACTIVE_PROMPT.label("prompt_id")).where(
    campaigns.c.campaign_id == bindparam("campaign_id")
)
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
    """Reads a lead's context in one round trip, outside any transaction (it emits nothing)."""

    def __init__(self, engine: AsyncEngine) -> None:
        # Autocommit: a lone SELECT needs no BEGIN and ROLLBACK around it (two round trips per lead saved).
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._campaigns: dict[str, tuple[datetime, Campaign]] = {}
        self._prompts: dict[int, PromptVersion] = {}

    async def read(self, event: LeadVerified, *, count_spending: bool = False) -> LeadContext | None:
        """None when the campaign's `campaign.started` has not been applied here yet. `count_spending` adds the
        campaign's model spend when it has a budget (one more query, for the model writer only)."""
        async with self._engine.connect() as connection:
            params = {"campaign_id": event.campaign_id, "lead_id": event.lead_id, "prompt_name": BUILTIN.name}
            row = (await connection.execute(_VERSIONS, params)).first()
            if row is None:
                return None
            campaign = await self._campaign(connection, event.campaign_id, row.updated_at)
            if campaign is None:  # deleted between the two statements: treated as not known yet
                return None
            prompt = BUILTIN if row.prompt_id is None else await self._prompt(connection, row.prompt_id)
            counted = count_spending and campaign.policy.budget_usd is not None
            spent = await spent_usd(connection, event.campaign_id) if counted else 0.0
        return LeadContext(campaign, prompt, bool(row.done), spent)

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
