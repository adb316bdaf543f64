"""HTML → plain text, a short company summary and technology hints (BeautifulSoup does the parsing).

The summary is untrusted text from the open web: it is passed on as data (with its source URL), never as
instructions, and capped in length.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

SUMMARY_CHARS = 600
# A marker in the page source → the technology it shows (a free, partial tech-stack signal).
TECH_MARKERS = {
    "wp-content": "WordPress",
    "cdn.shopify.com": "Shopify",
    "js.hs-scripts.com": "HubSpot",
    "googletagmanager.com": "Google Tag Manager",
    "widget.intercom.io": "Intercom",
    "cdn.segment.com": "Segment",
    "static.hotjar.com": "Hotjar",
    "js.stripe.com": "Stripe",
    "webflow": "Webflow",
    "__next": "Next.js",
    "salesforce": "Salesforce",
}


def page_text(html: str) -> tuple[str, str]:
    """(title or "", visible text) with scripts, styles and markup removed."""
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    description = soup.find("meta", attrs={"name": "description"})
    lead = str(description.get("content") or "") if description is not None else ""
    for tag in soup(["head", "script", "style", "noscript", "svg", "template", "nav", "footer"]):
        tag.decompose()
    body = re.sub(r"\s+", " ", soup.get_text(" ", strip=True)).strip()
    return title, f"{lead} {body}".strip() if lead and lead not in body else body


def summarize(html: str) -> str:
    """A short description: title plus the first sentences of visible text."""
    title, text = page_text(html)
    summary = f"{title}. {text}" if title and not text.startswith(title) else text
    if len(summary) <= SUMMARY_CHARS:
        return summary
    cut = summary[:SUMMARY_CHARS]
    return (cut[: cut.rfind(". ") + 1] if ". " in cut else cut).strip()


def tech_stack(html: str) -> list[str]:
    """Technologies whose markers appear in the page source."""
    lowered = html.lower()
    return sorted({name for marker, name in TECH_MARKERS.items() if marker.lower() in lowered})
