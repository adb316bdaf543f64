"""Bad input on every consumer: each broken event ends in `dlq.<service>.<subject>` with its cause, on its first
delivery; the consumer goes on applying valid events; nothing is lost, nothing is retried in a loop.

The five services run in-process against a private nats-server (see conftest.py). Each example publishes one
broken body of every kind (missing field, wrong type, nasty text, unknown schema version, not JSON, invalid UTF-8,
oversized, nested too deep) and then a valid event, to the subject's stream, and waits until every consumer of the
subject settled all of them.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from coldstream_shared.streams import stream_for
from coldstream_shared.subjects import dead_letter_subject
from tests.property.bad_events import (
    CAUSES,
    CONSUMERS,
    EITHER_WAY,
    MODELS,
    NOT_RECORDED,
    Body,
    bad_bodies,
    refused,
    valid_event,
)
from tests.property.stack import Stack

pytestmark = pytest.mark.integration

EXAMPLES = settings(
    max_examples=5,
    deadline=None,
    # Every example publishes to real servers: shrinking would replay it hundreds of times. The failure report
    # names the body kind and its first bytes instead.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


async def test_every_durable_consumer_is_covered(stack: Stack) -> None:
    expected = {(service, subject) for subject, services in CONSUMERS.items() for service in services}
    assert await stack.durables() == expected


def original_bytes(letter: dict) -> bytes:
    body = letter["original_body"]
    return base64.b64decode(body) if letter["body_encoding"] == "base64" else body.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("subject", sorted(CONSUMERS))
@EXAMPLES
@given(data=st.data())
async def test_bad_events_are_dead_lettered_and_consumption_goes_on(
    stack: Stack, subject: str, data: st.DataObject
) -> None:
    model, stream = MODELS[subject], stream_for(subject).name
    bodies: list[Body] = data.draw(bad_bodies(valid_event(subject, stack.lead_file)), label="bodies")
    sent: list[tuple[str, Body]] = []
    for body in bodies:
        msg_id = f"fuzz-{body.kind}-{uuid.uuid4().hex}"
        await stack.publish(subject, body.data, msg_id, body.headers)
        sent.append((msg_id, body))
    valid = valid_event(subject, stack.lead_file)
    last = await stack.publish(subject, valid.model_dump_json().encode(), str(valid.event_id))

    for service in CONSUMERS[subject]:
        await stack.settled(service, subject, last)
        for msg_id, body in sent:
            letters = await stack.dead_letters(service, msg_id)
            if refused(model, body):
                assert len(letters) == 1, (service, body.kind, body.data[:300], letters)
            assert len(letters) <= 1, (service, body.kind, letters)
            for letter in letters:
                context = (service, body.kind, body.data[:300], letter["error_type"], letter["error"][:500])
                assert letter["deliveries"] == 1, f"retried before dead-lettering: {context}"
                assert letter["error_type"] in CAUSES[body.kind] | EITHER_WAY, context
                assert letter["error"].strip(), context
                if body.kind == "schema_version" and isinstance(json.loads(body.data)["schema_version"], int):
                    assert "schema_version" in letter["error"], context
                assert letter["original_subject"] == subject, context
                assert letter["_subject"] == dead_letter_subject(service, subject), context
                if letter["body_encoding"].startswith("excerpt-"):  # too big to carry: the original stays in its stream
                    assert (letter["original_stream"], letter["body_bytes"]) == (stream, len(body.data)), context
                else:
                    assert original_bytes(letter) == body.data, context
        assert not await stack.dead_letters(service, str(valid.event_id)), (service, "valid event dead-lettered")
        if (service, subject) not in NOT_RECORDED:
            assert await stack.applied(service, valid), (service, "valid event after bad ones not applied")
