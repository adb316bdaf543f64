"""Personalization settings."""

from pydantic import Field, SecretStr

from coldstream_shared.settings import ServiceSettings


class PersonalizationSettings(ServiceSettings):
    """Shared settings plus the Anthropic key that selects the writer."""

    # Standard names, no COLDSTREAM_ prefix: the anthropic SDK and every operator already know them.
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")
