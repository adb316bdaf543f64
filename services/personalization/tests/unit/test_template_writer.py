"""The template writer: personal when the data is there, graceful when it is not, strict on bad templates."""

from __future__ import annotations

import re

import pytest

from coldstream_shared.campaign import Offer, Step
from coldstream_shared.errors import PermanentError
from coldstream_shared.events import LeadData
from personalization.brief import build_brief, grounding_text
from personalization.campaign import Campaign
from personalization.prompts import BUILTIN
from personalization.quality import GateContext, assess
from personalization.template_writer import TemplateWriter, check_templates
from personalization.writer import WriteRequest

STEPS = (
    Step(
        subject="{first_name}, a quick idea for {company}",
        body=(
            "Hi {first_name} {last_name},\n\n"
            "As {title} at {company} in {city}, you know {industry} teams are busy. "
            "{product}: {value_proposition}.\n\n{call_to_action}\n\n{sender_name}"
        ),
    ),
    Step(subject="Re: {company}", body="Hi {first_name}, just bumping this.\n\n{sender_name}", delay_days=3),
)


def campaign(*steps: Step) -> Campaign:
    return Campaign(
        campaign_id="c-writer",
        offer=Offer(product="Acme Reports", value_proposition="weekly reports in one click"),
        steps=steps or STEPS,
        from_name="Dana from Acme",
        from_email="dana@acme.test",
    )


async def write(lead: LeadData, camp: Campaign | None = None) -> list:
    camp = camp or campaign()
    written = await TemplateWriter().write(WriteRequest(build_brief(lead, camp), camp, BUILTIN))
    return written.touches


def gate(lead: LeadData, camp: Campaign | None = None) -> GateContext:
    camp = camp or campaign()
    brief = build_brief(lead, camp)
    return GateContext(grounding_text(brief, camp), brief.personal_terms)


async def test_full_lead_is_rendered_personally() -> None:
    lead = LeadData(
        email="jo@x.test",
        first_name="Jo",
        last_name="Lee",
        company="Globex",
        title="CTO",
        city="Berlin",
        industry="logistics",
    )
    first, second = await write(lead)
    assert first.step == 1
    assert first.delay_days == 0
    assert first.subject == "Jo, a quick idea for Globex"
    assert first.body.startswith("Hi Jo Lee,\n\nAs CTO at Globex in Berlin, you know logistics teams are busy.")
    assert "Acme Reports: weekly reports in one click." in first.body
    assert "Worth a quick chat next week?" in first.body
    assert first.body.endswith("Dana from Acme")
    assert (second.step, second.delay_days, second.subject) == (2, 3, "Re: Globex")


@pytest.mark.parametrize(
    "lead",
    [
        LeadData(email="a@x.test"),
        LeadData(email="a@x.test", first_name="", company="  ", title=None),
        LeadData(email="a@x.test", first_name="[First Name]", company="{company}", title="{{title}}"),
    ],
    ids=["nothing-known", "blank-values", "placeholder-values"],
)
async def test_missing_name_company_and_title_fall_back_gracefully(lead: LeadData) -> None:
    touches = await write(lead)
    first = touches[0]
    assert first.subject == "A quick idea for your team"
    assert first.body.startswith("Hi there,\n\nAs your role at your team in your area, you know your industry")
    for touch in touches:
        text = touch.subject + touch.body
        assert "Hi ," not in text
        assert " ," not in text
        assert not re.search(r"[{}\[\]]", text)
    report = assess(touches, gate(lead))
    assert report.passed, report.failures
    assert report.breakdown["personalization"] == 5  # step 1 of 2 is impersonal: nothing personal was known


async def test_full_lead_passes_the_gate_with_full_marks() -> None:
    lead = LeadData(email="jo@x.test", first_name="Jo", company="Globex", title="CTO", city="Berlin", industry="retail")
    report = assess(await write(lead), gate(lead))
    assert report.score == 100, report.failures


async def test_full_name_supplies_a_missing_first_name() -> None:
    touches = await write(LeadData(email="a@x.test", full_name="Ana Maria Souza", company="Initech"))
    assert touches[1].body.startswith("Hi Ana, just bumping this.")


async def test_braces_inside_lead_data_never_reach_the_email() -> None:
    touches = await write(LeadData(email="a@x.test", first_name="Jo", company="Acme {beta}"))
    assert touches[0].subject == "Jo, a quick idea for Acme beta"


async def test_same_input_same_output() -> None:
    lead = LeadData(email="jo@x.test", first_name="Jo", company="Globex")
    assert await write(lead) == await write(lead)


async def test_unknown_placeholder_is_a_campaign_error_naming_the_field() -> None:
    bad = campaign(Step(subject="Hi {firstname}", body="Hello {first_name}"))
    with pytest.raises(PermanentError, match=r"step 1 subject .*\{firstname\}"):
        await write(LeadData(email="a@x.test"), bad)
    with pytest.raises(PermanentError, match="firstname"):
        check_templates(bad)


@pytest.mark.parametrize("template", ["Hi {}", "Hi {0}", "Hi {first_name.__class__}", "Hi {first_name"])
async def test_positional_attribute_and_malformed_fields_are_refused(template: str) -> None:
    with pytest.raises(PermanentError, match="step 1 body"):
        await write(LeadData(email="a@x.test"), campaign(Step(subject="Hello", body=template)))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hello {first_name}!", "Hello there!"),
        ("hey {first_name},", "hey there,"),
        ("Dear {first_name},", "Hi there,"),
        ("Thanks, {first_name}!", "Thanks!"),
        ("{first_name}: quick question about {company}", "Quick question about your team"),
        ("Literal {{first_name}} stays escaped", "Literal {first_name} stays escaped"),
    ],
)
async def test_missing_first_name_reads_naturally(template: str, expected: str) -> None:
    touches = await write(LeadData(email="a@x.test"), campaign(Step(subject="Hello", body=template)))
    assert touches[0].body == expected


def test_good_templates_pass_the_campaign_check() -> None:
    check_templates(campaign())
