"""Estimated cost of a model call from its usage, with list prices per million tokens.

Prices change: these are the published list prices when this was written, an estimate for budgets and
reports, not an invoice. An unknown model is priced like the most expensive family so budgets err on the
safe side.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float

    @property
    def cache_write(self) -> float:
        return self.input * 1.25  # 5-minute cache writes cost 25% more than plain input

    @property
    def cache_read(self) -> float:
        return self.input * 0.1


# Matched by prefix, most specific first.
PRICES: tuple[tuple[str, Price], ...] = (
    ("claude-opus-4-1", Price(15.0, 75.0)),
    ("claude-opus-4", Price(15.0, 75.0)),
    ("claude-sonnet-4", Price(3.0, 15.0)),
    ("claude-3-7-sonnet", Price(3.0, 15.0)),
    ("claude-3-5-sonnet", Price(3.0, 15.0)),
    ("claude-haiku-4", Price(1.0, 5.0)),
    ("claude-3-5-haiku", Price(0.8, 4.0)),
    ("claude-3-haiku", Price(0.25, 1.25)),
)
FALLBACK = Price(15.0, 75.0)


def price_of(model: str) -> Price:
    """The price for a model id (dated suffixes like '-20250514' are fine)."""
    return next((price for prefix, price in PRICES if model.startswith(prefix)), FALLBACK)


def estimate_cost(
    model: str, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0
) -> float:
    """USD for one call; `input_tokens` excludes cached tokens, as the API reports it."""
    price = price_of(model)
    total = (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_read * price.cache_read
        + cache_write * price.cache_write
    )
    return round(total / 1_000_000, 6)
