"""Settings every service shares, read once from the environment in `create_app()`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Base settings; services subclass it and add their own (keys as `SecretStr`)."""

    # Empty values count as unset: a copied .env.example leaves keys blank.
    model_config = SettingsConfigDict(env_prefix="COLDSTREAM_", env_file=".env", env_ignore_empty=True, extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    # May carry a password: never log it (see `redact_url`).
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/coldstream"
    # Connections kept open; as many again open for a burst and close after it, and each of those is a new Postgres
    # backend that prepares its statements again. A subscriber without max_workers handles its whole pulled batch
    # (16) at once, and a service has several: at 10, replies and discovery opened 983 connections for 2,000 leads in
    # the pipeline benchmark (Postgres 7.0 ms CPU per lead); at 20, 41, the pools' own (Postgres 3.3 ms per lead).
    db_pool_size: int = Field(20, ge=1, description="Database connections kept open by this service.")
    data_dir: Path = Path(".data")
    team_id: str = "default"
    log_level: str = "INFO"
    otlp_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    # A span per SQL statement: useful when chasing a slow query, too costly for every run (about 8 per lead).
    trace_sql: bool = False


def redact_url(url: str) -> str:
    """The URL with any password replaced, for printing."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}{':***' if ':' in credentials else ''}@{host}"
