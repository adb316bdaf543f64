"""docker-compose.yml checks the same liveness heartbeat as deploy/k8s (coldstream_shared.heartbeat)."""

from __future__ import annotations

import pytest

from coldstream_shared.heartbeat import STALE_AFTER_SECONDS
from tests.deploy.parsing import SERVICES, load_compose


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "replies"])
def test_compose_healthcheck_wants_a_fresh_heartbeat(service: str) -> None:
    check = load_compose()["services"][service]["healthcheck"]
    # `$$` is compose's escape for a `$` the container's shell expands; the image sets COLDSTREAM_SERVICE.
    command = f"find /data/ready/$$COLDSTREAM_SERVICE -newermt '{STALE_AFTER_SECONDS} seconds ago' | grep -q ."
    assert check["test"] == ["CMD-SHELL", command]
    assert load_compose()["services"][service]["environment"]["COLDSTREAM_DATA_DIR"] == "/data"


def test_replies_keeps_its_http_healthcheck() -> None:
    assert ":8080/health" in " ".join(load_compose()["services"]["replies"]["healthcheck"]["test"])
