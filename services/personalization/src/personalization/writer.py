"""The port every sequence writer implements (the template writer now, the Claude writer with issue 6)."""

from __future__ import annotations

from typing import Literal, Protocol

from coldstream_shared.events import LeadData, Touch
from personalization.campaign import Campaign


class SequenceWriter(Protocol):
    """Writes a lead's whole sequence (one touch per campaign step) for one campaign."""

    writer: Literal["template", "llm"]  # as recorded on `email.generated`
    model: str
    prompt_version: str

    async def write(self, lead: LeadData, campaign: Campaign) -> list[Touch]:
        """The touches, in step order. Raises PermanentError when the campaign itself is unusable."""
        ...
