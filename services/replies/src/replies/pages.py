"""The small HTML pages a recipient sees after clicking the footer link."""

from __future__ import annotations

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}
button{{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""

# The form posts to the page's own URL, so the token is never echoed into the HTML.
CONFIRM = _PAGE.format(
    title="Unsubscribe",
    body="<p>Click the button to stop receiving emails from us.</p>"
    '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
    '<button type="submit">Unsubscribe</button></form>',
)
DONE = _PAGE.format(
    title="You are unsubscribed",
    body="<p>You will not receive further emails from us. Sorry for the interruption.</p>",
)
NOT_FOUND = _PAGE.format(
    title="Link not recognised",
    body="<p>This unsubscribe link is not valid. Reply to the email with “unsubscribe” and we will remove you.</p>",
)
UNAVAILABLE = _PAGE.format(
    title="Please try again",
    body="<p>We could not record your request just now. Please try again in a minute.</p>",
)
