"""The quality gate: pure checks on a written sequence, a 0-100 score and its breakdown.

Every writer's output passes through it before anything is published. Each check earns its weight times the
share of touches that pass it. A sequence passes when its score reaches the campaign's threshold and no
*critical* check failed: a leftover placeholder, an empty email or an invented fact is never sent, whatever
the rest scores.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from coldstream_shared.events import Touch
from personalization.grounding import invented_facts
from personalization.readability import reading_ease

MAX_SUBJECT_CHARS = 80
MIN_FIRST_BODY_WORDS = 10  # the first touch must say something; follow-ups may be a short nudge
MIN_BODY_WORDS = 3
MAX_BODY_WORDS = 180
MIN_READING_EASE = 40.0  # Flesch: 60-70 is plain English; below 40 reads like a contract
MAX_LINKS = 1
DEFAULT_THRESHOLD = 70.0

# Unresolved merge fields in the styles people paste in: {x}, {{x}}, [First Name], %FIRST_NAME%, <<x>>.
PLACEHOLDER = re.compile(
    r"\{\{[^{}]*\}\}|\{[^{}]*\}|[{}]"
    r"|\[(?:[A-Z][A-Za-z]*)(?:[ _][A-Z][A-Za-z]*)*\]"
    r"|%[A-Z][A-Z_]*%"
    r"|<<[^<>]*>>"
)
# Small on purpose: phrases that read as spam in a one-to-one business email, not words like "free" that
# honest sentences ("feel free") use.
SPAM_PHRASES = (
    "act now",
    "buy now",
    "click here",
    "limited time",
    "risk-free",
    "risk free",
    "100% free",
    "no obligation",
    "guaranteed",
    "winner",
    "cash bonus",
    "$$$",
    "urgent",
    "once in a lifetime",
)
_SPAM = re.compile("|".join(rf"(?<!\w){re.escape(p)}(?!\w)" for p in SPAM_PHRASES), re.IGNORECASE)
_FOLDED_SPAM = tuple(phrase.casefold() for phrase in SPAM_PHRASES)
_LINK = re.compile(r"https?://|\bwww\.", re.IGNORECASE)


@dataclass(frozen=True)
class GateContext:
    """What the gate compares an email with: the grounding text, the lead's personal terms, the threshold."""

    grounding: str | None = None  # None: the invented-facts check is skipped (no brief to compare with)
    personal_terms: tuple[str, ...] = ()
    threshold: float = DEFAULT_THRESHOLD


@dataclass(frozen=True)
class QualityReport:
    """The gate's verdict: the score, points per check, what failed where, and whether it may be sent."""

    score: float
    breakdown: dict[str, float]
    failures: list[str] = field(default_factory=list)
    threshold: float = DEFAULT_THRESHOLD
    critical: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the sequence may be sent."""
        return self.score >= self.threshold and not self.critical

    def reason(self) -> str:
        """The failed checks, for a person reviewing a held lead."""
        return f"quality score {self.score} (threshold {self.threshold}): " + "; ".join(self.failures)


def _text(touch: Touch) -> str:
    return f"{touch.subject}\n{touch.body}"


def _placeholders(touch: Touch, _: GateContext) -> str | None:
    found = sorted({m.group(0) for m in PLACEHOLDER.finditer(_text(touch))})
    return f"unresolved placeholder(s) {', '.join(found)}" if found else None


def _not_empty(touch: Touch, _: GateContext) -> str | None:
    empty = [part for part, text in (("subject", touch.subject), ("body", touch.body)) if not text.strip()]
    return f"empty {' and '.join(empty)}" if empty else None


def _invented_facts(touch: Touch, ctx: GateContext) -> str | None:
    if ctx.grounding is None:
        return None
    found = invented_facts(_text(touch), ctx.grounding)
    return f"not in the brief or offer: {', '.join(found)}" if found else None


def _subject_length(touch: Touch, _: GateContext) -> str | None:
    size = len(touch.subject)
    return f"subject is {size} characters (max {MAX_SUBJECT_CHARS})" if size > MAX_SUBJECT_CHARS else None


def _body_length(touch: Touch, _: GateContext) -> str | None:
    words = len(touch.body.split())
    least = MIN_FIRST_BODY_WORDS if touch.step == 1 else MIN_BODY_WORDS
    if words > MAX_BODY_WORDS or words < least:
        return f"body is {words} words (allowed {least}-{MAX_BODY_WORDS})"
    return None


def _reading_ease(touch: Touch, _: GateContext) -> str | None:
    score = reading_ease(touch.body)
    if score is not None and score < MIN_READING_EASE:
        return f"reading ease {score} (min {MIN_READING_EASE}): use shorter sentences and words"
    return None


def _spam_words(touch: Touch, _: GateContext) -> str | None:
    text = _text(touch)
    # Plain substring search first: almost no email holds a phrase, and the regex (two lookarounds for each of
    # its phrases at every character) was the gate's largest cost. casefold() matches what IGNORECASE matches.
    folded = text.casefold()
    if not any(phrase in folded for phrase in _FOLDED_SPAM):
        return None
    found = sorted({m.group(0).lower() for m in _SPAM.finditer(text)})
    return f"spam trigger(s) {', '.join(repr(f) for f in found)}" if found else None


def _links(touch: Touch, _: GateContext) -> str | None:
    count = len(_LINK.findall(touch.body))
    return f"{count} links (max {MAX_LINKS})" if count > MAX_LINKS else None


def _personalised(touch: Touch, ctx: GateContext) -> str | None:
    # Only the first touch must be visibly personal; follow-ups build on it.
    if touch.step != 1:
        return None
    text = _text(touch).lower()
    if any(term.lower() in text for term in ctx.personal_terms):
        return None
    return "nothing in the first email is specific to this person or company"


Check = Callable[[Touch, GateContext], str | None]

# name -> (weight, critical, check); the weights add up to 100.
CHECKS: dict[str, tuple[float, bool, Check]] = {
    "placeholders": (20.0, True, _placeholders),
    "not_empty": (10.0, True, _not_empty),
    "invented_facts": (20.0, True, _invented_facts),
    "subject_length": (10.0, False, _subject_length),
    "body_length": (10.0, False, _body_length),
    "reading_ease": (5.0, False, _reading_ease),
    "spam_words": (10.0, False, _spam_words),
    "links": (5.0, False, _links),
    "personalization": (10.0, False, _personalised),
}


def assess(touches: Sequence[Touch], context: GateContext | None = None) -> QualityReport:
    """Score a sequence against the context (defaults: no grounding, no personal terms, threshold 70)."""
    ctx = context or GateContext()
    if not touches:
        return QualityReport(0.0, dict.fromkeys(CHECKS, 0.0), ["the sequence has no touches"], ctx.threshold, ["empty"])
    breakdown: dict[str, float] = {}
    failures: list[str] = []
    critical: list[str] = []
    for name, (weight, is_critical, check) in CHECKS.items():
        passed = 0
        for touch in touches:
            problem = check(touch, ctx)
            if problem is None:
                passed += 1
                continue
            failures.append(f"step {touch.step} {name}: {problem}")
            if is_critical:
                critical.append(name)
        breakdown[name] = round(weight * passed / len(touches), 2)
    return QualityReport(round(sum(breakdown.values()), 2), breakdown, failures, ctx.threshold, critical)
