"""Valid events per consumed subject, and hypothesis strategies that break them the ways producers and people do."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from coldstream_shared import subjects
from coldstream_shared.dead_letters import MAX_EVENT_BYTES
from coldstream_shared.events import (
    ALL_EVENTS,
    CampaignApproved,
    CampaignPaused,
    CampaignResumed,
    EmailGenerated,
    EmailSent,
    Event,
    LeadBounced,
    LeadData,
    LeadProposed,
    LeadScraped,
    LeadUnsubscribed,
    LeadVerified,
    ReplyClassified,
    ReplyReceived,
    Touch,
)
from tests.property.documents import Path_, edited, paths
from tests.property.stack import CAMPAIGN, campaign_started

# Who consumes what: checked against the durables the running services created, so a new handler lands here.
CONSUMERS: dict[str, tuple[str, ...]] = {
    subjects.CAMPAIGN_STARTED: ("discovery", "enrichment", "personalization", "sending"),
    subjects.CAMPAIGN_APPROVED: ("discovery", "personalization", "sending"),
    subjects.CAMPAIGN_PAUSED: ("sending",),
    subjects.CAMPAIGN_RESUMED: ("sending",),
    subjects.LEAD_SCRAPED: ("enrichment",),
    subjects.LEAD_VERIFIED: ("personalization",),
    subjects.LEAD_UNSUBSCRIBED: ("discovery", "replies", "sending"),
    subjects.LEAD_BOUNCED: ("discovery", "replies", "sending"),
    subjects.LEAD_PROPOSED: ("discovery",),
    subjects.EMAIL_GENERATED: ("sending",),
    subjects.EMAIL_SENT: ("discovery", "replies"),
    subjects.REPLY_RECEIVED: ("replies",),
    subjects.REPLY_CLASSIFIED: ("sending",),
}
# Handlers that settle a valid event without recording it: replies without a model key only acknowledges replies;
# discovery leaves a sending approval to personalization.
NOT_RECORDED = {("replies", subjects.REPLY_RECEIVED), ("discovery", subjects.CAMPAIGN_APPROVED)}
# Fields whose value names something other events depend on: a different but well-formed value is a valid event
# about an unknown campaign (retried until the campaign arrives), not bad input.
IDENTITIES = frozenset({"event_id", "campaign_id", "lead_id", "correlation_id", "causation_id", "id"})


def _key() -> str:
    return uuid.uuid4().hex


def _email() -> str:
    return f"fuzz-{_key()[:12]}@fuzz.example"


def _lead() -> LeadData:
    return LeadData(email=_email(), first_name="Ada", company="Acme", extra={"note": "fuzz"})


def _lead_event(event_type: type[Event], /, **fields: Any) -> Event:
    lead_id = _key()
    return event_type.originate(producer="fuzz", key=lead_id, lead_id=lead_id, campaign_id=CAMPAIGN, **fields)


def valid_event(subject: str, lead_file: Path) -> Event:
    """A new, well-formed event on `subject` that its consumers apply (about the stack's campaign)."""
    builders: dict[str, Callable[[], Event]] = {
        subjects.CAMPAIGN_STARTED: lambda: campaign_started(f"fuzz-{_key()[:12]}", lead_file),
        subjects.CAMPAIGN_APPROVED: lambda: CampaignApproved.originate(
            producer="fuzz", key=_key(), campaign_id=CAMPAIGN, stage="sending", approved_by="fuzz"
        ),
        subjects.CAMPAIGN_PAUSED: lambda: CampaignPaused.originate(
            producer="fuzz", key=_key(), campaign_id=CAMPAIGN, reason="fuzz", paused_by="fuzz"
        ),
        subjects.CAMPAIGN_RESUMED: lambda: CampaignResumed.originate(
            producer="fuzz", key=_key(), campaign_id=CAMPAIGN, resumed_by="fuzz"
        ),
        subjects.LEAD_SCRAPED: lambda: _lead_event(LeadScraped, lead=_lead(), source="fuzz", row_number=2),
        subjects.LEAD_VERIFIED: lambda: _lead_event(LeadVerified, lead=_lead(), verdict="unknown", verified_by="fuzz"),
        subjects.LEAD_UNSUBSCRIBED: lambda: _lead_event(LeadUnsubscribed, email=_email(), source="cli"),
        subjects.LEAD_BOUNCED: lambda: _lead_event(LeadBounced, email=_email(), reason="no such user"),
        subjects.LEAD_PROPOSED: lambda: LeadProposed.originate(
            producer="fuzz", key=_key(), campaign_id=CAMPAIGN, email=_email(), referred_by=_email(), reason="referral"
        ),
        subjects.EMAIL_GENERATED: lambda: _lead_event(
            EmailGenerated,
            lead=_lead(),
            touches=[Touch(step=1, subject="Hi Ada", body="Hello Ada")],
            writer="template",
            model="template-writer/v1",
            prompt_version="v1",
            quality_score=90,
        ),
        subjects.EMAIL_SENT: lambda: _lead_event(
            EmailSent, email=_email(), step=1, backend="file", message_id=f"<{_key()}@fuzz.example>"
        ),
        subjects.REPLY_RECEIVED: lambda: ReplyReceived.originate(
            producer="fuzz", key=_key(), email=_email(), text="Thanks!", received_at=datetime.now(UTC), source="cli"
        ),
        subjects.REPLY_CLASSIFIED: lambda: _lead_event(
            ReplyClassified,
            email=_email(),
            category="not_interested",
            confidence=0.9,
            reasoning="fuzz",
            classifier="rules/v1",
        ),
    }
    return builders[subject]()


MODELS: dict[str, type[Event]] = {model.subject: model for model in ALL_EVENTS if model.subject in CONSUMERS}


# The cause a dead letter may name, per kind of breakage. A well-formed event with odd values may also be refused by
# a business rule (PermanentError) or by the database: text Postgres cannot store, such as a NUL or a lone surrogate
# (stdlib json decodes bytes with "surrogatepass", so an encoded surrogate in the body becomes one).
CAUSES: dict[str, set[str]] = {
    "missing": {"ValidationError"},
    "wrong_type": {"ValidationError"},
    "schema_version": {"ValidationError"},
    "not_json": {"ValidationError", "JSONDecodeError", "UnicodeDecodeError"},
    "invalid_utf8": {"ValidationError", "JSONDecodeError", "UnicodeDecodeError"},
    "oversized": {"OversizedEventError"},
    "deep": {"RecursionError"},
    "nasty_text": {"ValidationError"},
}
# A lone surrogate may also be refused before the database, by code that encodes the text (an id hashed into a
# UUIDv5, a header): UnicodeEncodeError, also permanent and dead-lettered on the first delivery.
EITHER_WAY = {"PermanentError", "DBAPIError", "UnicodeEncodeError"}


@dataclass(frozen=True)
class Body:
    """One message to publish: how it was broken, its bytes and its content type."""

    kind: str
    data: bytes
    content_type: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"content-type": self.content_type} if self.content_type else {}


