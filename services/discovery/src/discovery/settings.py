"""Discovery settings."""

from pydantic import Field

from coldstream_shared.settings import ServiceSettings


class DiscoverySettings(ServiceSettings):
    """Shared settings plus how many rows one import transaction covers."""

    # One transaction per batch; its events are then published concurrently, so a batch must stay well inside
    # what JetStream acknowledges before the publish timeout on a busy machine.
    import_batch_size: int = Field(100, ge=1, le=10_000)
    # People search (sources of type `provider`). Apollo is on when its key is set; the base URL points tests and
    # benchmarks at the local fake.
    apollo_api_key: str | None = None
    apollo_base_url: str = "https://api.apollo.io"
    people_search_requests_per_minute: float = Field(50, gt=0)
    people_search_per_page: int = Field(100, ge=1, le=100)
    people_search_timeout: float = Field(30, gt=0)
