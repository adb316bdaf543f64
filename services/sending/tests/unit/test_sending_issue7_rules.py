"""Pure rules added with issue 7: Instantly payloads, send windows, account rotation, alerts, reply categories."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from sending.compose import Compliance
from sending.instantly.payloads import campaign_payload, instantly_days, lead_payload
from sending.pacing import Account, Window, choose_account, next_opening, zone
from sending.stop_sequence import back_after, is_human_reply
from sending.watch_bounces import bounce_rate_exceeded


def test_weekdays_map_to_instantly_days_starting_on_sunday() -> None:
    assert instantly_days([0, 4]) == {"0": False, "1": True, "2": False, "3": False, "4": False, "5": True, "6": False}
    assert instantly_days([6]) == {str(d): d == 0 for d in range(7)}


def test_campaign_payload_uses_per_lead_variables_and_next_step_delays() -> None:
    payload = campaign_payload("c1", [0, 3, 5], {"timezone": "Europe/Paris", "daily_limit": 80})
    steps = payload["sequences"][0]["steps"]
    assert [s["delay"] for s in steps] == [3, 5, 0]
    assert steps[2]["variants"][0] == {"subject": "{{subject_3}}", "body": "{{body_3}}"}
    assert payload["campaign_schedule"]["schedules"][0]["timezone"] == "Europe/Paris"
    assert payload["daily_limit"] == 80
    assert "email_list" not in payload


def test_lead_payload_is_flat_and_scalar() -> None:
    lead = lead_payload("a@b.co", [(1, "S1", "B1"), (2, "S2", "B2")])
    assert lead == {
        "email": "a@b.co",
        "custom_variables": {"subject_1": "S1", "body_1": "B1", "subject_2": "S2", "body_2": "B2"},
    }


def test_footer_template_fills_address_and_link_and_keeps_other_braces() -> None:
    footer = Compliance("http://x", "1 Main St").footer("tok", "{physical_address} {oops} {unsubscribe_url}")
    assert footer.strip().endswith("1 Main St {oops} http://x/unsubscribe/tok")


def test_send_window_is_read_in_the_lead_timezone() -> None:
    window = Window.of({"window_start": "09:00", "window_end": "17:00", "weekdays": [0, 1, 2, 3, 4]})
    friday_evening_utc = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # a Friday
    assert next_opening(friday_evening_utc, window, ZoneInfo("America/Los_Angeles")) == friday_evening_utc
    opening = next_opening(friday_evening_utc, window, ZoneInfo("Europe/Berlin"))
    assert opening == datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Monday morning
    assert zone("Not/AZone", "Europe/Paris") == ZoneInfo("Europe/Paris")


def test_rotation_picks_the_least_used_account_with_room() -> None:
    accounts = [Account("a@x", 50, 10, 5, 1), Account("b@x", 50, 10, 3, 10), Account("c@x", 50, 10, 4, 0)]
    assert choose_account(accounts).email == "c@x"  # b is at its hourly limit
    assert choose_account(accounts, frozenset({"c@x"})).email == "a@x"
    assert choose_account([Account("a@x", 5, 10, 5, 0)]) is None


@pytest.mark.parametrize(
    ("bounced", "sent", "expected"), [(1, 10, False), (3, 10, True), (3, 5, False), (0, 100, False)]
)
def test_bounce_rate_needs_enough_sends(bounced: int, sent: int, expected: bool) -> None:
    assert bounce_rate_exceeded(bounced, sent, threshold=0.2, min_sent=10) is expected


def test_reply_categories() -> None:
    assert all(is_human_reply(c) for c in ("interested", "not_interested", "unsubscribe", "question", "referral"))
    assert not any(is_human_reply(c) for c in ("out_of_office", "auto_reply", "bounce"))
    assert back_after(date(2026, 1, 5)) == datetime(2026, 1, 6, tzinfo=UTC)
