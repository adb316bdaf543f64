"""What an operator reads when Instantly refuses a call for a campaign (a pure rule)."""

from __future__ import annotations

from sending.instantly.client import InstantlyRejectedError
from sending.instantly.hold_campaign import refusal_message


def test_a_deleted_campaign_is_never_recreated_and_the_operator_is_told_how_to_go_on() -> None:
    text = refusal_message("c1", "activate", InstantlyRejectedError(404, "Campaign not found"))
    assert "does not re-create it" in text
    assert "`coldstream campaign resume c1`" in text


def test_a_refused_resume_says_it_stays_paused_and_what_to_fix() -> None:
    text = refusal_message("c1", "activate", InstantlyRejectedError(401, "Invalid API key"))
    assert "Invalid API key" in text
    assert "stays paused here and at Instantly" in text


def test_a_refused_pause_warns_that_instantly_may_go_on_sending() -> None:
    text = refusal_message("c1", "pause", InstantlyRejectedError(403, "missing scope"))
    assert "Instantly may go on sending" in text
