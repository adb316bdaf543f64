"""No invented facts: every name, number and capitalised term in an email must appear in what we know.

A heuristic, deliberately strict: numbers (figures, percentages, amounts) and capitalised words inside a sentence
(names of people, companies, products, places) are looked up in the grounding text (brief + offer + templates).
A capitalised word that begins a sentence is checked only when it is not an ordinary English word (a word list
from `english-words`, with simple inflections stripped), because ordinary sentences begin with capitals too; a
name that is also a word ("Umbrella Corp") is still caught by its other capitalised words. What the model may say
in lower case (a claim without a name or a number) is beyond a word check; the prompt forbids it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from english_words import get_english_words_set

# Capitalised words that are never facts: pronouns, greetings, sign-offs, days and months.
COMMON = frozenset(
    {
        *("i", "i'm", "i'd", "i've", "i'll", "hi", "hello", "hey", "dear", "thanks", "thank", "best", "cheers"),
        *("regards", "kind", "warm", "ps", "p.s", "re", "fwd", "ok", "mr", "mrs", "ms", "dr", "q1", "q2", "q3", "q4"),
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("january", "february", "march", "april", "may", "june", "july", "august", "september", "october"),
        *("november", "december"),
    }
)
_NUMBER = re.compile(r"(?<![\w.])[$€£]?\d[\d,.]*(?:%|[kKmMbB]\b)?")
_CAPITALISED = re.compile(r"\b[A-Z][\w&'\u2019.-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*|[\"“(]\s*)$")
_TRAILING = re.compile(r"(?:['\u2019]s|[.'\u2019-])+$")


_SUFFIXES = ("ing", "ed", "es", "s", "ly", "d")


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    return frozenset(get_english_words_set(["web2", "gcide"], lower=True, alpha=True))


def is_english_word(word: str) -> bool:
    """Whether a word (any case, possibly inflected: 'noticed', 'teams') is an ordinary English word."""
    key = word.lower()
    words = _english()
    return key in words or any(key.endswith(end) and key[: -len(end)] in words for end in _SUFFIXES)


def _normalise_number(token: str) -> str:
    return token.strip("$€£").rstrip(".,").replace(",", "").lower()


@lru_cache(maxsize=256)
def _known(grounding: str) -> tuple[frozenset[str], frozenset[str]]:
    words = frozenset(_TRAILING.sub("", w).lower() for w in re.findall(r"[\w&'\u2019.-]+", grounding))
    numbers = frozenset(_normalise_number(n) for n in _NUMBER.findall(grounding))
    return words, numbers


def _word_known(word: str, known: frozenset[str]) -> bool:
    key = _TRAILING.sub("", word).lower()
    return not key or key in COMMON or key in known


def invented_facts(text: str, grounding: str) -> list[str]:
    """The names and numbers in `text` that the grounding text does not contain, in order of appearance."""
    known_words, known_numbers = _known(grounding)
    found: list[str] = []
    for match in _NUMBER.finditer(text):
        if _normalise_number(match.group(0)) not in known_numbers:
            found.append(match.group(0).rstrip(".,"))
    for match in _CAPITALISED.finditer(text):
        word = match.group(0)
        if _word_known(word, known_words):
            continue
        if _SENTENCE_START.search(text[: match.start()]) and is_english_word(_TRAILING.sub("", word)):
            continue  # "Noticed ...", "Teams ...": an ordinary word that starts a sentence
        found.append(_TRAILING.sub("", word))
    return list(dict.fromkeys(found))
