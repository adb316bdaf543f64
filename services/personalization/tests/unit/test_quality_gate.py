"""The quality gate on crafted good and bad sequences."""

from __future__ import annotations

import pytest

from coldstream_shared.events import Touch
from personalization.grounding import invented_facts
from personalization.quality import CHECKS, MAX_BODY_WORDS, GateContext, assess

GROUNDING = (
    "Name: Jo Lee\nCompany: Globex\nIndustry: logistics\nTitle: VP Operations\n"
    "Product: Acme Reports\nProof point: cut reporting time by 40% at Initech\nSender: Dana"
)
CONTEXT = GateContext(grounding=GROUNDING, personal_terms=("Jo", "Globex", "VP Operations", "logistics"))
GOOD = Touch(
    step=1,
    subject="Jo, a quick idea for Globex",
    body=(
        "Hi Jo,\n\nRunning operations at a logistics firm like Globex means a lot of weekly numbers. "
        "Acme Reports turns them into one short email, and it cut reporting time by 40% at Initech.\n\n"
        "Worth a chat next week?\n\nDana"
    ),
)
FOLLOW_UP = Touch(step=2, subject="Re: Globex", body="Hi Jo, just bumping this in case it got buried.\n\nDana")


def test_good_sequence_passes_with_full_marks() -> None:
    report = assess([GOOD, FOLLOW_UP], CONTEXT)
    assert report.passed, report.failures
    assert report.score == 100
    assert set(report.breakdown) == set(CHECKS)
    assert sum(weight for weight, _, _ in CHECKS.values()) == 100


@pytest.mark.parametrize(
    ("touch", "check", "detail"),
    [
        (FOLLOW_UP.model_copy(update={"body": "Hi {first_name}, hello there"}), "placeholders", "{first_name}"),
        (FOLLOW_UP.model_copy(update={"subject": "For {{company}}"}), "placeholders", "{{company}}"),
        (FOLLOW_UP.model_copy(update={"body": "Hi [First Name], hello there"}), "placeholders", "[First Name]"),
        (FOLLOW_UP.model_copy(update={"body": "Hi %FIRST_NAME%, hello there"}), "placeholders", "%FIRST_NAME%"),
        (FOLLOW_UP.model_copy(update={"subject": "  "}), "not_empty", "empty subject"),
        (FOLLOW_UP.model_copy(update={"body": ""}), "not_empty", "empty body"),
        (
            FOLLOW_UP.model_copy(update={"body": "Hi Jo, Acme Reports saved Umbrella Corp 35% last year.\n\nDana"}),
            "invented_facts",
            "35%, Umbrella, Corp",
        ),
        (FOLLOW_UP.model_copy(update={"subject": "x" * 81}), "subject_length", "81 characters"),
        (FOLLOW_UP.model_copy(update={"body": "Jo. " * (MAX_BODY_WORDS + 1)}), "body_length", "181 words"),
        (FOLLOW_UP.model_copy(update={"body": "Jo?"}), "body_length", "1 words"),
        (
            FOLLOW_UP.model_copy(update={"body": "Act now: CLICK HERE for a guaranteed win, Jo"}),
            "spam_words",
            "click here",
        ),
        (
            FOLLOW_UP.model_copy(update={"body": "Jo, see https://a.test and https://b.test please"}),
            "links",
            "2 links",
        ),
        (
            FOLLOW_UP.model_copy(
                update={
                    "body": "Notwithstanding organisational considerations, comprehensive operational "
                    "implementations necessitate institutionalised interdepartmental standardisation "
                    "methodologies, particularly regarding quantitative documentation."
                }
            ),
            "reading_ease",
            "reading ease",
        ),
    ],
)
def test_bad_touch_fails_the_named_check(touch: Touch, check: str, detail: str) -> None:
    report = assess([GOOD, touch], CONTEXT)
    assert report.breakdown[check] < CHECKS[check][0]
    assert report.score < 100
    assert any(f.startswith(f"step 2 {check}:") and detail in f for f in report.failures), report.failures


def test_an_invented_fact_blocks_the_sequence_whatever_the_score() -> None:
    invented = GOOD.model_copy(update={"body": GOOD.body.replace("at Initech", "at Initech and at Hooli")})
    report = assess([invented, FOLLOW_UP], CONTEXT)
    assert report.score >= CONTEXT.threshold
    assert not report.passed
    assert report.critical == ["invented_facts"]
    assert "Hooli" in report.reason()


def test_a_leftover_placeholder_blocks_the_sequence() -> None:
    report = assess([GOOD, FOLLOW_UP.model_copy(update={"body": "Hi {{first_name}}, bumping this.\n\nDana"})], CONTEXT)
    assert not report.passed
    assert "placeholders" in report.critical


def test_an_impersonal_first_email_loses_points_but_may_pass() -> None:
    generic = GOOD.model_copy(
        update={
            "subject": "A quick idea",
            "body": "Hi there,\n\nAcme Reports turns weekly numbers into one email.\n\nDana",
        }
    )
    report = assess([generic, FOLLOW_UP], CONTEXT)
    assert report.breakdown["personalization"] == 5
    assert any("specific to this person" in f for f in report.failures)
    assert report.passed


def test_below_the_threshold_fails() -> None:
    spammy = FOLLOW_UP.model_copy(
        update={"body": "Act now, Jo: guaranteed! https://a.test https://b.test", "subject": "x" * 90}
    )
    report = assess([spammy], GateContext(grounding=GROUNDING, personal_terms=("Jo",), threshold=90))
    assert report.score < 90
    assert not report.passed
    assert not report.critical


def test_honest_words_are_not_spam() -> None:
    touch = GOOD.model_copy(update={"body": GOOD.body + " Feel free to ignore this. Free trial?"})
    assert assess([touch], CONTEXT).breakdown["spam_words"] == CHECKS["spam_words"][0]


def test_exactly_at_the_limits_passes() -> None:
    touch = GOOD.model_copy(update={"subject": "x" * 80})
    assert assess([touch], CONTEXT).passed


def test_no_touches_fails() -> None:
    report = assess([])
    assert not report.passed
    assert report.score == 0


@pytest.mark.parametrize(
    ("text", "invented"),
    [
        ("Noticed Globex is growing. Teams like yours use Acme Reports.", []),
        ("Acme Reports cut reporting time by 40% at Initech.", []),
        ("Hooli loves it.", ["Hooli"]),  # a name at the start of a sentence is still checked
        ("Jo, Acme Reports saved Umbrella Corp $2M.", ["$2M", "Umbrella", "Corp"]),
        ("Most teams see 3x faster reports by Friday.", ["3"]),
        ("Hi Jo, worth a chat on Monday? Best, Dana", []),
    ],
)
def test_invented_facts_are_names_and_numbers_missing_from_the_brief(text: str, invented: list[str]) -> None:
    assert invented_facts(text, GROUNDING) == invented
