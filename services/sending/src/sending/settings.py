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
    instantly_api_key: SecretStr | None = Field(None, validation_alias="INSTANTLY_API_KEY")

    def resolved_outbox_dir(self) -> Path:
        """The file backend's folder."""
        return self.outbox_dir or self.data_dir / "outbox"
