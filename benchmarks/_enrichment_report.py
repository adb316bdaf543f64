"""The enrichment benchmark's workload settings and its Markdown report."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from enrichment.settings import EnrichmentSettings

# BENCH_ENRICHMENT_LEADS shrinks the run while looking for bottlenecks (5 leads per domain either way).
LEADS = int(os.environ.get("BENCH_ENRICHMENT_LEADS", "10000"))
DOMAINS = LEADS // 5
# BENCH_ENRICHMENT_LATENCY_MS: the providers' simulated latency (the issue asks for 50 ms).
LATENCY = float(os.environ.get("BENCH_ENRICHMENT_LATENCY_MS", "50")) / 1000
# BENCH_ENRICHMENT_PROVIDERS=0: DNS-only verification, to see what the messaging and storage path costs alone.
PROVIDERS = os.environ.get("BENCH_ENRICHMENT_PROVIDERS", "1") != "0"
# BENCH_ENRICHMENT_CONCURRENCY: leads in flight (default: the service's default setting).
CONCURRENCY = int(os.environ.get("BENCH_ENRICHMENT_CONCURRENCY", "0"))
# BENCH_ENRICHMENT_BULK=0: one ZeroBounce and one PDL person call per lead (the single endpoints), for comparison.
BULK = os.environ.get("BENCH_ENRICHMENT_BULK", "1") != "0"
BULK_ROUTES = ("zerobounce_batch", "pdl_person_bulk")


def report(result: dict[str, Any], seen: list[list[Any]], settings: EnrichmentSettings) -> str:
    company_calls = [n for route, _, n in seen if route == "pdl_company"]
    website_calls = [n for route, _, n in seen if route == "website"]
    calls = Counter({route: 0 for route, _, _ in seen})
    for route, _, n in seen:
        calls[route] += n
    bulk_items = {r: sum(int(key) * n for route, key, n in seen if route == r) for r in BULK_ROUTES if calls[r]}
    batch_sizes = ", ".join(f"{r} {bulk_items[r] / calls[r]:,.1f}" for r in bulk_items) or "no bulk calls"
    done, elapsed, cpu, spent = result["done"], result["elapsed"], result["cpu"], result["spent"]
    in_flight = sorted(result["in_flight"])
    load = " / ".join(f"{x:.1f}" for x in result["load"])
    return "\n".join(
        [
            "## Enrichment",
            "",
            f"{LEADS:,} `lead.scraped` events across {DOMAINS:,} company domains (5 leads each), backlog published",
            "first, then the service drains it. DNS on (dnslib on loopback), SMTP probe off, every provider faked",
            f"at {LATENCY * 1000:.0f} ms latency over HTTP (per call, bulk or not): ZeroBounce for every lead (MX",
            "alone leaves 'unknown'), PDL person for every lead (no title known), PDL company and the website fetch",
            "once per domain. "
            + (
                "ZeroBounce and PDL person go through their bulk endpoints (/v2/validatebatch, /v5/person/bulk): "
                "leads in flight share a call."
                if BULK
                else "One ZeroBounce and one PDL person call per lead (BENCH_ENRICHMENT_BULK=0)."
            ),
            "",
            "| Figure | Value |",
            "| --- | --- |",
            f"| leads processed | {done:,} in {elapsed:.1f} s |",
            f"| throughput | **{done / elapsed:,.0f} leads/s** (target ≥ 200) |",
            f"| service CPU per lead | **{cpu / done * 1000:.1f} ms** (the service's process, on uvloop; "
            f"{cpu / elapsed * 100:.0f}% of one core on average) |",
            f"| CPU per lead of everything else | {result['others'] / done * 1000:.1f} ms (the provider and DNS fakes, "
            "Postgres, NATS) |",
            f"| load average at the end (1 / 5 / 15 min, 2 cores) | {load} |",
            f"| leads in flight (sampled every 0.5 s) | median {in_flight[len(in_flight) // 2]}, "
            f"max {in_flight[-1]} of {settings.enrichment_concurrency} allowed |",
            f"| the service's event loop thread | {result['loop_on_cpu']:.1f} s on a CPU, **"
            f"{result['loop_cpu_wait']:.1f} s runnable but waiting for a CPU** (taken by other processes), the rest "
            "idle (waiting on I/O) |",
            f"| database transactions per lead | {result['xacts'] / done:.2f} ({result['xacts']:,} in all, relay and "
            "polling included) |",
            f"| company research calls per domain (PDL company) | min {min(company_calls, default=0)}, "
            f"max {max(company_calls, default=0)} over {len(company_calls):,} domains |",
            f"| website fetches | {sum(website_calls):,} for {len(website_calls):,} domains |",
            f"| provider HTTP calls | {', '.join(f'{k} {v:,}' for k, v in sorted(calls.items()))} |",
            f"| provider HTTP calls per lead | **{sum(calls.values()) / max(done, 1):.2f}** (leads per bulk call: "
            f"{batch_sizes}) |",
            f"| spend | ${spent:,.2f} total, **${spent / done * 1000:,.2f} per 1,000 leads** |",
            "",
            "Settings that differ from the defaults, because the fakes have no quotas: the per-provider rate limit is",
            "5,000 requests/s (default 20) and, in the bulk run, ZeroBounce's batch endpoint is on (default off)",
            "without its 5-calls-a-minute pacing. Against the real providers those quotas, not the service, set the",
            "pace: ZeroBounce's batch endpoint allows about 17 addresses/s, its single endpoint 20 calls/s per key",
            "at the default limit; `BENCH_ENRICHMENT_BULK=0` measures the one-call-per-lead path.",
            "",
            "Prices are the settings' defaults (ZeroBounce $0.008, PDL person $0.28, PDL company $0.10 per match).",
            "On a machine shared with other work, CPU per lead compares across runs; throughput follows the CPU the",
            "process gets. Analysis: docs/services/enrichment.md (Concurrency and throughput).",
            "Reproduce: `.venv/bin/python -m benchmarks enrichment`.",
        ]
    )
