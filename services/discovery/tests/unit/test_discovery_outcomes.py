"""Every row ends in exactly one outcome."""

from coldstream_shared.campaign import Icp
from coldstream_shared.ids import lead_id_for
from discovery.outcomes import Outcome, decide, prepare, row_id
from discovery.sources import SourceRow


def outcome_of(row: SourceRow, seen: dict[str, str], suppressed: dict[str, str] | None = None) -> Outcome:
    where = f"row {row.row_number} of leads.csv"
    return decide("c1", row, prepare(row, where), where, seen, suppressed or {})


def test_first_occurrence_is_published_and_the_repeat_is_a_duplicate_of_it() -> None:
    seen: dict[str, str] = {}
    first = outcome_of(SourceRow(0, 2, {"email": "Jane@Acme.com"}), seen)
    again = outcome_of(SourceRow(0, 3, {"email": "  jane@acme.COM "}), seen)
    assert first.kind == "published"
    assert first.lead_id == lead_id_for("c1", "jane@acme.com")
    assert again.kind == "duplicate"
    assert again.duplicate_of == first.lead_id
    assert again.lead_id == row_id("c1", 0, 3) != first.lead_id
    assert again.lead is None


def test_a_duplicate_of_an_earlier_batch_is_found_through_seen() -> None:
    seen = {"jane@acme.com": "lead-1"}
    result = outcome_of(SourceRow(1, 7, {"email": "jane@acme.com"}), seen)
    assert (result.kind, result.duplicate_of) == ("duplicate", "lead-1")


def test_suppressed_addresses_are_excluded() -> None:
    result = outcome_of(SourceRow(0, 2, {"email": "gone@acme.com"}), {}, {"gone@acme.com": "unsubscribed"})
    assert result.kind == "excluded"
    assert result.reason_code == "suppressed"
    assert result.reason is not None
    assert "unsubscribed" in result.reason
    assert result.lead is not None


def test_rejections_get_a_row_id_and_the_reason() -> None:
    result = outcome_of(SourceRow(0, 4, {"email": ""}), {})
    assert (result.kind, result.reason_code, result.lead_id) == ("rejected", "missing_email", row_id("c1", 0, 4))


def test_unreadable_rows_are_rejected() -> None:
    result = outcome_of(SourceRow(0, 5, problem="line 5 is not valid JSON"), {})
    assert (result.kind, result.reason_code) == ("rejected", "unreadable_row")


def test_the_same_person_at_another_address_is_a_fuzzy_duplicate() -> None:
    seen: dict[str, str] = {}
    people: dict[str, list[tuple[str, str]]] = {}
    rows = [
        SourceRow(0, 2, {"email": "jose@acme.com", "full_name": "José Álvarez"}),
        SourceRow(0, 3, {"email": "j.alvarez@acme.com", "full_name": "Jose Alvarez"}),
    ]
    first, again = (decide("c1", r, prepare(r, "here"), "here", seen, {}, people) for r in rows)
    assert first.kind == "published"
    assert (again.kind, again.reason_code, again.duplicate_of) == ("duplicate", "duplicate_fuzzy", first.lead_id)
    assert again.lead_id == row_id("c1", 0, 3)


def test_leads_are_scored_and_those_below_the_minimum_tier_excluded() -> None:
    icp = Icp(titles=["Head of Growth"], seniority=["head"], min_tier="B")
    fit = SourceRow(0, 2, {"email": "ana@acme.com", "title": "Head of Growth"})
    unfit = SourceRow(0, 3, {"email": "bo@acme.com", "title": "Accountant"})
    good, bad = (decide("c1", r, prepare(r, "here"), "here", {}, {}, {}, icp) for r in (fit, unfit))
    assert good.kind == "published"
    assert good.score is not None
    assert good.score.tier == "A"
    assert (bad.kind, bad.reason_code) == ("excluded", "below_min_tier")
    assert bad.lead_id == lead_id_for("c1", "bo@acme.com")
    assert bad.score is not None
    assert bad.score.tier == "C"
