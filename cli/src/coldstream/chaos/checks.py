"""The promises a chaos run must keep, judged from its evidence. Pure: evidence in, verdicts out."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from coldstream.chaos.evidence import Evidence
from coldstream.chaos.plan import SUPPRESSING
from coldstream_shared import subjects
from sending.suppression import Suppression, blocking_entry

SHOWN = 8  # examples listed per problem
# What a webhook may cause, each at most once per webhook.
WEBHOOK_EFFECTS = (
    subjects.REPLY_RECEIVED,
    subjects.REPLY_CLASSIFIED,
    subjects.LEAD_UNSUBSCRIBED,
    subjects.LEAD_BOUNCED,
)


@dataclass
class Verdict:
    """One invariant: held or not, the figure that says so, and what broke it."""

    name: str
    ok: bool
    figure: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _some(items: Iterable[Any]) -> str:
    items = sorted(map(str, items))
    return ", ".join(items[:SHOWN]) + (f" (+{len(items) - SHOWN} more)" if len(items) > SHOWN else "")


def judge(ev: Evidence) -> list[Verdict]:
    """Every check, in the order they are printed."""
    return [
        every_lead_terminal(ev),
        nothing_sent_twice(ev),
        nothing_sent_after_suppression(ev),
        dead_letters_have_a_cause(ev),
        totals_add_up(ev),
        webhooks_applied_once(ev),
        faults_recovered(ev),
    ]


def every_lead_terminal(ev: Evidence) -> Verdict:
    f = ev.funnel
    verdict = Verdict("every lead in a terminal state", ev.complete, f"{f['leads_terminal']} of {f['leads']} leads")
    if not ev.complete:
        scraped = {e["lead_id"] for e in ev.events.of(subjects.LEAD_SCRAPED, ev.campaign.campaign_id)}
        open_leads = scraped - _terminal_ids(ev)
        states = Counter(ev.touches[lead].status if lead in ev.touches else "no touch" for lead in open_leads)
        verdict.problems.append(f"{len(open_leads)} leads not terminal (ledger: {dict(states)}): {_some(open_leads)}")
    return verdict


def nothing_sent_twice(ev: Evidence) -> Verdict:
    created = Counter((o.email, o.campaign) for o in ev.offers if o.created)
    twice = {key: n for key, n in created.items() if n > 1}
    sends = ev.events.of(subjects.EMAIL_SENT, ev.campaign.campaign_id)
    sent = Counter((e["lead_id"], e["campaign_id"], e.get("step")) for e in sends)
    recorded_twice = {key: n for key, n in sent.items() if n > 1}
    verdict = Verdict(
        "nothing sent twice",
        not twice and not recorded_twice and ev.instantly_twins == 1,
        f"{len(created)} leads at Instantly, {len(twice)} created twice; {len(recorded_twice)} touches recorded twice",
    )
    if ev.instantly_twins != 1:
        verdict.problems.append(f"{ev.instantly_twins} campaigns at Instantly for ours (one expected)")
    if twice:
        verdict.problems.append(f"created twice at Instantly: {_some(email for email, _ in twice)}")
    if recorded_twice:
        verdict.problems.append(f"two email.sent events for one (lead, campaign, step): {_some(recorded_twice)}")
    offered = Counter((o.email, o.campaign) for o in ev.offers)
    again = sum(1 for key, n in offered.items() if n > 1 and created[key])
    if again:
        verdict.notes.append(f"{again} leads offered again after Instantly had them (skipped by skip_if_in_workspace)")
    if republished := sum(ev.events.republished.values()):
        verdict.notes.append(f"{republished} events published again under the same id (consumers skip them)")
    return verdict


def nothing_sent_after_suppression(ev: Evidence) -> Verdict:
    entries = [Suppression(s.value, s.scope, "") for s in ev.suppressions.values()]  # type: ignore[arg-type]
    by_email = {t.email: t for t in ev.touches.values()}
    late, in_flight, uploaded_but_suppressed = [], 0, []
    for offer in ev.offers:
        blocked = blocking_entry(offer.email, entries)
        if blocked is None or offer.at <= ev.suppressions[blocked.value].committed_at:
            continue
        committed = ev.suppressions[blocked.value].committed_at
        touch = by_email.get(offer.email)
        # The decision behind this offer: the current attempt if it started before the offer, else (an earlier
        # attempt, superseded by a take-over) the start of the transaction that reserved it for its batch.
        decided = None
        if touch is not None:
            decided = touch.decided_at if (touch.decided_at or 0) <= offer.at else touch.batch_started_at
        if touch is None or (decided is not None and decided > committed):
            late.append(f"{offer.email} offered {offer.at - committed:+.3f}s after its suppression committed")
        else:
            in_flight += 1
    created = {o.email for o in ev.offers if o.created}
    for touch in ev.touches.values():
        if touch.email in created and touch.status in ("suppressed", "cancelled", "failed"):
            uploaded_but_suppressed.append(f"{touch.email} is at Instantly but the ledger says {touch.status}")
    exact = sum(s.exact for s in ev.suppressions.values())
    verdict = Verdict(
        "nothing sent after its suppression committed",
        not late and not uploaded_but_suppressed,
        f"{len(ev.suppressions)} suppressed, {len(late)} offered to Instantly after the commit",
        problems=[*late[:SHOWN], *uploaded_but_suppressed[:SHOWN]],
    )
    if in_flight:
        verdict.notes.append(f"{in_flight} uploads were already reserved when the suppression committed (by design)")
    if exact < len(ev.suppressions):
        verdict.notes.append(f"{len(ev.suppressions) - exact} suppression times are transaction starts, not commits")
    unmirrored = sorted(s.value for s in ev.suppressions.values() if not s.mirrored)
    uploaded_unblocked = sorted(
        email for email in created if blocking_entry(email, entries) and email not in ev.blocklist
    )
    if unmirrored or uploaded_unblocked:
        verdict.ok = False
        verdict.problems.append(
            f"not on Instantly's block list ({len(unmirrored)} unmirrored): {_some(uploaded_unblocked or unmirrored)}"
        )
    return verdict


def dead_letters_have_a_cause(ev: Evidence) -> Verdict:
    letters = ev.events.dead_letters
    blank = [r for r in letters if not str(r.get("error_type") or "").strip() or not str(r.get("error") or "").strip()]
    where = Counter(f"{r.get('service')}:{r.get('original_subject')}" for r in letters)
    verdict = Verdict("every dead letter has a cause", not blank, f"{len(letters)} dead letters, {len(blank)} blank")
    if blank:
        verdict.problems.append(f"no error_type/error: {_some(r.get('original_subject') for r in blank)}")
    if letters:
        verdict.notes.append("dead letters: " + ", ".join(f"{k} x{n}" for k, n in where.most_common()))
        causes = Counter(f"{r.get('error_type')}: {str(r.get('error'))[:80]}" for r in letters)
        verdict.notes += [f"  {n} x {cause}" for cause, n in causes.most_common(3)]
    return verdict


def totals_add_up(ev: Evidence) -> Verdict:
    cid = ev.campaign.campaign_id

    def ids(subject: str, **where: Any) -> set[str]:
        events = ev.events.of(subject, cid)
        return {e["lead_id"] for e in events if all(e.get(k) == v for k, v in where.items())}

    parked = _dead_lettered(ev)
    imported = (ev.events.of(subjects.CAMPAIGN_IMPORTED, cid) or [{}])[0]
    rejected_discovery = len([e for e in ev.events.of(subjects.LEAD_REJECTED, cid) if e.get("stage") == "discovery"])
    scraped, verified = ids(subjects.LEAD_SCRAPED), ids(subjects.LEAD_VERIFIED)
    generated = ids(subjects.EMAIL_GENERATED)
    stages = [
        ("enrichment", scraped, {"verified": verified, "rejected": ids(subjects.LEAD_REJECTED, stage="enrichment")}),
        (
            "personalization",
            verified,
            {
                "generated": generated,
                "held": ids(subjects.EMAIL_HELD),
                "rejected": ids(subjects.LEAD_REJECTED, stage="personalization"),
            },
        ),
        (
            "sending",
            generated,
            {
                "sent": ids(subjects.EMAIL_SENT, step=1),
                "suppressed": ids(subjects.EMAIL_SUPPRESSED, step=1),
                "failed": ids(subjects.EMAIL_FAILED, step=1),
            },
        ),
    ]
    problems, lines = [], []
    rows_read = imported.get("rows_read")
    parts = {k: imported.get(k, 0) for k in ("published", "rejected", "duplicates", "excluded", "held")}
    if rows_read != sum(parts.values()):
        problems.append(f"import: rows_read {rows_read} != {parts}")
    if rows_read != len(scraped) + rejected_discovery:
        problems.append(f"discovery: rows_read {rows_read} != scraped {len(scraped)} + rejected {rejected_discovery}")
    lines.append(f"rows {rows_read} = scraped {len(scraped)} + rejected {rejected_discovery}")
    for stage, came_in, outcomes in stages:
        outcomes = {**outcomes, "dead-lettered": came_in & parked.get(stage, set())}
        went_out: Counter[str] = Counter(lead for leads in outcomes.values() for lead in leads)
        missing, both = came_in - set(went_out), {lead for lead, n in went_out.items() if n > 1}
        strays = set(went_out) - came_in
        sums = " + ".join(f"{name} {len(leads)}" for name, leads in outcomes.items() if leads)
        lines.append(f"{stage}: {len(came_in)} = {sums or 0}")
        if missing or both or strays:
            problems.append(
                f"{stage}: {len(came_in)} in, {len(missing)} without an outcome ({_some(missing)}), "
                f"{len(both)} with two ({_some(both)}), {len(strays)} never came in"
            )
    sent_events = len(ids(subjects.EMAIL_SENT, step=1))
    ledger_sent = sum(t.status == "sent" for t in ev.touches.values())
    at_instantly = len({o.email for o in ev.offers if o.created and o.campaign in ev.instantly_ids})
    lines.append(f"sent: events {sent_events} = ledger {ledger_sent} = leads at Instantly {at_instantly}")
    if not sent_events == ledger_sent == at_instantly:
        problems.append(f"sent: {sent_events} email.sent, {ledger_sent} in the ledger, {at_instantly} at Instantly")
    return Verdict("totals add up across services", not problems, "; ".join(lines[:1]), problems, lines[1:])


def webhooks_applied_once(ev: Evidence) -> Verdict:
    """Each webhook (delivered once or twice) had its effect exactly once: a reply is received and classified once,
    an unsubscribe or a bounce announced once; suppressing ones left a suppression."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for subject in WEBHOOK_EFFECTS:
        for event in ev.events.of(subject):
            counts[str(event.get("email", "")).lower()][subject] += 1
    entries = [Suppression(s.value, s.scope, "") for s in ev.suppressions.values()]  # type: ignore[arg-type]
    problems, twice = [], 0
    for delivery in ev.deliveries:
        if delivery.error is not None:
            problems.append(f"{delivery.hook.kind} for {delivery.email} never accepted: {delivery.error}")
            continue
        twice += delivery.hook.twice
        if len(delivery.posted_at) > 1:
            problems.append(f"{delivery.hook.kind} for {delivery.email}: both copies accepted as new")
        expected = Counter(_expected_events(delivery.hook.kind))
        seen = +counts[delivery.email]
        if seen != expected:
            problems.append(f"{delivery.hook.kind} for {delivery.email}: {dict(seen)}, expected {dict(expected)}")
        if delivery.hook.kind in SUPPRESSING and blocking_entry(delivery.email, entries) is None:
            problems.append(f"{delivery.hook.kind} for {delivery.email}: no suppression committed")
    kinds = Counter(d.hook.kind for d in ev.deliveries)
    return Verdict(
        "webhooks applied once, suppressions committed",
        not problems,
        f"{len(ev.deliveries)} webhooks ({twice} delivered twice), {len(problems)} wrong",
        problems[:SHOWN],
        [", ".join(f"{kind} {n}" for kind, n in kinds.most_common())],
    )


