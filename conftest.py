"""Repository-wide pytest setup: shared fixtures (nats_server, postgres_server, ...)."""

pytest_plugins = ["coldstream.testing"]
