"""Webhook parsing, dedup key and shared-secret check."""

from __future__ import annotations

import hashlib
import json

import pytest

from replies.webhooks import BadWebhookError, authorized, dedup_key, parse

REPLY = {
    "timestamp": "2025-03-01T10:00:00.000Z",
    "event_type": "reply_received",
    "workspace": "ws-1",
    "campaign_id": "camp-1",
    "lead_email": "Jo@Globex.test",
    "email_id": "em-1",
    "reply_text": "Sounds good, tell me more",
    "step": 2,
    "firstName": "Jo",  # merged lead field
}


def test_dedup_key_is_sha256_of_the_identifying_fields() -> None:
    expected = hashlib.sha256(b"reply_received|ws-1|camp-1|Jo@Globex.test|em-1|2025-03-01T10:00:00.000Z")
    assert dedup_key(REPLY) == expected.hexdigest()


def test_dedup_key_ignores_other_fields_and_key_order() -> None:
    reordered = dict(reversed(list(REPLY.items())))
    assert dedup_key(reordered | {"reply_text": "edited", "extra": 1}) == dedup_key(REPLY)


@pytest.mark.parametrize("field", ["event_type", "workspace", "campaign_id", "lead_email", "email_id", "timestamp"])
def test_dedup_key_changes_with_each_identifying_field(field: str) -> None:
    assert dedup_key(REPLY | {field: "other"}) != dedup_key(REPLY)


def test_missing_fields_count_as_empty() -> None:
    assert dedup_key({"event_type": "email_opened"}) == hashlib.sha256(b"email_opened|||||").hexdigest()


def test_parse_reads_the_fields_we_act_on() -> None:
    hook = parse(json.dumps(REPLY).encode())
    assert (hook.event_type, hook.lead_email, hook.campaign_id, hook.email_id, hook.step) == (
        "reply_received",
        "jo@globex.test",
        "camp-1",
        "em-1",
        2,
    )
    assert hook.timestamp is not None
    assert hook.timestamp.isoformat() == "2025-03-01T10:00:00+00:00"
    assert hook.reply_text == "Sounds good, tell me more"
    assert hook.payload["firstName"] == "Jo"


def test_snippet_is_used_when_the_full_text_is_missing() -> None:
    payload = {k: v for k, v in REPLY.items() if k != "reply_text"} | {"reply_text_snippet": "Remove me"}
    assert parse(json.dumps(payload).encode()).reply_text == "Remove me"


@pytest.mark.parametrize("event_type", ["email_opened", "link_clicked", "email_link_clicked", "brand_new_event"])
def test_any_event_type_is_accepted(event_type: str) -> None:
    assert parse(json.dumps({"event_type": event_type}).encode()).event_type == event_type


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"{}", "event_type"),
        (b'{"event_type": 7}', "event_type"),
        (b'{"event_type": "  "}', "event_type"),
        (b'{"event_type": "reply_received"}', "lead_email"),
        (b'{"event_type": "lead_unsubscribed", "lead_email": 5}', "lead_email"),
        (b'{"event_type": "x", "a": "\\u0000"}', "NUL"),
        (b'{"event_type": "x", "a": "\\ud800"}', "surrogates"),
    ],
)
def test_bad_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(BadWebhookError, match=reason):
        parse(body)


def test_odd_optional_fields_do_not_break_parsing() -> None:
    hook = parse(json.dumps(REPLY | {"step": True, "timestamp": "yesterday", "reply_text": 12}).encode())
    assert (hook.step, hook.timestamp, hook.reply_text) == (None, None, None)


def test_secret_check() -> None:
    assert authorized(None, None)
    assert authorized(None, "anything")
    assert authorized("s3cret", "s3cret")
    assert not authorized("s3cret", None)
    assert not authorized("s3cret", "")
    assert not authorized("s3cret", "s3cret ")
    assert not authorized("s3cret", "S3CRET")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"event_type": "email_opened", "x": NaN}', "not valid JSON"),
        (b'{"event_type": "email_opened", "x": -Infinity}', "not valid JSON"),
        (b'{"event_type": "email_opened", "x": 1e999}', "not valid JSON"),
        (b'{"event_type": "email_opened", "x": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b'{"event_type": "email_opened", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested deeper"),
        (b'{"event_type": "email_opened", "x": ' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper"),
        (b'{"event_type": "email_opened", "\\u0000": 1}', "NUL"),
        (b'{"event_type": "email_opened", "x": ["\\udc00"]}', "surrogates"),
    ],
)
def test_what_postgres_cannot_store_is_refused(body: bytes, reason: str) -> None:
    """Found by fuzzing: these used to reach Postgres (or crash json) and answer 5xx."""
    with pytest.raises(BadWebhookError, match=reason):
        parse(body)


def test_a_literal_backslash_u0000_is_plain_text() -> None:
    hook = parse(json.dumps({**REPLY, "reply_text": "see \\u0000 in the log"}).encode())
    assert hook.reply_text == "see \\u0000 in the log"