def faults_recovered(ev: Evidence) -> Verdict:
    problems = [
        f"{r.fault.target} at progress {r.fault.at_progress}: {r.error or 'never fired'}"
        for r in ev.faults
        if r.back_after is None
    ]
    fired = [r for r in ev.faults if r.at_seconds is not None]
    notes = [
        f"SIGKILL {r.fault.target} at {r.at_seconds}s (progress {r.progress}), ready again after {r.back_after}s"
        + (f", {r.note}" if r.note else "")
        for r in fired
    ]
    notes += [f"{u.target} exited by itself at {u.at_seconds}s (code {u.code}); restarted" for u in ev.unplanned]
    figure = f"{len(fired)} of {len(ev.faults)} faults injected, {len(ev.unplanned)} unplanned exits"
    return Verdict("every fault injected and recovered", not problems, figure, problems, notes)


def _expected_events(kind: str) -> list[str]:
    reply = [subjects.REPLY_RECEIVED, subjects.REPLY_CLASSIFIED]
    return {
        "unsubscribed": [subjects.LEAD_UNSUBSCRIBED],
        "bounced": [subjects.LEAD_BOUNCED],
        "interest status": [],
        "unsubscribe wording": [*reply, subjects.LEAD_UNSUBSCRIBED],
    }.get(kind, reply)