def refused(model: type[Event], body: Body) -> bool:
    """Whether a consumer must dead-letter `body`: FastStream's decoding (stdlib json, bytes when no content type
    says JSON) followed by validation against the handler's model, after the size limit."""
    if len(body.data) > MAX_EVENT_BYTES:
        return True
    try:
        decoded: Any = json.loads(body.data)
    except RecursionError:
        return True
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        if body.content_type == "application/json":
            return True
        decoded = body.data
    try:
        model.model_validate(decoded)
    except ValidationError:
        return True
    return False


def _encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


# Values of the wrong kind for nearly any field (text is left out: most fields are text, and a different text in
# an id is a valid event about something else).
WRONG_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)
)
# Text Postgres refuses (NUL, lone surrogates from a JSON escape) in an otherwise valid event: a consumer that stores
# it dead-letters the event at once (a data error is permanent), one that does not applies it.
NASTY_TEXT = st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy"]) | st.text().map(lambda text: f"{text}\x00")
CONTENT_TYPES = st.sampled_from([None, None, "application/json"])


def bad_bodies(event: Event) -> st.SearchStrategy[list[Body]]:
    """One broken body of every kind, derived from a valid `event`."""
    doc = event.model_dump(mode="json")
    good = _encode(doc)
    fields = paths(doc)
    texts = [p for p in fields if isinstance(_get(doc, p), str) and p[-1] not in IDENTITIES]
    missing = st.sampled_from(fields).map(lambda p: ("missing", _encode(edited(doc, p, drop=True))))
    wrong_type = st.tuples(st.sampled_from(fields), WRONG_VALUES).map(
        lambda pv: ("wrong_type", _encode(edited(doc, pv[0], pv[1])))
    )
    nasty = st.tuples(st.sampled_from(texts), NASTY_TEXT).map(lambda pv: ("nasty_text", _encode(edited(doc, *pv))))
    version = (st.integers(min_value=2, max_value=2**40) | st.integers(max_value=0) | WRONG_VALUES).map(
        lambda v: ("schema_version", _encode(doc | {"schema_version": v}))
    )
    not_json = (
        st.binary(max_size=200).filter(_not_json)
        | st.integers(min_value=1, max_value=len(good) - 1).map(lambda n: good[:n])
        | st.sampled_from([b"", b"{", b"null", b"[]", b"42", b'"lead"', b"NaN", b"{}"])
    ).map(lambda data: ("not_json", data))
    bad_utf8 = st.tuples(
        st.integers(min_value=0, max_value=len(good)), st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])
    )
    invalid_utf8 = bad_utf8.map(lambda ib: ("invalid_utf8", good[: ib[0]] + ib[1] + good[ib[0] :]))
    # Big bodies are drawn as recipes (partials) and built last, so a failure report quotes the recipe only.
    oversized = st.builds(
        partial, st.just(_padded), st.just(doc), st.integers(MAX_EVENT_BYTES + 1, 1_000_000), st.sampled_from("x\x01é")
    ).map(lambda recipe: ("oversized", recipe))
    deep = st.builds(partial, st.just(_nested), st.integers(2_000, 60_000), st.sampled_from(["[", '{"a":'])).map(
        lambda recipe: ("deep", recipe)
    )
    kinds = [missing, wrong_type, nasty, version, not_json, invalid_utf8, oversized, deep]
    return st.tuples(*(st.tuples(kind, CONTENT_TYPES) for kind in kinds)).map(
        lambda bodies: [
            Body(kind, data if isinstance(data, bytes) else data(), ctype) for (kind, data), ctype in bodies
        ]
    )


def _get(doc: Any, path: Path_) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _not_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return True
    return False


def _nested(depth: int, opener: str) -> bytes:
    """JSON nested deeper than the stdlib decoder recurses (well under the size limit)."""
    return (opener * depth + "1" + ("]" if opener == "[" else "}") * depth).encode()


def _padded(doc: dict[str, Any], size: int, char: str) -> bytes:
    """The event with an unknown (ignored) field that brings its JSON to about `size` bytes."""
    base = len(_encode(doc | {"padding": ""}))
    per_char = len(json.dumps(char)) - 2
    return _encode(doc | {"padding": char * max(0, (size - base) // per_char + 1)})
