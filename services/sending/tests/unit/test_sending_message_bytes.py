"""The direct .eml writer is byte for byte what the email library writes, and leaves anything unusual to it."""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sending.compose import Compliance, OutgoingEmail, build_message, headers, message_bytes, plain_eml

WORDS = ["Hi", "Bob,", "quick", "question", "about", "Acme's", "Q3", "roadmap?", "a" * 30, "=", "(see)", "x-y_z", "é"]
NAMES = ["Ana", "Ana Sender", "Ana, from Acme", "Ana B.", "Zoë", "A" * 40]
ADDRESSES = ["bob@prospect.com", "bob.smith+x@mail.prospect.co.uk", "o'neil@x.io", "b" * 50 + "@prospect.com"]
URLS = ["http://127.0.0.1:8080", "https://cold.example/", "https://unsubscribe." + "long" * 12 + ".example"]


def generated(rng: random.Random) -> tuple[OutgoingEmail, Compliance]:
    step = rng.choice([1, 1, 2, 3])
    earlier = tuple(f"<{uuid.UUID(int=rng.getrandbits(128))}@acme.io>" for _ in range(step - 1))
    email = OutgoingEmail(
        ledger_id=uuid.UUID(int=rng.getrandbits(128)),
        campaign_id="c1",
        lead_id="lead-1",
        step=step,
        from_name=rng.choice(NAMES),
        from_email=rng.choice(["ana@acme.io", "sales@sub.acme.io"]),
        reply_to=rng.choice([None, "replies@acme.io"]),
        to=rng.choice(ADDRESSES),
        subject=" ".join(rng.choices(WORDS, k=rng.randint(1, 14))),
        body="\n".join(" ".join(rng.choices(WORDS, k=rng.randint(0, 20))) for _ in range(rng.randint(1, 6))),
        unsubscribe_token="".join(rng.choices(string.ascii_letters + string.digits + "-_", k=32)),
        date=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**8)),
        in_reply_to=earlier[-1] if earlier else None,
        references=earlier,
    )
    return email, Compliance(rng.choice(URLS), "Acme Ltd, 1 Main St, Springfield")


def test_the_direct_writer_matches_the_library_byte_for_byte() -> None:
    rng = random.Random(7)
    direct = 0
    for _ in range(1000):
        email, compliance = generated(rng)
        expected = build_message(email, compliance).as_bytes()
        assert message_bytes(email, compliance) == expected, email
        direct += plain_eml(headers(email, compliance), compliance.body_with_footer(email)) is not None
    assert direct > 100  # the common shapes do take the direct way


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "Hello\r\nBcc: everyone@example.com"},
        {"subject": "Grüße"},
        {"subject": "=?utf-8?q?looks_encoded?="},
        {"subject": "two  spaces"},
        {"to": "Bob <bob@prospect.com>"},
        {"body": "x" * 2000},
    ],
)
def test_unusual_messages_go_through_the_library(change: dict[str, str]) -> None:
    email = OutgoingEmail(
        ledger_id=uuid.UUID(int=7),
        campaign_id="c1",
        lead_id="lead-1",
        step=1,
        from_name="Ana",
        from_email="ana@acme.io",
        reply_to=None,
        to="bob@prospect.com",
        subject="Hi",
        body="Hello",
        unsubscribe_token="tok",
        date=datetime(2025, 1, 1, tzinfo=UTC),
    )
    compliance = Compliance("http://x", "Addr")
    assert plain_eml(headers(email, compliance), compliance.body_with_footer(email)) is not None
    unusual = replace(email, **change)  # type: ignore[arg-type]
    assert plain_eml(headers(unusual, compliance), compliance.body_with_footer(unusual)) is None
    if "\r" in change.get("subject", ""):
        with pytest.raises(ValueError, match="linefeed or carriage return"):
            message_bytes(unusual, compliance)
    else:
        assert message_bytes(unusual, compliance) == build_message(unusual, compliance).as_bytes()
