"""Embedded runtime: local nats-server, Postgres and service processes without Docker."""

from coldstream.runtime.nats import NatsServer
from coldstream.runtime.ports import free_port, free_ports
from coldstream.runtime.postgres import FAST_TEST_SETTINGS, PostgresServer
from coldstream.runtime.stack import SERVICES, EmbeddedStack, run_until_signal
from coldstream.runtime.supervisor import ServiceProcess, ServiceStartError, Supervisor

__all__ = [
    "FAST_TEST_SETTINGS",
    "SERVICES",
    "EmbeddedStack",
    "NatsServer",
    "PostgresServer",
    "ServiceProcess",
    "ServiceStartError",
    "Supervisor",
    "free_port",
    "free_ports",
    "run_until_signal",
]
