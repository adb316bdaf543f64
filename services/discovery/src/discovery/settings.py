"""Discovery settings."""

from pydantic import Field

from coldstream_shared.settings import ServiceSettings


class DiscoverySettings(ServiceSettings):
    """Shared settings plus how many rows one import transaction covers."""

    # One transaction per batch: each costs a row lock, about ten statements and a commit whatever its size, so
    # 1,000 rows rather than 100 (benchmarks/discovery.py). Its events are then published with the outbox's bounded
    # concurrency, each publish with its own timeout, so the batch size does not bring timeouts closer.
    import_batch_size: int = Field(1000, ge=1, le=10_000)
    # Worker processes that normalise the next batch while this one is recorded (0: in the service's process).
    import_workers: int = Field(1, ge=0, le=8)
    # People search (sources of type `provider`). Apollo is on when its key is set; the base URL points tests and
    # benchmarks at the local fake.
    apollo_api_key: str | None = None
    apollo_base_url: str = "https://api.apollo.io"
    people_search_requests_per_minute: float = Field(50, gt=0)
    people_search_per_page: int = Field(100, ge=1, le=100)
    people_search_timeout: float = Field(30, gt=0)
