"""Turning a raw reply into the words the sender actually wrote: HTML to text, quoted thread stripped."""

from __future__ import annotations

import html
import re
import unicodedata

from email_reply_parser import EmailReplyParser

_BLOCKQUOTE = re.compile(r"<blockquote\b.*?</blockquote>", re.IGNORECASE | re.DOTALL)
_GMAIL_QUOTE = re.compile(r"<div[^>]*class=\"?gmail_(?:extra|quote)\b.*", re.IGNORECASE | re.DOTALL)
_BREAKS = re.compile(r"<\s*(?:br|/p|/div|/h\d|/li|/tr)\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_LOOKS_HTML = re.compile(r"<\s*(?:html|body|div|p|br|span|table|h\d|a)\b", re.IGNORECASE)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


def html_to_text(text: str) -> str:
    """Plain text from an HTML body, dropping quoted blocks; plain text is returned unchanged."""
    if not _LOOKS_HTML.search(text):
        return text
    text = _GMAIL_QUOTE.sub("", _BLOCKQUOTE.sub("", text))
    return html.unescape(_TAGS.sub("", _BREAKS.sub("\n", text)))


def latest_reply(text: str) -> str:
    """Only the newest message: quoted thread and signature removed (GitHub's reply-parser rules)."""
    plain = html_to_text(text)
    try:
        reply = EmailReplyParser.parse_reply(plain)
    except Exception:  # a parser bug must never lose a reply: fall back to the whole text
        return plain.strip()
    # The parser can strip everything (e.g. a body that is only a quote): keep the original then.
    return reply.strip() or plain.strip()


def fold(text: str) -> str:
    """Lowercase, accents removed, typographic quotes made plain, whitespace collapsed: for phrase matching."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
