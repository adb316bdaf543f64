"""The chaos run, small: 200 leads through Instantly while sending and replies are SIGKILLed, nats-server is
SIGKILLed and restarted, and webhooks (some twice) arrive; every invariant of `coldstream chaos` must hold."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from coldstream.chaos.plan import NATS
from coldstream.chaos.run import ChaosOptions, print_summary, run_chaos

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(420)
def test_a_small_chaos_run_keeps_every_promise(tmp_path: Path) -> None:
    out = StringIO()
    console = Console(file=out, width=160)
    options = ChaosOptions(
        data_dir=tmp_path / "chaos",
        leads=200,
        seed=11,
        # Up to the sending lease (90 s) passes before a reservation the kill left behind is reconciled.
        within=300,
        kills=2,
        targets=("sending", "replies"),
    )
    result = run_chaos(options, console)
    print_summary(result, console)

    ev = result.evidence
    assert result.ok, out.getvalue()
    assert sorted(r.fault.target for r in ev.faults) == sorted(["sending", "replies", NATS])
    assert all(r.back_after is not None for r in ev.faults)
    assert ev.funnel["sent"] > 0
    assert any(d.hook.twice for d in ev.deliveries), "some webhooks were delivered twice"
    assert {d.hook.kind for d in ev.deliveries} & {"unsubscribed", "bounced", "unsubscribe wording"}
