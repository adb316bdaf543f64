"""Flesch reading ease with pyphen syllable counts (textstat needs downloaded data; pyphen ships its patterns)."""

from __future__ import annotations

import re
from functools import lru_cache

import pyphen

_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)|\n\s*\n")


@lru_cache(maxsize=1)
def _dictionary() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="en_US")


# Emails share most of their words (the templates, the offer): pyphen's pure-Python lookup ran for each of them on
# every lead.
@lru_cache(maxsize=16_384)
def syllables(word: str) -> int:
    """Hyphenation points plus one: close enough to spoken syllables for a readability score."""
    return len(_dictionary().positions(word.lower())) + 1


def reading_ease(text: str) -> float | None:
    """206.835 - 1.015 * words/sentence - 84.6 * syllables/word; None when the text has no words."""
    words = _WORD.findall(text)
    if not words:
        return None
    sentences = max(1, len([part for part in _SENTENCE_END.split(text) if _WORD.search(part)]))
    syllable_count = sum(syllables(word) for word in words)
    return round(206.835 - 1.015 * len(words) / sentences - 84.6 * syllable_count / len(words), 1)
