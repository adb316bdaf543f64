"""Envelope rules: deterministic ids, tolerant readers, frozen facts."""

import pytest
from pydantic import ValidationError

from coldstream_shared.events import LeadData, LeadScraped, LeadVerified


def scraped(key: str = "row-1") -> LeadScraped:
    return LeadScraped.originate(
        producer="test",
        key=key,
        lead_id="lead-1",
        campaign_id="c1",
        lead=LeadData(email="a@b.co"),
        source="t",
    )


def test_ids_are_deterministic_from_the_cause() -> None:
    first = LeadVerified.caused_by(
        scraped(), producer="x", lead=LeadData(email="a@b.co"), verdict="safe", verified_by="t"
    )
    again = LeadVerified.caused_by(
        scraped(), producer="x", lead=LeadData(email="a@b.co"), verdict="safe", verified_by="t"
    )
    assert first.event_id == again.event_id
    assert first.causation_id == scraped().event_id
    assert first.correlation_id == "lead-1"


def test_different_keys_give_different_ids() -> None:
    assert scraped("row-1").event_id != scraped("row-2").event_id


def test_readers_tolerate_added_fields_and_events_are_frozen() -> None:
    data = scraped().model_dump(mode="json") | {"added_in_a_later_version": 1}
    event = LeadScraped.model_validate(data)
    with pytest.raises(ValidationError):
        event.lead_id = "other"  # type: ignore[misc]
