"""Replies settings: where the HTTP endpoint listens and how webhooks authenticate."""

from pydantic import SecretStr

from coldstream_shared.settings import ServiceSettings


class RepliesSettings(ServiceSettings):
    """Read from COLDSTREAM_* variables, e.g. COLDSTREAM_REPLIES_PORT, COLDSTREAM_WEBHOOK_SECRET."""

    replies_host: str = "127.0.0.1"
    replies_port: int = 8080
    # Instantly signs nothing: the webhook is registered with a static custom header carrying this secret.
    webhook_secret: SecretStr | None = None
    webhook_secret_header: str = "X-Webhook-Secret"  # noqa: S105 - a header name, not a secret
    webhook_max_body_bytes: int = 256 * 1024
