"""Cheap extraction of a stated return date ("back on May 5th", "July 10-31", "until 2024-06-03")."""

from __future__ import annotations

import re
from datetime import date

from replies.reply_text import fold

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            # English, German, French, Spanish, Italian, Portuguese, Dutch (folded: no accents)
            ("jan", "january", "januar", "janvier", "enero", "gennaio", "janeiro", "januari"),
            ("feb", "february", "februar", "fevrier", "febrero", "febbraio", "fevereiro", "februari"),
            ("mar", "march", "marz", "mars", "marzo", "marco", "maart"),
            ("apr", "april", "avril", "abril", "aprile"),
            ("may", "mai", "mayo", "maggio", "maio", "mei"),
            ("jun", "june", "juni", "juin", "junio", "giugno", "junho"),
            ("jul", "july", "juli", "juillet", "julio", "luglio", "julho"),
            ("aug", "august", "aout", "agosto", "augustus"),
            ("sep", "sept", "september", "septembre", "septiembre", "settembre", "setembro"),
            ("oct", "october", "oktober", "octobre", "octubre", "ottobre", "outubro"),
            ("nov", "november", "novembre", "noviembre", "novembro"),
            ("dec", "december", "dezember", "decembre", "diciembre", "dicembre", "dezembro"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th|\.)?"
_RANGE_END = r"(?:\s*(?:-|\u2013|to|until|through)\s*(?P<end>\d{1,2})(?:st|nd|rd|th)?)?"
_YEAR = r"(?:,?\s*(?P<year>20\d{2}))?"
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}\b{_RANGE_END}{_YEAR}", re.IGNORECASE)
_DAY_MONTH = re.compile(rf"\b{_DAY}\s+(?:(?:of|de|del)\s+)?{_MONTH}\b{_YEAR}", re.IGNORECASE)
_ISO = re.compile(r"\b(?P<year>20\d{2})-(?P<month>\d{2})-(?P<day>\d{2})\b")


def find_return_date(text: str, today: date) -> date | None:
    """The first date stated in `text`, the end of a range if it is one; the year defaults to the next match."""
    text = fold(text)  # "März", "août", "décembre" match their plain spellings
    if match := _ISO.search(text):
        return _date(int(match["year"]), int(match["month"]), int(match["day"]))
    for pattern in (_MONTH_DAY, _DAY_MONTH):
        if match := pattern.search(text):
            month = MONTHS[match["month"].lower()]
            day = int(match.groupdict().get("end") or match["day"])
            if match["year"]:
                return _date(int(match["year"]), month, day)
            found = _date(today.year, month, day)
            if found and found < today:
                found = _date(today.year + 1, month, day)
            return found
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
