"""Pure rules: message building, the suppression decision, follow-up timing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from sending.compose import Compliance, OutgoingEmail, build_message
from sending.scheduling import due_after
from sending.suppression import (
    InvalidSuppressionError,
    Suppression,
    blocking_entry,
    lock_keys,
    normalise_value,
    parse_value,
)

COMPLIANCE = Compliance("https://cold.example/", "Acme Ltd, 1 Main St, Springfield")
LEDGER_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def outgoing(**changes: object) -> OutgoingEmail:
    values: dict[str, object] = {
        "ledger_id": LEDGER_ID,
        "campaign_id": "c1",
        "lead_id": "lead-1",
        "step": 1,
        "from_name": "Ana Sender",
        "from_email": "ana@acme.io",
        "reply_to": "replies@acme.io",
        "to": "bob@prospect.com",
        "subject": "Quick question, Bob",
        "body": "Hi Bob,\n\nWorth a chat?\n",
        "unsubscribe_token": "tok123",
        "date": datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
    }
    return OutgoingEmail(**(values | changes))  # type: ignore[arg-type]


def test_message_has_every_header_a_mailbox_provider_expects() -> None:
    parsed = message_from_bytes(build_message(outgoing(), COMPLIANCE).as_bytes(), policy=policy.default)
    assert parsed["From"] == "Ana Sender <ana@acme.io>"
    assert parsed["To"] == "bob@prospect.com"
    assert parsed["Reply-To"] == "replies@acme.io"
    assert parsed["Subject"] == "Quick question, Bob"
    assert parsed["Date"] == "Tue, 04 Mar 2025 09:30:00 +0000"
    assert parsed["Message-ID"] == f"<{LEDGER_ID}@acme.io>"
    assert parsed["List-Unsubscribe"] == "<https://cold.example/unsubscribe/tok123>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_body_ends_with_the_compliance_footer() -> None:
    body = build_message(outgoing(), COMPLIANCE).get_content()
    assert body.startswith("Hi Bob,\n\nWorth a chat?")
    assert "Acme Ltd, 1 Main St, Springfield" in body
    assert body.rstrip().endswith("Unsubscribe: https://cold.example/unsubscribe/tok123")


def test_message_is_the_same_when_rebuilt() -> None:
    first = build_message(outgoing(), COMPLIANCE).as_bytes()
    assert build_message(outgoing(), COMPLIANCE).as_bytes() == first
    assert outgoing().message_id == outgoing(subject="other").message_id
    assert outgoing().message_id != outgoing(ledger_id=uuid.uuid4()).message_id


def test_display_names_with_specials_are_quoted() -> None:
    message = build_message(outgoing(from_name="Ana, from Acme"), COMPLIANCE)
    assert message["From"] == '"Ana, from Acme" <ana@acme.io>'


def test_an_address_on_the_list_is_blocked_in_any_case() -> None:
    entry = Suppression("bob@prospect.com", "email", "unsubscribed")
    assert blocking_entry(" Bob@Prospect.COM ", [entry]) == entry
    assert blocking_entry("alice@prospect.com", [entry]) is None


def test_a_domain_on_the_list_blocks_every_address_there() -> None:
    entry = Suppression("prospect.com", "domain", "competitor")
    assert blocking_entry("anyone@PROSPECT.com", [entry]) == entry
    assert blocking_entry("bob@sub.prospect.com", [entry]) is None
    assert blocking_entry("bob@other.com", [entry]) is None


def test_an_address_entry_never_blocks_a_domain_by_accident() -> None:
    # An address-scoped entry whose value happens to equal a domain must not block that domain.
    assert blocking_entry("bob@prospect.com", [Suppression("prospect.com", "email", "odd")]) is None


def test_nothing_on_the_list_means_mailable() -> None:
    assert blocking_entry("bob@prospect.com", []) is None


def test_values_are_normalised_per_scope() -> None:
    assert normalise_value(" Bob@Prospect.com ", "email") == "bob@prospect.com"
    assert normalise_value("@Prospect.com", "domain") == "prospect.com"


def test_a_send_locks_the_domain_then_the_address() -> None:
    assert lock_keys("Bob@Prospect.com") == ["prospect.com", "bob@prospect.com"]


def test_follow_up_due_in_calendar_days() -> None:
    friday = datetime(2025, 3, 7, 10, tzinfo=UTC)
    assert due_after(friday, 3, business_days=False) == datetime(2025, 3, 10, 10, tzinfo=UTC)


def test_follow_up_due_in_business_days_skips_the_weekend() -> None:
    friday = datetime(2025, 3, 7, 10, tzinfo=UTC)
    assert due_after(friday, 1, business_days=True) == datetime(2025, 3, 10, 10, tzinfo=UTC)
    assert due_after(friday, 3, business_days=True) == datetime(2025, 3, 12, 10, tzinfo=UTC)
    assert due_after(friday, 0, business_days=True) == friday


def test_the_raw_message_stays_readable_and_long_lines_stay_legal() -> None:
    raw = build_message(outgoing(body="Hi Bob, " + "a fairly long sentence " * 10), COMPLIANCE).as_bytes()
    assert b"Unsubscribe: https://cold.example/unsubscribe/tok123" in raw
    huge = build_message(outgoing(body="x" * 2000), COMPLIANCE).as_bytes()
    assert max(len(line) for line in huge.splitlines()) <= 998
    assert message_from_bytes(huge, policy=policy.default).get_body().get_content().startswith("x" * 2000)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (" Bob@Prospect.com ", ("bob@prospect.com", "email")),
        ("@Acme.io", ("acme.io", "domain")),
        ("acme.co.uk", ("acme.co.uk", "domain")),
    ],
)
def test_suppression_values_are_read_as_an_address_or_a_domain(raw: str, parsed: tuple[str, str]) -> None:
    assert parse_value(raw) == parsed


@pytest.mark.parametrize("raw", ["", "bob", "bob@", "@", "a@b@c.com", "bob smith@acme.io", "localhost"])
def test_anything_else_is_refused(raw: str) -> None:
    with pytest.raises(InvalidSuppressionError):
        parse_value(raw)
