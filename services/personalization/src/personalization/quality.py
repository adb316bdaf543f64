"""The quality gate: pure checks on a written sequence, a 0-100 score and its breakdown.

Every writer's output passes through it before anything is published. Issue 6 adds the softer checks
(reading ease, personalisation present, invented facts) and a threshold; today every check is a hard one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from coldstream_shared.events import Touch

MAX_SUBJECT_CHARS = 120
MAX_BODY_WORDS = 180

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


@dataclass(frozen=True)
class QualityReport:
    """The gate's verdict: passed, the score, points per check, and what failed where."""

    score: float
    breakdown: dict[str, float]
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the sequence may be sent."""
        return not self.failures

    def reason(self) -> str:
        """The failed checks, for a person reading `lead.rejected`."""
        return "quality gate failed: " + "; ".join(self.failures)


def _placeholders(touch: Touch) -> str | None:
    found = sorted({m.group(0) for m in PLACEHOLDER.finditer(f"{touch.subject}\n{touch.body}")})
    return f"unresolved placeholder(s) {', '.join(found)}" if found else None


def _not_empty(touch: Touch) -> str | None:
    empty = [part for part, text in (("subject", touch.subject), ("body", touch.body)) if not text.strip()]
    return f"empty {' and '.join(empty)}" if empty else None


def _subject_length(touch: Touch) -> str | None:
    size = len(touch.subject)
    return f"subject is {size} characters (max {MAX_SUBJECT_CHARS})" if size > MAX_SUBJECT_CHARS else None


def _body_length(touch: Touch) -> str | None:
    words = len(touch.body.split())
    return f"body is {words} words (max {MAX_BODY_WORDS})" if words > MAX_BODY_WORDS else None


def _spam_words(touch: Touch) -> str | None:
    found = sorted({m.group(0).lower() for m in _SPAM.finditer(f"{touch.subject}\n{touch.body}")})
    return f"spam trigger(s) {', '.join(repr(f) for f in found)}" if found else None


Check = Callable[[Touch], str | None]

# name -> (weight, check); the weights add up to 100.
CHECKS: dict[str, tuple[float, Check]] = {
    "placeholders": (30.0, _placeholders),
    "not_empty": (20.0, _not_empty),
    "subject_length": (15.0, _subject_length),
    "body_length": (20.0, _body_length),
    "spam_words": (15.0, _spam_words),
}


def assess(touches: Sequence[Touch]) -> QualityReport:
    """Score a sequence: each check earns its weight times the share of touches that pass it."""
    if not touches:
        return QualityReport(0.0, dict.fromkeys(CHECKS, 0.0), ["the sequence has no touches"])
    breakdown: dict[str, float] = {}
    failures: list[str] = []
    for name, (weight, check) in CHECKS.items():
        passed = 0
        for touch in touches:
            problem = check(touch)
            if problem is None:
                passed += 1
            else:
                failures.append(f"step {touch.step} {name}: {problem}")
        breakdown[name] = round(weight * passed / len(touches), 2)
    return QualityReport(round(sum(breakdown.values()), 2), breakdown, failures)
