"""INSERT ... ON CONFLICT DO NOTHING statements that SQLAlchemy compiles once, not on every execution.

SQLAlchemy 2.0's `postgresql.insert()` has no cache key once it carries `on_conflict_*` (its `inherit_cache` is
False), so each execution compiles the statement again: the largest single cost in a profile of the webhook path.
A `text()` statement is cached like any other, and asyncpg prepares it once per connection. The SQL is built from
the `Table`, so a renamed column fails at import, not at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Enum, String, Table, bindparam, text
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.sql.type_api import TypeEngine

_DIALECT = PGDialect()  # type: ignore[no-untyped-call]  # only renders type names


def insert_or_skip(table: Table, columns: Sequence[str], returning: str) -> TextualSelect:
    """One row: `execute(statement, {column: value})` returns `returning` of the row, or nothing on a conflict."""
    names = ", ".join(columns)
    values = ", ".join(f":{name}" for name in columns)
    statement = text(
        f"INSERT INTO {_name(table)} ({names}) VALUES ({values}) ON CONFLICT DO NOTHING RETURNING {returning}"
    )
    return statement.bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns)).columns(
        table.c[returning]
    )


def insert_many_or_skip(table: Table, columns: Sequence[str], returning: str) -> TextualSelect:
    """Many rows in one statement of fixed text: `execute(statement, {column: [values...]})`, one list per column.

    `unnest` over one array per column keeps the statement (and its prepared plan) the same for any number of
    rows; rows that conflict, with stored rows or with each other, are skipped and not returned.
    """
    names = ", ".join(columns)
    types = {name: _unbounded(table.c[name].type) for name in columns}
    arrays = ", ".join(f"CAST(:{name} AS {types[name].compile(dialect=_DIALECT)}[])" for name in columns)
    statement = text(
        f"INSERT INTO {_name(table)} ({names}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"
        f" RETURNING {returning}"
    )
    # dimensions=1: a JSON column whose values are lists would otherwise be sent as a two-level array.
    arrays_of = (bindparam(name, type_=ARRAY(types[name], dimensions=1)) for name in columns)
    return statement.bindparams(*arrays_of).columns(table.c[returning])


def _unbounded(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """The column's type without its length: an explicit cast to `varchar(n)` silently truncates, so an over-long
    value (a lead id) would be stored cut, and could collide with another, instead of being refused like the
    one-row insert refuses it (SQLSTATE 22001 at the assignment: a data error, dead-lettered)."""
    if isinstance(type_, String) and not isinstance(type_, Enum) and type_.length is not None:
        return String()
    return type_


def _name(table: Table) -> str:
    return f"{table.schema}.{table.name}" if table.schema else table.name
