"""The campaign report as one self-contained HTML page: inline CSS and SVG bar charts, no scripts, no network.

Self-contained on purpose: the file can be mailed, archived or opened offline, and renders the same anywhere.
"""

from __future__ import annotations

from html import escape
from typing import Any

FUNNEL = [
    ("Rows read", "rows_read"),
    ("Accepted", "scraped"),
    ("Verified", "verified"),
    ("Written", "generated"),
    ("Sent", "sent"),
]
STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:980px;color:#1d2433}
h1{font-size:1.6rem;margin:0 0 .2rem} h2{font-size:1.15rem;margin:2rem 0 .6rem;color:#33415c}
.kpis{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.kpi{background:#f3f6fb;border-radius:10px;padding:.8rem 1.1rem;min-width:150px}
.kpi b{display:block;font-size:1.5rem} .kpi span{color:#5c677d;font-size:.85rem}
table{border-collapse:collapse;width:100%} td,th{padding:.35rem .6rem;border-bottom:1px solid #e3e8f0;text-align:left}
th{color:#5c677d;font-weight:600} td.n{text-align:right;font-variant-numeric:tabular-nums}
svg text{font:13px system-ui,sans-serif;fill:#1d2433} .muted{color:#5c677d}
"""
PALETTE = ["#3d6df2", "#2bb673", "#f2a93b", "#e4572e", "#8e6cef", "#17a2b8", "#6c757d"]


def bar_chart(title: str, items: list[tuple[str, float]], *, unit: str = "count") -> str:
    """A horizontal bar chart as inline SVG, labelled with the values."""
    if not items:
        return f'<p class="muted">No data yet for {escape(title.lower())}.</p>'
    width, row, label_w = 860, 30, 230
    top = max(value for _, value in items) or 1
    bars = []
    for i, (label, value) in enumerate(items):
        y = i * row
        length = max(2.0, (width - label_w - 90) * value / top)
        shown = {"percent": f"{value:.1%}", "usd": f"${value:,.3f}"}.get(unit, f"{value:,.0f}")
        colour = PALETTE[i % len(PALETTE)]
        bars.append(
            f'<text x="0" y="{y + 19}">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{length:.1f}" height="{row - 10}" rx="4" fill="{colour}"/>'
            f'<text x="{label_w + length + 8:.1f}" y="{y + 19}">{shown}</text>'
        )
    height = row * len(items)
    return (
        f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(bars)}</svg>'
    )


def _kpi(label: str, value: str) -> str:
    return f'<div class="kpi"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _group_table(title: str, groups: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td class=n>{g['contacted']}</td><td class=n>{g['replies']}</td>"
        f"<td class=n>{g['positive']}</td><td class=n>{g['positive_rate']:.1%}</td></tr>"
        for name, g in groups.items()
    )
    head = "<tr><th>{}</th><th>contacted</th><th>replies</th><th>positive</th><th>positive rate</th></tr>"
    return f"<table>{head.format(escape(title))}{rows}</table>" if rows else '<p class="muted">No sends yet.</p>'


def render(report: dict[str, Any]) -> str:
    """The whole page."""
    funnel = report["funnel"]
    rate = report["reply_rate"]
    kpis = "".join(
        [
            _kpi("leads accepted", f"{funnel.get('scraped', 0):,}"),
            _kpi("emails sent", f"{funnel.get('sent', 0):,}"),
            _kpi("reply rate", f"{rate['rate']:.1%}"),
            _kpi("positive replies", f"{report['positive_rate']['rate']:.1%}"),
            _kpi("bounce rate", f"{report['bounce_rate']['rate']:.1%}"),
            _kpi("unsubscribe rate", f"{report['unsubscribe_rate']['rate']:.1%}"),
            _kpi("cost per lead", f"${report['cost_per_lead_usd']:.3f}"),
        ]
    )
    funnel_items = [(label, float(funnel.get(key) or 0)) for label, key in FUNNEL]
    categories = [(str(name), float(n)) for name, n in report["reply_categories"].items()]
    steps = [(f"step {step}", r["rate"]) for step, r in report["reply_rate_by_step"].items()]
    costs = [(name, value) for name, value in report["cost_usd"].items()]
    cost_chart = (
        bar_chart("Cost by provider and model (USD)", costs, unit="usd")
        if costs
        else '<p class="muted">No paid calls.</p>'
    )
    title = f"Campaign {report['campaign_id']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="muted">{funnel.get("leads_terminal", 0)} of {funnel.get("leads", 0)} leads finished their first touch.</p>
<div class="kpis">{kpis}</div>
<h2>Funnel</h2>{bar_chart("Funnel", funnel_items)}
<h2>What replies said</h2>{bar_chart("Reply categories", categories)}
<h2>Reply rate by step</h2>{bar_chart("Reply rate by step", steps, unit="percent")}
<h2>Variants</h2>{_group_table("variant", report["by_variant"])}
<h2>Prompt versions</h2>{_group_table("prompt version", report["by_prompt_version"])}
<h2>Cost</h2>{cost_chart}
</body></html>
"""
