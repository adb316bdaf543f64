"""`coldstream demo`: a whole campaign through the embedded stack, start to finish."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from coldstream.funnel import Funnel, watch
from coldstream.publishing import campaign_started, publish
from coldstream.report import funnel_table
from coldstream.traces import summary
from coldstream_shared.campaign import CampaignSpec


def run_demo(spec: CampaignSpec, data_dir: Path, *, timeout: float, quiet: bool = False) -> dict[str, Any]:
    """Start a fresh stack under `data_dir`, run `spec`, wait for every lead, stop; returns the funnel."""
    from coldstream.runtime.stack import EmbeddedStack

    console = Console(stderr=quiet)
    # The demo owns its folder: a clean start makes the funnel describe this run only.
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    started = time.monotonic()
    log_path = data_dir / "services.log"
    console.print(f"starting the embedded stack under {data_dir} (service logs: {log_path})")
    funnel = Funnel(spec.id)
    # The log stays open until the stack has stopped: the services write to it until their last line.
    with (
        _stop_on_sigterm(),
        log_path.open("a", encoding="utf-8") as log,
        EmbeddedStack(data_dir=data_dir, nats_port=0, postgres_port=0, replies_port=0, output=log) as stack,
    ):
        console.print(f"  NATS {stack.nats_url}  replies {stack.replies_url}")
        asyncio.run(_run(stack.nats_url, spec, funnel, within=timeout))
    elapsed = time.monotonic() - started
    result = funnel.as_dict()
    outbox = data_dir / "outbox" / spec.id
    result |= {
        "seconds": round(elapsed, 1),
        "outbox_dir": str(outbox),
        "eml_files": len(list(outbox.glob("*.eml"))) if outbox.is_dir() else 0,
        "traces_dir": str(data_dir / "traces"),
        "traces": summary(data_dir / "traces"),
    }
    console.print(funnel_table(result))
    console.print(f"emails (.eml, open them in any mail client): {outbox}  [{result['eml_files']} files]")
    traces = result["traces"]
    console.print(
        f"traces (JSON lines): {data_dir / 'traces'}  [{traces['leads_with_one_trace']} leads with one "
        f"trace, {traces['leads_spanning_pipeline']} spanning discovery→sending]"
    )
    state = "[green]every lead reached a terminal state[/green]" if result["complete"] else "[red]incomplete[/red]"
    console.print(f"{state} in {elapsed:.1f}s")
    return result


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C so the stack is stopped (by default it kills us and leaves NATS and Postgres up)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _run(nats_url: str, spec: CampaignSpec, funnel: Funnel, within: float) -> None:
    await publish(nats_url, campaign_started(spec, started_by="coldstream demo"))
    await watch(nats_url, funnel, within=within)
