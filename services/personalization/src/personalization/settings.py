"""Personalization settings."""

from pydantic import Field, SecretStr

from coldstream_shared.settings import ServiceSettings


class PersonalizationSettings(ServiceSettings):
    """Shared settings, the Anthropic key that selects the writer, and the model's knobs and limits."""

    # Standard names, no COLDSTREAM_ prefix: the anthropic SDK and every operator already know them.
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")
    anthropic_model: str = "claude-sonnet-4-6"
    anthropic_max_tokens: int = Field(2048, ge=256, le=64_000)
    # Unset by default: the SDK no longer has the parameter; when set it is sent as an extra body field.
    anthropic_temperature: float | None = Field(None, ge=0, le=1)
    anthropic_timeout: float = Field(60.0, gt=0, description="Seconds per request attempt.")
    anthropic_max_retries: int = Field(4, ge=0, description="SDK retries on 429/529/5xx/timeouts (retry-after).")
    # Client-side limits, below the account's: 0 disables the rate limits.
    llm_concurrency: int = Field(32, ge=1, description="Leads written at the same time (and model calls in flight).")
    # The template writer makes no calls: its leads are bounded by CPU and the database only. Each lead used to borrow
    # a connection for its context read, which tied this to the pool (wider opened and closed connections of its
    # own); the reads of the leads pulled together now share one statement (lead_context.py) and the group commit
    # stores at most two batches at once, so a few connections serve any width. In the 2,000-lead pipeline, 32
    # against 10: 14.5 statements per lead instead of 16.9 (bigger batches), 3.2 ms of personalization CPU per lead
    # instead of 3.4.
    template_concurrency: int = Field(
        32, ge=1, description="Leads written at the same time by the template writer (no ANTHROPIC_API_KEY)."
    )
    llm_requests_per_minute: float = Field(50, ge=0)
    llm_tokens_per_minute: float = Field(0, ge=0)
    # Ack wait of the lead.verified consumer; heartbeats go out at a third of it while a lead is being written.
    lead_ack_wait: float = Field(60.0, gt=1)