def _terminal_ids(ev: Evidence) -> set[str]:
    cid = ev.campaign.campaign_id
    done = {e["lead_id"] for e in ev.events.of(subjects.LEAD_REJECTED, cid)}
    done |= {e["lead_id"] for e in ev.events.of(subjects.EMAIL_HELD, cid)}
    for subject in (subjects.EMAIL_SENT, subjects.EMAIL_SUPPRESSED, subjects.EMAIL_FAILED):
        done |= {e["lead_id"] for e in ev.events.of(subject, cid) if e.get("step", 1) == 1}
    return done | set().union(*_dead_lettered(ev).values())


# The stage a dead-lettered lead was parked at, by the subject its consumer was reading.
STAGE_OF = {
    subjects.LEAD_SCRAPED: "enrichment",
    subjects.LEAD_VERIFIED: "personalization",
    subjects.EMAIL_GENERATED: "sending",
}


def _dead_lettered(ev: Evidence) -> dict[str, set[str]]:
    parked: dict[str, set[str]] = defaultdict(set)
    for record in ev.events.dead_letters:
        try:
            original = json.loads(record.get("original_body") or "{}")
        except ValueError:
            continue
        stage = STAGE_OF.get(str(record.get("original_subject")))
        if stage and original.get("campaign_id") == ev.campaign.campaign_id and original.get("lead_id"):
            parked[stage].add(original["lead_id"])
    return parked
