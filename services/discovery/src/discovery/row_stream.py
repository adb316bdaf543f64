"""Every source of a campaign as one asynchronous stream of rows, resumable after the import cursor.

Files are read synchronously (they are local); provider sources page through an HTTP API. Both number their rows
so a resumed import skips what it already recorded: file rows as a person sees them, provider results in the order
the provider ranks them (page 3 of 100 starts at row 201).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from coldstream_shared.campaign import CampaignSpec, Icp, Source
from discovery.people_search import PeopleSearch, ProviderError, ProviderRegistry, flatten_person
from discovery.sources import Cursor, LeadFile, SourceError, SourceRow, open_source


@dataclass(frozen=True)
class ProviderSource:
    """A people-search query for the campaign's ICP."""

    index: int
    source: Source
    provider: PeopleSearch
    icp: Icp

    @property
    def label(self) -> str:
        return f"provider:{self.provider.name}"

    @property
    def name(self) -> str:
        return f"{self.provider.name} results"

    def estimated_rows(self) -> int | None:
        return self.source.limit  # the total is known only after the first page

    async def rows(self, after_row: int = 0) -> AsyncIterator[SourceRow]:
        per_page, limit = self.provider.per_page, self.source.limit
        try:
            async for page in self.provider.pages(self.icp, after_row // per_page + 1):
                for offset, record in enumerate(page.records, start=1):
                    number = (page.number - 1) * per_page + offset
                    if limit is not None and number > limit:
                        return
                    if number > after_row:
                        yield _row(self.index, number, record)
        except ProviderError as error:
            raise SourceError(f"sources[{self.index}] ({self.label}): {error}") from error


def _row(index: int, number: int, record: Any) -> SourceRow:
    if not isinstance(record, dict):
        return SourceRow(index, number, problem=f"result {number} is not a person record: {str(record)[:100]!r}")
    fields = flatten_person(record)
    extras = {"provider_id": fields.pop("provider_id")} if "provider_id" in fields else {}
    return SourceRow(index, number, fields, extras)


CampaignSource = LeadFile | ProviderSource


def open_all(spec: CampaignSpec, providers: ProviderRegistry | None) -> list[CampaignSource]:
    """Every source, checked before the first row is read (a SourceError names the source and the problem)."""
    opened: list[CampaignSource] = []
    for index, source in enumerate(spec.sources):
        if source.type != "provider":
            opened.append(open_source(index, source))
            continue
        if providers is None:
            raise SourceError(f"sources[{index}]: people-search providers are not configured in this service")
        try:
            opened.append(ProviderSource(index, source, providers.get(source.provider or ""), spec.icp))
        except ProviderError as error:
            raise SourceError(f"sources[{index}]: {error}") from error
    return opened


async def rows_after(sources: Iterable[CampaignSource], cursor: Cursor) -> AsyncIterator[SourceRow]:
    """Every row of every source that comes after the cursor."""
    for source in sources:
        if source.index < cursor.source_index:
            continue
        after = cursor.row_number if source.index == cursor.source_index else 0
        if isinstance(source, LeadFile):
            for row in source.rows(after):
                yield row
        else:
            async for row in source.rows(after):
                yield row


async def batched(rows: AsyncIterator[SourceRow], size: int) -> AsyncIterator[list[SourceRow]]:
    """Consecutive lists of at most `size` rows."""
    batch: list[SourceRow] = []
    async for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
