"""Formula-injection cells are stored as text and escaped on export."""

import csv
import io

from discovery.export import leads_csv, spreadsheet_safe


def test_formula_cells_get_an_apostrophe_and_plain_cells_do_not() -> None:
    cells = ['=HYPERLINK("http://evil","x")', "+1 555", "-2", "@SUM(A1)", "\tx", "Acme", "", None, 42]
    assert [spreadsheet_safe(c) for c in cells] == [
        '\'=HYPERLINK("http://evil","x")',
        "'+1 555",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "Acme",
        "",
        "",
        "42",
    ]


def test_exported_csv_round_trips_as_text() -> None:
    text = leads_csv(["email", "company"], [{"email": "a@acme.com", "company": "=1+1"}])
    assert list(csv.reader(io.StringIO(text))) == [["email", "company"], ["a@acme.com", "'=1+1"]]
