"""Waterfall enrichment (Clay's model): try a field group's providers in order, stop at the first result that
passes validation, and pay only the provider that answered.

Free steps (cost 0) always run; a paid step runs only when the campaign budget can take its price. A provider
that is down (breaker open, 5xx after retries, malformed answer) or refuses the request is skipped, with the
reason kept, and the next one is tried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from enrichment.providers.resilient import ProviderRejectedError, ProviderUnavailableError
from enrichment.spending import Spend

Fields = dict[str, Any]


class Provider(Protocol):
    """One source of fields for a group; `fetch` returns None for "no match"."""

    name: str
    cost_usd: float

    async def fetch(self, query: Mapping[str, Any]) -> Fields | None:
        """Fields for the query (a lead's or a company's known data)."""
        ...


@dataclass
class Outcome:
    """What a group found (empty when nothing passed), who found it, and what happened on the way."""

    group: str
    fields: Fields = field(default_factory=dict)
    provider: str | None = None
    reasons: list[str] = field(default_factory=list)
    unavailable: list[ProviderUnavailableError] = field(default_factory=list)
    rejected: list[ProviderRejectedError] = field(default_factory=list)
    over_budget: bool = False


@dataclass
class Waterfall:
    """An ordered list of providers for one field group, with its validation rule."""

    group: str
    providers: Sequence[Provider]
    accept: Callable[[Fields], bool] = bool

    async def run(self, query: Mapping[str, Any], spend: Spend) -> Outcome:
        outcome = Outcome(self.group)
        for provider in self.providers:
            if not await spend.can_afford(provider.cost_usd):
                outcome.over_budget = True
                outcome.reasons.append(f"{self.group}: {provider.name} skipped (budget reached)")
                continue  # a cheaper provider further down may still fit
            try:
                found = await spend.call(self.group, provider.name, provider.cost_usd, partial(provider.fetch, query))
            except ProviderUnavailableError as error:
                outcome.unavailable.append(error)
                outcome.reasons.append(f"{self.group}: {error}")
                continue
            except ProviderRejectedError as error:
                outcome.rejected.append(error)
                outcome.reasons.append(f"{self.group}: {error}")
                continue
            if found and self.accept(found):
                outcome.fields, outcome.provider = found, provider.name
                outcome.reasons.append(f"{self.group}: {provider.name}")
                return outcome
            outcome.reasons.append(f"{self.group}: {provider.name} no valid result")
        return outcome


def order(available: Mapping[str, Provider], wanted: Sequence[str] | None, default: Sequence[str]) -> list[Provider]:
    """The campaign's provider order (or the default), keeping only providers this deployment has configured."""
    names = default if wanted is None else wanted
    return [available[name] for name in names if name in available]
