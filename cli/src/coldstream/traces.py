"""Reading the JSON-lines trace files the services write when no OTLP collector is configured."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path


def journeys(traces_dir: Path) -> dict[str, set[str]]:
    """lead id -> the services that recorded spans in that lead's trace(s)."""
    services_by_trace: dict[str, set[str]] = defaultdict(set)
    lead_traces: dict[str, set[str]] = defaultdict(set)
    for path in sorted(traces_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                span = json.loads(line)
            except ValueError:
                continue  # a line cut short by a killed process
            trace_id = span["context"]["trace_id"]
            services_by_trace[trace_id].add(span["resource"]["attributes"].get("service.name", "?"))
            lead = span.get("attributes", {}).get("coldstream.lead_id")
            if lead:
                lead_traces[lead].add(trace_id)
    return {
        lead: set().union(*(services_by_trace[t] for t in trace_ids)) | {f"traces:{len(trace_ids)}"}
        for lead, trace_ids in lead_traces.items()
    }


def summary(traces_dir: Path) -> dict[str, int]:
    """How many leads have exactly one trace, and how many of those span the four pipeline services."""
    pipeline = {f"coldstream-{s}" for s in ("discovery", "enrichment", "personalization", "sending")}
    found = journeys(traces_dir)
    single = {lead: svcs for lead, svcs in found.items() if "traces:1" in svcs}
    return {
        "leads_traced": len(found),
        "leads_with_one_trace": len(single),
        "leads_spanning_pipeline": sum(1 for svcs in single.values() if pipeline <= svcs),
    }
