"""The envelope every event carries, and how event ids are derived."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from coldstream_shared.ids import stable_id


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp in an event is UTC."""
    return datetime.now(UTC)


class Event(BaseModel):
    """Envelope fields shared by every event. Subclasses set `subject` and add business fields."""

    # Frozen: an event is a fact. `extra="ignore"`: consumers tolerate fields added by newer producers.
    model_config = ConfigDict(frozen=True, extra="ignore")

    subject: ClassVar[str]
    # The newest `schema_version` of this subject that this code understands. A breaking change gets a new model
    # and a `.v2` subject, so a higher number here is a producer this consumer does not know: refuse it (the
    # message goes to the dead-letter stream saying so) instead of misreading its fields.
    understood_schema_version: ClassVar[int] = 1

    event_id: uuid.UUID = Field(description="Deterministic id; also the Nats-Msg-Id header.")
    occurred_at: datetime = Field(default_factory=utcnow)
    schema_version: int = 1
    producer: str = Field(description="The service (or tool) that published the event.")
    team_id: str = "default"
    campaign_id: str | None = None
    lead_id: str | None = None
    correlation_id: str = Field(description="Groups one journey: the lead id for lead events.")
    causation_id: uuid.UUID | None = Field(None, description="The event that caused this one.")

    @field_validator("schema_version")
    @classmethod
    def _understood(cls, version: int) -> int:
        newest = cls.understood_schema_version
        if version < 1:
            raise ValueError(f"schema_version {version} is not a version: they start at 1")
        if version > newest:
            raise ValueError(
                f"{cls.__name__} schema_version {version} is newer than this service understands ({newest}): "
                "upgrade the consumer, then replay this event"
            )
        return version

    @classmethod
    def caused_by(cls, cause: Event, *, producer: str, key: object = "", **fields: Any) -> Self:
        """Build the event that `cause` leads to; the id depends only on the cause, the subject and `key`."""
        envelope: dict[str, Any] = {
            "event_id": stable_id(cls.subject, cause.event_id, key),
            "producer": producer,
            "team_id": cause.team_id,
            "campaign_id": cause.campaign_id,
            "lead_id": cause.lead_id,
            "correlation_id": cause.correlation_id,
            "causation_id": cause.event_id,
        }
        return cls(**(envelope | fields))

    @classmethod
    def originate(cls, *, producer: str, key: object, **fields: Any) -> Self:
        """Build an event with no causing event (CLI, webhook, file row); `key` must identify the fact."""
        envelope: dict[str, Any] = {"event_id": stable_id(cls.subject, key), "producer": producer}
        if "correlation_id" not in fields:
            envelope["correlation_id"] = str(fields.get("lead_id") or fields.get("campaign_id") or key)
        return cls(**(envelope | fields))
