"""Discovery settings."""

from pydantic import Field

from coldstream_shared.settings import ServiceSettings


class DiscoverySettings(ServiceSettings):
    """Shared settings plus how many rows one import transaction covers."""

    import_batch_size: int = Field(250, ge=1, le=10_000)
