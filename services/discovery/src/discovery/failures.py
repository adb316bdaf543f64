"""Pure rules: which failures of an import a later delivery can get past, and how a stopped import is described.

An import that fails for any reason must end visibly (campaign `failed`, `campaign.alert import_failed`, the start
dead-lettered for a replay), never stay "importing" while its start is retried and finally parked in silence. Only
a failure of the moment (the database or NATS unreachable, a deadlock, a worker killed) is worth another delivery;
and even that one stops the campaign visibly once the deliveries are used up.
"""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool

from nats import errors as nats_errors
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from coldstream_shared.dead_letters import is_permanent
from coldstream_shared.errors import TransientError

# SQLSTATE classes a retry can get past: 08 connection exception, 40 transaction rollback (serialization failure,
# deadlock), 53 insufficient resources (disk full, too many connections), 57 operator intervention (admin
# shutdown, statement cancelled), 58 system error (I/O). Anything else (22 bad data, 23 a constraint, 42 a bad
# statement or a missing column) fails the same way on every delivery: a bug or a migration that did not run.
RETRYABLE_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
LOCK_NOT_AVAILABLE = "55P03"
# The NATS errors of a lost or busy connection (a heartbeat, a publish); not those of a bad subject or payload.
_NATS_CONNECTION = (
    nats_errors.ConnectionClosedError,
    nats_errors.ConnectionDrainingError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.NoServersError,
    nats_errors.NoRespondersError,
    nats_errors.OutboundBufferLimitError,
    nats_errors.SlowConsumerError,
    nats_errors.StaleConnectionError,
)
_OF_THE_MOMENT = (TransientError, OSError, TimeoutError, BrokenProcessPool, PoolTimeoutError, *_NATS_CONNECTION)


class ImportedElsewhereError(TransientError):
    """Another delivery of the same start (or an earlier start) holds the import: wait, never fail the campaign."""


def sqlstate_of(error: BaseException) -> str | None:
    """The Postgres SQLSTATE on the driver's error, also when SQLAlchemy wraps it."""
    state = getattr(error, "sqlstate", None) or getattr(getattr(error, "orig", None), "sqlstate", None)
    return state if isinstance(state, str) else None


def is_retryable(error: BaseException) -> bool:
    """Whether another delivery may succeed where this one failed."""
    if is_permanent(error):
        return False
    if isinstance(error, _OF_THE_MOMENT):
        return True
    state = sqlstate_of(error)
    if state is not None:
        return state[:2] in RETRYABLE_SQLSTATE_CLASSES or state == LOCK_NOT_AVAILABLE
    # Without a SQLSTATE: the connection broke under the statement (the pool replaces it on the next checkout).
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError)


def stopped_message(campaign_id: str, error: BaseException, *, retried: bool = False) -> str:
    """What the campaign's `error` and its alert say: the cause, and that a replay resumes after the fix."""
    text = str(error).strip()
    # The first line only: a database error goes on with the statement and its parameters (addresses).
    cause = text.splitlines()[0][:500] if text else "no message"
    retries = " (still failing on its last delivery)" if retried else ""
    return (
        f"campaign {campaign_id}: the import stopped on {type(error).__name__}{retries}: {cause}; the rows recorded "
        "so far are kept, and replaying the start from the dead-letter stream resumes after them"
    )


def failure_details(error: BaseException, at_row: tuple[int, int] | None) -> dict[str, str | int | float | None]:
    """The alert's machine-readable part: the error type and the import cursor it stopped after."""
    details: dict[str, str | int | float | None] = {"error_type": type(error).__name__}
    if sqlstate_of(error):
        details["sqlstate"] = sqlstate_of(error)
    if at_row is not None:
        details["cursor_source"], details["cursor_row"] = at_row
    return details
