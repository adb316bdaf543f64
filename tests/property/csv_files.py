"""Hypothesis strategies for lead files as people export them: any encoding, delimiter, quoting, line ending, width."""

from __future__ import annotations

import csv
import io
import string

from hypothesis import strategies as st

HEADERS = st.sampled_from(
    [
        "email",
        "Email",
        "E-mail Address",
        "Work Email",
        "name",
        "First Name",
        "last_name",
        "company",
        "Company",
        "website",
        "linkedin",
        "phone",
        "country",
        "city",
        "company_size",
        "event_date",
        "title",
        "",
        "\ufeffemail",
        "notes",
    ]
) | st.text(max_size=12)
EMAILS = st.sampled_from(
    [
        "ada@acme.com",
        "ADA@Acme.com",
        "mailto:<bo@beta.io>",
        "josé@acme.com",
        "test@example.com",
        "info@acme.com",
        "n/a",
        "@evil.io",
        "a@b",
        "x@y.test",
        "",
        " ",
        "a\x00b@c.com",
        "dup@acme.com",
    ]
) | st.builds(
    "{}@{}.{}".format,
    st.text(alphabet=string.ascii_letters + string.digits + "._+-'", min_size=1, max_size=12),
    st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12),
    st.sampled_from(["com", "io", "co.uk", "de", "test", "example", "xn--p1ai"]),
)
CELLS = (
    EMAILS
    | st.text(max_size=40)
    | st.sampled_from(['=HYPERLINK("x")', "+1 555 0100", "51-200", "10,000+", "2026-03-01", '"', '""', "\n", "\r\n"])
    | st.sampled_from(["\x00", "\u200b", "\ufeff", "\t", ";", ",", "|", "\\", "😀"])
    | st.integers(min_value=495, max_value=2_000).map(lambda n: "L" * n)  # around the field length limit
)
DELIMITERS = st.sampled_from([",", ";", "\t", "|"])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"])
NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV as a spreadsheet, an export script or a hand edit produces it, encoded as something."""
    header = draw(st.lists(HEADERS, min_size=0, max_size=8))
    if draw(st.booleans()):
        header.insert(draw(st.integers(0, len(header))), draw(st.sampled_from(["email", "Email", "E-mail"])))
    rows = draw(st.lists(st.lists(CELLS, max_size=10), max_size=12))
    delimiter, newline = draw(DELIMITERS), draw(NEWLINES)
    if draw(st.booleans()):
        out = io.StringIO()
        quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
        writer = csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting)
        writer.writerow(header)
        writer.writerows(rows)
        text = out.getvalue()
    else:  # joined by hand: stray quotes, delimiters inside cells, unterminated quotes
        text = newline.join(delimiter.join(cells) for cells in [header, *rows])
    encoding = draw(ENCODINGS)
    return text.encode(encoding, errors=draw(st.sampled_from(["replace", "ignore", "xmlcharrefreplace"])))


# Any bytes at all, then the realistic ones.
LEAD_FILES = st.binary(max_size=300) | csv_files()


@st.composite
def unquoted_csv(draw: st.DrawFn) -> tuple[bytes, int]:
    """A quote-free UTF-8 CSV with an email column, and how many of its lines after the header are not blank.
    Without quotes every physical line is one row, so the count is known without a CSV parser."""
    plain = st.text(alphabet=st.characters(codec="utf-8", exclude_characters='"\r\n\x00,'), max_size=30)
    cells = EMAILS.filter(lambda e: not set(e) & set('"\r\n\x00,')) | plain
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=5), max_size=15))
    newline = draw(NEWLINES)
    lines = ["email,name,company"] + [",".join(row) for row in rows]
    return newline.join(lines).encode(), sum(1 for row in rows if any(cell.strip() for cell in row))
