"""The rule classifier: opt-outs never missed, automatic mail recognised (the labelled set: test_replies_labelled)."""

from __future__ import annotations

from datetime import date

import pytest

from replies.classifier import bounce_kind, classify, complained_about, complaint

TODAY = date(2025, 3, 1)


@pytest.mark.parametrize(
    "text",
    [
        "Please unsubscribe me.",
        "Remove me from your list",
        "stop emailing me",
        "STOP",
        "Take me off this list please",
        "Do not contact me again.",
        "Don\u2019t email me again",  # typographic apostrophe
        "Please opt me out",
        "Merci de me désabonner",
        "Bitte abmelden",
        "Por favor, quiero darme de baja",
        "Per favore cancellami dalla lista",
        "Quero descadastrar meu email",
        "Graag afmelden",
        "Not interested. Unsubscribe.",
    ],
)
def test_opt_outs_are_unsubscribe(text: str) -> None:
    assert classify(text, "Re: quick idea").category == "unsubscribe"


def test_opt_out_in_the_subject_counts() -> None:
    assert classify("", "Unsubscribe").category == "unsubscribe"


def test_not_interested_is_not_an_opt_out() -> None:
    result = classify("Not interested, thanks.")
    assert result.category == "not_interested"
    assert result.key_phrase == "not interested"


def test_our_quoted_footer_is_not_an_opt_out() -> None:
    text = (
        "Sounds good, tell me more!\n\n"
        "On Mon, Mar 3, 2025 at 10:00 AM Dana <dana@acme.test> wrote:\n"
        "> Hi Jo, an idea for Globex.\n"
        "> To unsubscribe, click here.\n"
    )
    assert classify(text, "Re: an idea").category == "interested"


def test_stop_inside_a_sentence_is_not_an_opt_out() -> None:
    text = "***Please stop and read this message.*** I am out of the office until March 10."
    result = classify(text, "Automatic reply", today=TODAY)
    assert result.category == "out_of_office"
    assert result.return_date == date(2025, 3, 10)


@pytest.mark.parametrize(
    ("text", "subject", "category"),
    [
        ("Can we schedule a call next week?", None, "meeting_request"),
        ("Not right now, maybe next quarter.", None, "not_now"),
        ("I'm not the right person, please reach out to sam@globex.test", None, "referral"),
        ("I'm not the right person for this.", None, "wrong_person"),
        ("How much does it cost?", None, "question"),
        ("Thanks", None, "neutral"),
        ("Thank you for your message.", "Automatic reply: hello", "auto_reply"),
        ("Mail delivery failed: user unknown", "Undeliverable: hello", "bounce"),
    ],
)
def test_simple_rules(text: str, subject: str | None, category: str) -> None:
    assert classify(text, subject, today=TODAY).category == category


def test_referral_names_the_contact() -> None:
    assert classify("Wrong person - reach out to sam@globex.test").referral_email == "sam@globex.test"


def test_return_date_ranges_and_rollover() -> None:
    assert classify("I'm on vacation July 10-31.", today=TODAY).return_date == date(2025, 7, 31)
    assert classify("Out of office until 5 January.", today=TODAY).return_date == date(2026, 1, 5)
    assert classify("Out of office until 2025-04-02.", today=TODAY).return_date == date(2025, 4, 2)
    assert classify("I'm out of the office Friday.", today=TODAY).return_date is None


def test_bounce_kind() -> None:
    assert bounce_kind("550 5.1.1 <x@example.org>... User Unknown") == "hard"
    assert bounce_kind("The number of messages in recipient's mailbox exceeded the local limit.") == "soft"


def test_a_dead_inbox_named_before_the_pointer_is_not_a_referral() -> None:
    text = "This inbox old@globex.test is no longer in use. Please contact someone else at Globex."
    result = classify(text)
    assert (result.category, result.referral_email) == ("wrong_person", None)


def test_the_referral_is_the_address_after_the_pointer() -> None:
    result = classify("I'm jo@globex.test but not the right person; talk to my colleague Sam (sam@globex.test).")
    assert (result.category, result.referral_email) == ("referral", "sam@globex.test")


def test_opt_out_word_on_the_first_line_with_a_phone_signature() -> None:
    assert classify("Stop please\n\nSent from my iPhone").category == "unsubscribe"


def test_not_now_carries_the_recontact_date() -> None:
    result = classify("Not right now - reach out again on September 15.", today=TODAY)
    assert (result.category, result.return_date) == ("not_now", date(2025, 9, 15))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ich bin bis zum 15. März nicht im Büro.", date(2025, 3, 15)),
        ("Je suis en congé jusqu'au 2 août.", date(2025, 8, 2)),
        ("Estoy de vacaciones hasta el 2 de mayo.", date(2025, 5, 2)),
        ("Sono fuori ufficio fino al 7 gennaio.", date(2026, 1, 7)),
    ],
)
def test_return_dates_in_other_languages(text: str, expected: date) -> None:
    assert classify(text, "Out of office", today=TODAY).return_date == expected


@pytest.mark.parametrize(
    "text",
    [
        "I have reported this as spam.",
        "Please stop spamming me.",
        "Marked as spam. Never write to me again",
        "This is spam and I'm filing an abuse report with your provider.",
        "Ich habe das als Spam gemeldet.",
    ],
)
def test_spam_complaints_are_opt_outs_that_say_so(text: str) -> None:
    verdict = classify(text, "Re: a quick idea", today=TODAY)
    assert verdict.category == "unsubscribe"
    assert verdict.reasoning.startswith("spam complaint")
    assert complaint(text, "Re: a quick idea")


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Please stop emailing me.", "unsubscribe"),  # an opt-out, not a complaint
        ("Undeliverable: the message was marked as spam by the recipient's filter and not delivered.", "bounce"),
        ("Not interested, and check your spam score: your last mail landed in my junk folder.", "not_interested"),
    ],
)
def test_what_is_not_a_complaint(text: str, category: str) -> None:
    assert complaint(text, None) is None
    assert classify(text, None, today=TODAY).category == category


def test_an_arf_abuse_report_is_a_complaint_about_the_recipient_it_names() -> None:
    report = (
        "This is an email abuse report.\n\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
        "Version: 1\nOriginal-Rcpt-To: <Bob@Prospect.com>\n"
    )
    assert classify(report, "Abuse report", today=TODAY).category == "unsubscribe"
    assert complaint(report) == "message/feedback-report"
    assert complained_about(report) == "bob@prospect.com"
    assert complained_about("I reported this as spam") is None
