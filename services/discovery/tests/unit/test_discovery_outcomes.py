"""Every row ends in exactly one outcome."""

from datetime import UTC, date, datetime, timedelta

from coldstream_shared.campaign import EventWindow, Icp
from coldstream_shared.ids import lead_id_for
from discovery.exclusion import ContactFacts
from discovery.outcomes import CampaignView, Outcome, decide, prepare, row_id
from discovery.sources import SourceRow


def outcome_of(row: SourceRow, view: CampaignView) -> Outcome:
    where = f"row {row.row_number} of leads.csv"
    return decide(row, prepare(row, where), where, view)


def test_first_occurrence_is_published_and_the_repeat_is_a_duplicate_of_it() -> None:
    view = CampaignView("c1")
    first = outcome_of(SourceRow(0, 2, {"email": "Jane@Acme.com"}), view)
    again = outcome_of(SourceRow(0, 3, {"email": "  jane@acme.COM "}), view)
    assert first.kind == "published"
    assert first.lead_id == lead_id_for("c1", "jane@acme.com")
    assert again.kind == "duplicate"
    assert again.duplicate_of == first.lead_id
    assert again.lead_id == row_id("c1", 0, 3) != first.lead_id
    assert again.lead is None


def test_a_duplicate_of_an_earlier_batch_is_found_through_seen() -> None:
    result = outcome_of(SourceRow(1, 7, {"email": "jane@acme.com"}), CampaignView("c1", seen={"jane@acme.com": "l1"}))
    assert (result.kind, result.duplicate_of) == ("duplicate", "l1")


def test_the_same_linkedin_profile_at_another_address_is_a_duplicate() -> None:
    view = CampaignView("c1")
    first = outcome_of(SourceRow(0, 2, {"email": "jane@acme.com", "linkedin_url": "linkedin.com/in/Jane-Doe"}), view)
    row = SourceRow(0, 3, {"email": "jane.doe@gmail.com", "linkedin_url": "https://uk.linkedin.com/in/jane-doe/?x=1"})
    again = outcome_of(row, view)
    assert (again.kind, again.reason_code, again.duplicate_of) == ("duplicate", "duplicate_linkedin", first.lead_id)


def test_suppressed_addresses_and_domains_are_excluded_with_a_logged_reason() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    facts = ContactFacts(
        suppressed={"gone@acme.com": ("unsubscribed", at), "dead@acme.com": ("bounced", at)},
        suppressed_domains={"nope.io": ("unsubscribed", at)},
    )
    view = CampaignView("c1", facts=facts)
    gone, dead, domain = (
        outcome_of(SourceRow(0, n, {"email": email}), view)
        for n, email in ((2, "gone@acme.com"), (3, "dead@acme.com"), (4, "anyone@nope.io"))
    )
    assert [o.kind for o in (gone, dead, domain)] == ["excluded"] * 3
    assert [o.reason_code for o in (gone, dead, domain)] == ["suppressed"] * 3
    assert [o.exclusion.reason for o in (gone, dead, domain) if o.exclusion] == [
        "unsubscribed",
        "bounced",
        "domain_unsubscribed",
    ]
    assert gone.reason is not None
    assert "unsubscribed" in gone.reason
    assert gone.score is None  # excluded before scoring (seed 000: scoring runs on available leads)


def test_contacts_emailed_within_the_recontact_window_are_excluded() -> None:
    now = datetime.now(UTC)
    facts = ContactFacts(
        last_emailed={"recent@acme.com": now - timedelta(days=10), "old@acme.com": now - timedelta(days=200)},
        recontact_cutoff=now - timedelta(days=90),
    )
    view = CampaignView("c1", facts=facts)
    recent = outcome_of(SourceRow(0, 2, {"email": "recent@acme.com"}), view)
    old = outcome_of(SourceRow(0, 3, {"email": "old@acme.com"}), view)
    assert (recent.kind, recent.reason_code) == ("excluded", "recently_emailed")
    assert recent.exclusion is not None
    assert recent.exclusion.reason == "emailed"
    assert old.kind == "published"


def test_rejections_get_a_row_id_and_the_reason() -> None:
    result = outcome_of(SourceRow(0, 4, {"email": ""}), CampaignView("c1"))
    assert (result.kind, result.reason_code, result.lead_id) == ("rejected", "missing_email", row_id("c1", 0, 4))


def test_unreadable_rows_are_rejected() -> None:
    result = outcome_of(SourceRow(0, 5, problem="line 5 is not valid JSON"), CampaignView("c1"))
    assert (result.kind, result.reason_code) == ("rejected", "unreadable_row")


def test_the_same_person_at_another_address_is_a_fuzzy_duplicate() -> None:
    view = CampaignView("c1")
    first = outcome_of(SourceRow(0, 2, {"email": "jose@acme.com", "full_name": "José Álvarez"}), view)
    again = outcome_of(SourceRow(0, 3, {"email": "j.alvarez@acme.com", "full_name": "Jose Alvarez"}), view)
    assert first.kind == "published"
    assert (again.kind, again.reason_code, again.duplicate_of) == ("duplicate", "duplicate_fuzzy", first.lead_id)
    assert again.lead_id == row_id("c1", 0, 3)


def test_leads_are_scored_and_those_below_the_minimum_tier_excluded() -> None:
    view = CampaignView("c1", Icp(titles=["Head of Growth"], seniority=["head"], min_tier="B"))
    good = outcome_of(SourceRow(0, 2, {"email": "ana@acme.com", "title": "Head of Growth"}), view)
    bad = outcome_of(SourceRow(0, 3, {"email": "bo@acme.com", "title": "Accountant"}), view)
    assert good.kind == "published"
    assert good.score is not None
    assert good.score.tier == "A"
    assert (bad.kind, bad.reason_code) == ("excluded", "below_min_tier")
    assert bad.lead_id == lead_id_for("c1", "bo@acme.com")
    assert bad.score is not None
    assert bad.score.tier == "C"


def test_manual_approval_holds_accepted_leads() -> None:
    result = outcome_of(SourceRow(0, 2, {"email": "ana@acme.com"}), CampaignView("c1", hold=True))
    assert result.kind == "held"
    assert result.score is not None


def test_event_window_keeps_only_companies_with_an_event_4_to_12_months_out() -> None:
    view = CampaignView("c1", Icp(event_window=EventWindow()), today=date(2026, 1, 31))
    rows = {
        "in@a.com": "2026-09-15",
        "early@b.com": "2026-03-01",
        "late@c.com": "2027-06-01",
        "edge@d.com": "2026-05-31",  # exactly 4 months out
    }
    results = {
        email: outcome_of(SourceRow(0, n, {"email": email, "event_date": day}), view)
        for n, (email, day) in enumerate(rows.items(), start=2)
    }
    results["nodate@e.com"] = outcome_of(SourceRow(0, 9, {"email": "nodate@e.com"}), view)
    assert {email: (o.kind, o.reason_code) for email, o in results.items()} == {
        "in@a.com": ("published", None),
        "early@b.com": ("excluded", "outside_event_window"),
        "late@c.com": ("excluded", "outside_event_window"),
        "edge@d.com": ("published", None),
        "nodate@e.com": ("excluded", "no_event_date"),
    }
