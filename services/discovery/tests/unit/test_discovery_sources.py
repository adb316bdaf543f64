"""Reading lead files: encodings, delimiters, blank and ragged rows, limits, resuming after a cursor."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coldstream_shared.campaign import Source
from discovery.row_stream import batched, rows_after
from discovery.sources import Cursor, SourceError, SourceRow, open_source


def write(path: Path, data: bytes) -> Source:
    path.write_bytes(data)
    return Source(type="jsonl" if path.suffix == ".jsonl" else "csv", path=str(path))


def test_utf8_with_bom(tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", "\ufeffEmail,First Name\njose@acme.com,José\n".encode())
    lead_file = open_source(0, source)
    assert lead_file.encoding == "utf-8-sig"
    [row] = lead_file.rows()
    assert row.fields == {"email": "jose@acme.com", "first_name": "José"}
    assert row.row_number == 2


def test_latin1_fallback(tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", "email,first_name\njose@acme.com,José\n".encode("latin-1"))
    lead_file = open_source(0, source)
    assert lead_file.encoding == "latin-1"
    assert next(iter(lead_file.rows())).fields["first_name"] == "José"


def test_semicolons_blank_rows_and_ragged_rows(tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", b"email;company\na@acme.com;Acme\n\n;\nb@acme.com\n")
    rows = list(open_source(0, source).rows())
    assert [(r.row_number, r.fields) for r in rows] == [
        (2, {"email": "a@acme.com", "company": "Acme"}),
        (5, {"email": "b@acme.com"}),
    ]


async def test_limit_and_resume_after_cursor(tmp_path: Path) -> None:
    body = "email\n" + "".join(f"u{i}@acme.com\n" for i in range(10))
    first = open_source(0, write(tmp_path / "a.csv", body.encode()))
    second = open_source(1, write(tmp_path / "b.csv", b"email\nz@acme.com\n"))
    resumed = [row async for row in rows_after([first, second], Cursor(0, 9))]
    assert [(r.source_index, r.row_number) for r in resumed] == [(0, 10), (0, 11), (1, 2)]
    limited = open_source(0, Source(path=first.source.path, limit=3))
    assert len(list(limited.rows())) == 3


async def test_batched() -> None:
    async def rows() -> AsyncIterator[SourceRow]:
        for number in range(7):
            yield SourceRow(0, number)

    assert [len(b) async for b in batched(rows(), 3)] == [3, 3, 1]


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.csv does not exist"):
        open_source(0, Source(path=str(tmp_path / "nope.csv")))


def test_empty_file_and_bad_column_map_are_campaign_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is empty"):
        open_source(0, write(tmp_path / "empty.csv", b""))
    path = tmp_path / "a.csv"
    path.write_bytes(b"email\n")
    with pytest.raises(SourceError, match="no column 'Work Email'"):
        open_source(0, Source(path=str(path), column_map={"email": "Work Email"}))


def test_jsonl_rows_and_bad_lines(tmp_path: Path) -> None:
    source = write(
        tmp_path / "a.jsonl",
        b'{"Email": "a@acme.com", "revenue": 50}\n\nnot json\n[1]\n{"email": "b@acme.com"}\n',
    )
    rows = list(open_source(0, source).rows())
    assert [(r.row_number, r.fields, r.extras, r.problem is not None) for r in rows] == [
        (1, {"email": "a@acme.com"}, {"revenue": "50"}, False),
        (3, {}, {}, True),
        (4, {}, {}, True),
        (5, {"email": "b@acme.com"}, {}, False),
    ]


def test_a_file_without_an_email_column_is_a_campaign_error_naming_the_headers(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no email column \(headers: 'Name', 'Company'\)"):
        open_source(0, write(tmp_path / "a.csv", b"Name,Company\nAnn,Acme\n"))


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    assert list(open_source(0, write(tmp_path / "a.csv", b"email,name\n")).rows()) == []


def test_duplicated_and_missing_headers_keep_every_column(tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", b"email,Email,,notes,notes\na@acme.com,b@acme.com,x,n1,n2\n")
    [row] = open_source(0, source).rows()
    assert row.fields == {"email": "a@acme.com"}
    assert row.extras == {"Email": "b@acme.com", "column_3": "x", "notes": "n1", "notes_5": "n2"}


def test_ragged_rows_keep_extra_cells_and_short_rows_lack_fields(tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", b"email,company\na@acme.com,Acme,surprise,more\nb@acme.com\n")
    long_row, short_row = open_source(0, source).rows()
    assert long_row.extras == {"column_3": "surprise", "column_4": "more"}
    assert short_row.fields == {"email": "b@acme.com"}


def test_an_unterminated_quote_is_a_row_level_problem_naming_the_swallowed_lines(tmp_path: Path) -> None:
    body = 'email,notes\na@acme.com,"unterminated\n' + "".join(f"u{i}@acme.com,x\n" for i in range(30))
    [row] = open_source(0, write(tmp_path / "a.csv", body.encode())).rows()
    assert row.problem is not None
    assert "unterminated quote" in row.problem
    ok = 'email,notes\na@acme.com,"two\nlines"\nb@acme.com,x\n'
    assert [r.fields["email"] for r in open_source(0, write(tmp_path / "b.csv", ok.encode())).rows()] == [
        "a@acme.com",
        "b@acme.com",
    ]


def test_row_estimate_for_progress(tmp_path: Path) -> None:
    body = "email\n" + "".join(f"u{i}@acme.com\n" for i in range(1000))
    assert open_source(0, write(tmp_path / "a.csv", body.encode())).estimated_rows() == 1000
