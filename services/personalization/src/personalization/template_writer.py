"""The offline writer: renders the campaign's own templates, with graceful fallbacks for missing lead data."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Literal

from coldstream_shared.errors import PermanentError
from coldstream_shared.events import LeadData, Touch
from personalization.campaign import Campaign
from personalization.lead_fields import first_name_of, lead_value
from personalization.prompts import PromptVersion
from personalization.writer import WriteRequest, Written

# What a template may say when the lead lacks the field: it must still read as a sentence a person wrote.
# A missing first name is dropped ("{first_name}, an idea" -> "An idea"), except after a greeting, where
# "Hi {first_name}," becomes "Hi there," (see GREETING), never "Hi ,".
FALLBACKS: Mapping[str, str] = {
    "first_name": "",
    "last_name": "",
    "company": "your team",
    "title": "your role",
    "city": "your area",
    "industry": "your industry",
}
FIELDS = frozenset({*FALLBACKS, "sender_name", "product", "value_proposition", "call_to_action"})

# "Hi/Hello/Hey/Dear {first_name}" (not the escaped "{{first_name}}"); "Dear there" reads badly, so Dear -> Hi.
GREETING = re.compile(r"\b(?:(hi|hello|hey)|dear)([ \t]+)(?<!\{)\{first_name\}(?!\})", re.IGNORECASE)
_LEADING_PUNCT = re.compile(r"^[,;:][ \t]*")
_DOUBLE_PUNCT = re.compile(r"[,;:][ \t]*(?=[.!?,;:])")
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?])")


def fields_for(lead: LeadData, campaign: Campaign) -> dict[str, str]:
    """Every template field, with the fallback wherever the lead has no value."""
    known = {
        "first_name": first_name_of(lead),
        "last_name": lead_value(lead.last_name),
        "company": lead_value(lead.company),
        "title": lead_value(lead.title),
        "city": lead_value(lead.city),
        "industry": lead_value(lead.industry),
    }
    values = {name: known[name] or fallback for name, fallback in FALLBACKS.items()}
    return values | {
        "sender_name": campaign.from_name.strip(),
        "product": campaign.offer.product.strip(),
        "value_proposition": campaign.offer.value_proposition.strip(),
        "call_to_action": campaign.offer.call_to_action.strip(),
    }


def template_fields(template: str, where: str) -> set[str]:
    """The field names a template uses; a malformed template or an unknown field is a campaign error."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise PermanentError(f"campaign template {where} is malformed: {error}") from error
    used = {name for _, name, _, _ in parsed if name is not None}
    # Exact names only: this also refuses positional "{}" and attribute access like "{first_name.__class__}".
    unknown = sorted(used - FIELDS)
    if unknown:
        raise PermanentError(
            f"campaign template {where} uses unknown placeholder(s) "
            f"{', '.join('{' + name + '}' for name in unknown)}; known: {', '.join(sorted(FIELDS))}"
        )
    return used


def render(template: str, values: Mapping[str, str], where: str) -> str:
    """Fill one template and tidy the whitespace an empty fallback leaves behind."""
    template_fields(template, where)
    if not values["first_name"]:
        template = GREETING.sub(lambda m: f"{m.group(1) or 'Hi'}{m.group(2)}there", template)
    try:
        text = template.format_map(values)
    except (ValueError, TypeError) as error:  # a format spec that does not fit a string, e.g. "{company:d}"
        raise PermanentError(f"campaign template {where} cannot be rendered: {error}") from error
    return "\n".join(_tidy(line) for line in text.splitlines()).strip()


def _tidy(line: str) -> str:
    # Keep the template's own indentation; only the gaps an empty value left inside the line are closed.
    body = line.lstrip()
    indent = line[: len(line) - len(body)]
    body = _DOUBLE_PUNCT.sub("", _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", body))).rstrip()
    stripped = _LEADING_PUNCT.sub("", body)
    if stripped != body:  # the line began with a dropped value: it now begins a sentence
        body = stripped[:1].upper() + stripped[1:]
    return indent + body


def check_templates(campaign: Campaign) -> None:
    """Raise PermanentError naming the first step whose template cannot be rendered."""
    for number, step in enumerate(campaign.steps, start=1):
        template_fields(step.subject, f"step {number} subject")
        template_fields(step.body, f"step {number} body")


class TemplateWriter:
    """Deterministic writer used when no LLM is configured: same lead and campaign, same sequence."""

    writer: Literal["template", "llm"] = "template"
    model: str = "template-writer/v1"

    def prompt_version(self, prompt: PromptVersion) -> str:
        # The campaign's own templates are the "prompt"; the model id says which renderer filled them.
        return "template/v1"

    async def write(self, request: WriteRequest) -> Written:
        """One touch per campaign step; feedback cannot change a template, so a rewrite gives the same text."""
        return Written(render_sequence(request.brief.lead, request.campaign), framework="template")


def render_sequence(lead: LeadData, campaign: Campaign) -> list[Touch]:
    """One touch per campaign step, rendered from the campaign's templates."""
    values = fields_for(lead, campaign)
    return [
        Touch(
            step=number,
            subject=render(step.subject, values, f"step {number} subject"),
            body=render(step.body, values, f"step {number} body"),
            delay_days=step.delay_days,
        )
        for number, step in enumerate(campaign.steps, start=1)
    ]
