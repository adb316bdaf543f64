"""The chaos run's pure parts: the seeded plan and the checks, on evidence made by hand."""

from __future__ import annotations

from pathlib import Path

from coldstream.chaos.campaign import ChaosCampaign
from coldstream.chaos.checks import nothing_sent_after_suppression, nothing_sent_twice, totals_add_up
from coldstream.chaos.evidence import Evidence, SuppressionEntry, Touch
from coldstream.chaos.observe import Events
from coldstream.chaos.plan import NATS, make_plan
from coldstream.chaos.providers import Offer
from coldstream_shared import subjects

CID = "chaos-test"


def evidence(offers: list[Offer], touches: list[Touch], suppressed: dict[str, float]) -> Evidence:
    return Evidence(
        campaign=ChaosCampaign(CID, Path("campaign.yaml"), 2),
        funnel={},
        complete=True,
        events=Events(),
        offers=offers,
        blocklist=set(suppressed),
        instantly_ids={"i-1"},
        instantly_twins=1,
        touches={t.lead_id: t for t in touches},
        suppressions={v: SuppressionEntry(v, "email", at, True, True) for v, at in suppressed.items()},
        deliveries=[],
        faults=[],
        unplanned=[],
        seconds=1.0,
    )


def test_the_plan_is_reproducible_and_kills_every_target_before_any_twice() -> None:
    plan = make_plan(5, kills=7, services=("a", "b", "c"))
    assert plan == make_plan(5, kills=7, services=("a", "b", "c"))
    targets = [f.target for f in plan.faults]
    assert targets.count(NATS) == 1
    assert sorted(t for t in targets if t != NATS) == ["a", "a", "a", "b", "b", "c", "c"]
    assert [f.at_progress for f in plan.faults] == sorted(f.at_progress for f in plan.faults)
    assert plan.hook_for("jo@acme.io") == plan.hook_for("jo@acme.io")


def test_an_upload_reserved_after_the_suppression_committed_is_a_violation() -> None:
    touch = Touch("lead-1", "jo@acme.io", "sent", decided_at=105.0, batch_started_at=104.9)
    verdict = nothing_sent_after_suppression(
        evidence([Offer("jo@acme.io", "i-1", 106.0, True)], [touch], {"jo@acme.io": 100.0})
    )
    assert not verdict.ok
    assert "jo@acme.io" in verdict.problems[0]


def test_an_upload_reserved_before_the_suppression_committed_is_in_flight_not_a_violation() -> None:
    touch = Touch("lead-1", "jo@acme.io", "sent", decided_at=99.0, batch_started_at=98.9)
    verdict = nothing_sent_after_suppression(
        evidence([Offer("jo@acme.io", "i-1", 101.0, True)], [touch], {"jo@acme.io": 100.0})
    )
    assert verdict.ok, verdict.problems
    assert "already reserved" in verdict.notes[0]


def test_a_suppressed_upload_missing_from_the_block_list_is_a_violation() -> None:
    touch = Touch("lead-1", "jo@acme.io", "sent", decided_at=1.0, batch_started_at=1.0)
    ev = evidence([Offer("jo@acme.io", "i-1", 2.0, True)], [touch], {"jo@acme.io": 100.0})
    ev.blocklist = set()
    assert not nothing_sent_after_suppression(ev).ok


def test_a_lead_created_twice_at_instantly_is_a_violation() -> None:
    offers = [Offer("jo@acme.io", "i-1", 1.0, True), Offer("jo@acme.io", "i-1", 2.0, True)]
    verdict = nothing_sent_twice(evidence(offers, [], {}))
    assert not verdict.ok
    offered_again = [Offer("jo@acme.io", "i-1", 1.0, True), Offer("jo@acme.io", "i-1", 2.0, False)]
    verdict = nothing_sent_twice(evidence(offered_again, [], {}))
    assert verdict.ok
    assert "offered again" in verdict.notes[0]


def test_totals_name_the_lead_that_has_no_outcome() -> None:
    ev = evidence([Offer("jo@acme.io", "i-1", 1.0, True)], [Touch("l1", "jo@acme.io", "sent", 1.0, 1.0)], {})
    imported = {"campaign_id": CID, "rows_read": 2, "published": 2, "rejected": 0, "duplicates": 0}
    ev.events.feed(subjects.CAMPAIGN_IMPORTED, {"event_id": "e0", **imported})
    for n, (subject, lead) in enumerate(
        [
            (subjects.LEAD_SCRAPED, "l1"),
            (subjects.LEAD_SCRAPED, "l2"),
            (subjects.LEAD_VERIFIED, "l1"),
            (subjects.LEAD_VERIFIED, "l2"),
            (subjects.EMAIL_GENERATED, "l1"),
            (subjects.EMAIL_GENERATED, "l2"),
            (subjects.EMAIL_SENT, "l1"),
        ]
    ):
        ev.events.feed(subject, {"event_id": f"e{n + 1}", "campaign_id": CID, "lead_id": lead, "step": 1})
    verdict = totals_add_up(ev)
    assert not verdict.ok
    assert any("sending: 2 in, 1 without an outcome (l2)" in p for p in verdict.problems), verdict.problems
