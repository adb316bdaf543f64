"""The Instantly API v2 backend: client, campaign payloads, the per-touch mailer and the bulk uploader."""
