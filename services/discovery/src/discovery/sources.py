"""Lead files (CSV and JSONL): checked up front, then streamed row by row.

Row numbers are what a person sees: in a CSV the header is row 1 and the first lead row 2 (as in a
spreadsheet); in a JSONL file it is the line number. Blank rows are skipped but keep their numbers.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from coldstream_shared.campaign import Source
from discovery.columns import LEAD_FIELDS, ColumnMapError, ColumnMapping, map_columns

# Large cells are read (and cut to size by normalisation) instead of aborting the file with csv.Error.
csv.field_size_limit(16 * 1024 * 1024)
_DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 1 << 20
# A quoted cell may hold line breaks (an address, a note), but not this many.
MAX_LINES_PER_ROW = 20


class SourceError(Exception):
    """A whole source cannot be read: the campaign stops with this message (it names the file)."""


@dataclass(frozen=True)
class SourceRow:
    """One input row, split into lead fields and extra columns; `problem` when the row itself is unreadable."""

    source_index: int
    row_number: int
    fields: dict[str, str] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True)
class LeadFile:
    """A source that passed the up-front checks: it exists, it decodes, its column map fits its header."""

    index: int
    source: Source
    path: Path
    encoding: str
    delimiter: str = ","
    mapping: ColumnMapping | None = None

    def estimated_rows(self) -> int | None:
        """Rows in the file, estimated from its size and the first MiB (exact for smaller files)."""
        try:
            size = self.path.stat().st_size
            with self.path.open("rb") as handle:
                sample = handle.read(_SAMPLE_BYTES)
        except OSError:
            return None
        lines = sample.count(b"\n") + (0 if sample.endswith(b"\n") or not sample else 1)
        if not sample or not lines:
            return 0
        estimate = lines if len(sample) >= size else round(size * lines / len(sample))
        rows = estimate - (1 if self.source.type == "csv" else 0)
        return max(0, min(rows, self.source.limit or rows))

    @property
    def name(self) -> str:
        """How row-level reasons name the source: the file name."""
        return self.path.name

    @property
    def label(self) -> str:
        """How events and reasons name the source, e.g. 'csv:leads.csv'."""
        return f"{self.source.type}:{self.path.name}"

    def rows(self, after_row: int = 0) -> Iterator[SourceRow]:
        """Rows numbered above `after_row` (the import cursor), at most `source.limit` rows in all."""
        reader = self._csv_rows() if self.source.type == "csv" else self._jsonl_rows()
        limit = self.source.limit
        for count, row in enumerate(reader, start=1):
            if limit is not None and count > limit:
                return
            if row.row_number > after_row:
                yield row

    def _csv_rows(self) -> Iterator[SourceRow]:
        assert self.mapping is not None
        with self.path.open(newline="", encoding=self.encoding) as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            try:
                next(reader)  # the header, read and checked in open_source
                line = reader.line_num
                for number, cells in enumerate(reader, start=2):
                    spanned, line = reader.line_num - line, reader.line_num
                    if spanned > MAX_LINES_PER_ROW:
                        # An unterminated quote read the lines after it into one cell: say so, never drop them.
                        problem = (
                            f"row {number} spans {spanned} lines (up to line {line}): probably an unterminated "
                            "quote; the lines it swallowed were not imported as rows"
                        )
                        yield SourceRow(self.index, number, problem=problem)
                    elif any(cell.strip() for cell in cells):
                        fields, extras = self.mapping.apply(cells)
                        yield SourceRow(self.index, number, fields, extras)
            except csv.Error as error:
                raise SourceError(f"{self.path}: unreadable CSV near line {reader.line_num}: {error}") from error

    def _jsonl_rows(self) -> Iterator[SourceRow]:
        column_map = self.source.column_map
        with self.path.open(encoding=self.encoding) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    yield SourceRow(self.index, number, problem=f"line {number} is not valid JSON ({error.msg})")
                    continue
                if not isinstance(record, dict):
                    yield SourceRow(self.index, number, problem=f"line {number} is not a JSON object")
                    continue
                cells = [_as_text(value) for value in record.values()]
                try:
                    mapping = map_columns([str(key) for key in record], column_map)
                except ColumnMapError:
                    # Records may differ in shape: one without a mapped key simply lacks that field.
                    mapping = map_columns([str(key) for key in record])
                fields, extras = mapping.apply(cells)
                yield SourceRow(self.index, number, fields, extras)


@dataclass(frozen=True, order=True)
class Cursor:
    """The last row whose outcome is recorded."""

    source_index: int = 0
    row_number: int = 0


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def detect_encoding(path: Path) -> str:
    """UTF-8 (a BOM is dropped) when the whole file decodes as UTF-8, Latin-1 otherwise (it always decodes)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8-sig"


def open_source(index: int, source: Source) -> LeadFile:
    """Check one source before any row is imported; a SourceError names the file and the problem."""
    if source.type not in ("csv", "jsonl"):
        raise SourceError(f"sources[{index}]: {source.type} sources are not supported yet")
    path = Path(source.path or "")
    if not path.is_file():
        # The CLI makes paths absolute (relative to the campaign file); a relative one here was published by hand.
        hint = "" if path.is_absolute() else " (a relative path: start campaigns with the CLI, which resolves it)"
        raise SourceError(f"sources[{index}]: lead file {path} does not exist or is not a file{hint}")
    unknown = sorted(set(source.column_map) - LEAD_FIELDS)
    if unknown:
        raise SourceError(f"sources[{index}] ({path}): column_map names unknown fields {unknown}")
    try:
        encoding = detect_encoding(path)
        if source.type == "jsonl":
            return LeadFile(index, source, path, encoding)
        with path.open(newline="", encoding=encoding) as handle:
            first_line = handle.readline()
            delimiter = max(_DELIMITERS, key=first_line.count)
            handle.seek(0)
            header = next(csv.reader(handle, delimiter=delimiter), None)
    except OSError as error:
        raise SourceError(f"sources[{index}]: cannot read lead file {path}: {error}") from error
    except csv.Error as error:
        raise SourceError(f"sources[{index}]: {path} has an unreadable header row: {error}") from error
    if not header or not any(cell.strip() for cell in header):
        raise SourceError(f"sources[{index}]: {path} is empty (a CSV needs a header row)")
    try:
        mapping = map_columns(header, source.column_map)
    except ColumnMapError as error:
        raise SourceError(f"sources[{index}] ({path}): {error}") from error
    if "email" not in mapping.fields:
        # Every row would be rejected as missing_email: say once what is wrong instead.
        shown = ", ".join(repr(h) for h in header[:20])
        raise SourceError(
            f"sources[{index}]: {path} has no email column (headers: {shown}); name it in column_map, e.g. "
            "column_map: {email: 'Work Email'}"
        )
    return LeadFile(index, source, path, encoding, delimiter, mapping)
