"""Replies settings: where the HTTP endpoint listens, how webhooks authenticate, and the optional providers."""

from pydantic import Field, SecretStr

from coldstream_shared.settings import ServiceSettings


class RepliesSettings(ServiceSettings):
    """Read from COLDSTREAM_* variables, e.g. COLDSTREAM_REPLIES_PORT, COLDSTREAM_WEBHOOK_SECRET."""

    replies_host: str = "127.0.0.1"
    replies_port: int = 8080
    # Instantly signs nothing: the webhook is registered with a static custom header carrying this secret.
    webhook_secret: SecretStr | None = None
    webhook_secret_header: str = "X-Webhook-Secret"  # noqa: S105 - a header name, not a secret
    webhook_max_body_bytes: int = 256 * 1024
    # Group commit: webhooks arriving together share one INSERT; this many may be in flight at once.
    webhook_batch_max: int = 100
    webhook_batch_concurrency: int = 2
    # Webhooks are applied just after their 200, in batches that gather for this long (one transaction for many);
    # the sweep loop applies any a crash or a failure left unapplied.
    webhook_apply_linger_seconds: float = 0.1
    # At most this many per applying transaction: a batch's Python work (classifying, building events and rows)
    # holds the event loop between awaits (at 100 replies, tens of milliseconds); at 25 applying fell behind.
    webhook_apply_batch_max: int = 50
    webhook_sweep_seconds: float = 10.0

    # Claude decides what the rules leave ambiguous; unset key = rules only. Standard names, no prefix.
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")
    replies_model: str = "claude-haiku-4-5"
    replies_model_timeout: float = 30.0

    # Instantly: interest status, the emails poll and the webhook check need the key; unset = none of them.
    instantly_api_key: SecretStr | None = Field(None, validation_alias="INSTANTLY_API_KEY")
    instantly_base_url: str = "https://api.instantly.ai"
    replies_poll_seconds: float = 60.0  # 0 disables the emails poll
    replies_poll_max_pages: int = 10  # per run; 20 requests/minute is Instantly's limit on /emails
    webhook_check_seconds: float = 300.0  # 0 disables the disabled-webhook check

    # Slack-compatible incoming webhook for interested / meeting replies (it is a secret URL).
    notify_webhook_url: SecretStr | None = None
    actions_poll_seconds: float = 2.0
    actions_max_attempts: int = 12
    nurture_default_days: int = 90
