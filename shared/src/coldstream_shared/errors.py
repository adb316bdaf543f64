"""How a handler tells the messaging layer what kind of failure it hit."""


class PermanentError(Exception):
    """Retrying cannot help (bad data, a broken business rule): dead-letter the event at once."""


class TransientError(Exception):
    """Retrying later can help (a provider is down, a projection is not there yet): redeliver with a delay."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
