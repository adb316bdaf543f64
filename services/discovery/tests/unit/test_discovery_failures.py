from concurrent.futures.process import BrokenProcessPool

import asyncpg
import pytest
from nats.errors import BadSubjectError, ConnectionClosedError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, ProgrammingError

from coldstream_shared.errors import PermanentError, TransientError
from coldstream_shared.events import CampaignAlert
from discovery.failures import ImportedElsewhereError, failure_details, is_retryable, stopped_message


def wrapped(orig: Exception, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        TransientError("provider down"),
        ImportedElsewhereError("another delivery"),
        ConnectionResetError(),
        TimeoutError(),
        BrokenProcessPool(),
        ConnectionClosedError(),
        wrapped(asyncpg.exceptions.DeadlockDetectedError("deadlock")),
        wrapped(asyncpg.exceptions.AdminShutdownError("shutdown")),
        asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
        wrapped(RuntimeError("connection lost"), invalidated=True),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_of_the_moment_are_retried(error: Exception) -> None:
    assert is_retryable(error)


def _validation_error() -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        CampaignAlert.model_validate({})
    return raised.value


@pytest.mark.parametrize(
    "error",
    [
        KeyError("a bug"),
        AssertionError(),
        PermanentError("bad data"),
        _validation_error(),
        BadSubjectError(),
        asyncpg.exceptions.UndefinedTableError("no table"),
        ProgrammingError("SELECT", {}, asyncpg.exceptions.UndefinedColumnError("no column")),
        wrapped(asyncpg.exceptions.UniqueViolationError("duplicate")),
        wrapped(asyncpg.exceptions.CharacterNotInRepertoireError("NUL")),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_that_repeat_on_every_delivery_are_not(error: Exception) -> None:
    assert not is_retryable(error)


def test_the_message_names_the_cause_on_one_line_without_the_statement() -> None:
    error = ProgrammingError("INSERT INTO x VALUES ('ann@acme.com')", {}, RuntimeError("relation x does not exist"))
    message = stopped_message("c-1", error, retried=True)
    assert message.startswith("campaign c-1: the import stopped on ProgrammingError (still failing on its last")
    assert "relation x does not exist" in message
    assert "ann@acme.com" not in message
    assert "\n" not in message
    assert failure_details(asyncpg.exceptions.UndefinedTableError("x"), (0, 41)) == {
        "error_type": "UndefinedTableError",
        "sqlstate": "42P01",
        "cursor_source": 0,
        "cursor_row": 41,
    }
