"""The quality gate on crafted good and bad sequences."""

from __future__ import annotations

import pytest

from coldstream_shared.events import Touch
from personalization.quality import CHECKS, MAX_BODY_WORDS, assess

GOOD = Touch(
    step=1,
    subject="Jo, a quick idea for Globex",
    body="Hi Jo,\n\nAcme Reports turns your weekly numbers into one email.\n\nWorth a chat?\n\nDana",
)


def test_good_sequence_passes_with_full_marks() -> None:
    report = assess([GOOD, GOOD.model_copy(update={"step": 2})])
    assert report.passed
    assert report.score == 100
    assert set(report.breakdown) == set(CHECKS)
    assert sum(weight for weight, _ in CHECKS.values()) == 100


@pytest.mark.parametrize(
    ("touch", "check", "detail"),
    [
        (GOOD.model_copy(update={"body": "Hi {first_name}, hello"}), "placeholders", "{first_name}"),
        (GOOD.model_copy(update={"subject": "For {{company}}"}), "placeholders", "{{company}}"),
        (GOOD.model_copy(update={"body": "Hi [First Name], hello"}), "placeholders", "[First Name]"),
        (GOOD.model_copy(update={"body": "Hi %FIRST_NAME%, hello"}), "placeholders", "%FIRST_NAME%"),
        (GOOD.model_copy(update={"subject": "  "}), "not_empty", "empty subject"),
        (GOOD.model_copy(update={"body": ""}), "not_empty", "empty body"),
        (GOOD.model_copy(update={"subject": "x" * 121}), "subject_length", "121 characters"),
        (GOOD.model_copy(update={"body": "word " * (MAX_BODY_WORDS + 1)}), "body_length", "181 words"),
        (GOOD.model_copy(update={"body": "Act now: CLICK HERE for a guaranteed win"}), "spam_words", "click here"),
    ],
)
def test_bad_touch_fails_the_named_check(touch: Touch, check: str, detail: str) -> None:
    report = assess([GOOD, touch.model_copy(update={"step": 2})])
    assert not report.passed
    assert report.breakdown[check] < CHECKS[check][0]
    assert report.score < 100
    assert any(f.startswith(f"step 2 {check}:") and detail in f for f in report.failures)
    assert report.reason().startswith("quality gate failed: step 2 ")


def test_honest_words_are_not_spam() -> None:
    touch = GOOD.model_copy(update={"body": "Feel free to ignore this if the timing is wrong. Free trial?"})
    assert assess([touch]).passed


def test_exactly_at_the_limits_passes() -> None:
    touch = GOOD.model_copy(update={"subject": "x" * 120, "body": "word " * MAX_BODY_WORDS})
    assert assess([touch]).passed


def test_no_touches_fails() -> None:
    report = assess([])
    assert not report.passed
    assert report.score == 0
