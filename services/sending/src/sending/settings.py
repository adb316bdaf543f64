"""Sending settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from coldstream_shared.settings import ServiceSettings

PHYSICAL_ADDRESS_PLACEHOLDER = "[Set COLDSTREAM_PHYSICAL_ADDRESS: your postal address is required in every email]"


class SendingSettings(ServiceSettings):
    """Where emails go and what every email must carry (compliance footer, unsubscribe link)."""

    outbox_dir: Path | None = Field(None, description="Folder of the file backend; default <data_dir>/outbox.")
    public_url: str = Field("http://127.0.0.1:8080", description="Base of the unsubscribe links (replies service).")
    # CAN-SPAM requires a valid postal address in every commercial email; a placeholder is loud on purpose.
    physical_address: str = PHYSICAL_ADDRESS_PLACEHOLDER
    # Sequences handled at once: their first touches share a transaction and their records another (group commit),
    # so throughput grows with this until the database, the disk or JetStream is busy.
    send_concurrency: int = Field(256, ge=1, description="email.generated messages handled concurrently.")
    instantly_api_key: SecretStr | None = Field(None, validation_alias="INSTANTLY_API_KEY")
    instantly_base_url: str = Field("https://api.instantly.ai", description="Instantly API v2 (a fake in tests).")
    instantly_batch_size: int = Field(1000, ge=1, le=1000, description="Leads per leads/add call.")
    instantly_requests_per_second: float = Field(100, gt=0, description="Workspace limit (all keys share it).")
    instantly_requests_per_minute: float = Field(6000, gt=0)
    smtp_host: str | None = Field(None, description="SMTP relay for campaigns with backend 'smtp'.")
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool | None = Field(None, description="None: STARTTLS when offered.")
    smtp_use_tls: bool = Field(False, description="Implicit TLS (port 465).")

    def resolved_outbox_dir(self) -> Path:
        """The file backend's folder."""
        return self.outbox_dir or self.data_dir / "outbox"
