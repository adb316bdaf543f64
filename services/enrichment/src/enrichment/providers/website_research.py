"""The free company-website step: fetch the home page safely, keep a short summary and technology hints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from enrichment.html_text import summarize, tech_stack
from enrichment.providers.resilient import ProviderRejectedError, ProviderUnavailableError
from enrichment.website import FetchFailedError, FetchRefusedError, WebsiteFetcher


class WebsiteResearch:
    """A `Provider` for the website group (no cost: our own fetch)."""

    name = "website"
    cost_usd = 0.0

    def __init__(self, fetcher: WebsiteFetcher) -> None:
        self._fetcher = fetcher

    async def fetch(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            page = await self._fetcher.fetch(str(query["website"]))
        except FetchRefusedError as error:
            raise ProviderRejectedError(self.name, str(error)) from error
        except FetchFailedError as error:
            raise ProviderUnavailableError(self.name, str(error)) from error
        summary = summarize(page.html)
        if not summary:
            return None
        stack = tech_stack(page.html)
        return {"summary": summary, "summary_source": page.url, **({"tech_stack": ", ".join(stack)} if stack else {})}
