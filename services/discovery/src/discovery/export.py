"""Exporting leads back to a spreadsheet: cells are escaped so none is ever evaluated as a formula.

Leads are stored exactly as read (`=HYPERLINK(...)` stays text). A cell starting with `=`, `+`, `-`, `@`, a tab
or a carriage return is what spreadsheet programs execute (CSV/formula injection, OWASP); on export it gets a
leading apostrophe, which every spreadsheet shows as text and hides.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def leads_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """A CSV of `columns` for `rows`, every cell spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(c) for c in columns])
    for row in rows:
        writer.writerow([spreadsheet_safe(row.get(column)) for column in columns])
    return out.getvalue()
