"""Lead files fuzzed through discovery's pure rules (reading, normalisation, the one outcome per row).

Any bytes: the file is refused as a whole with a SourceError that says why, or every row it holds ends in exactly
one outcome (published, held, rejected, duplicate, excluded), each one that is not a lead with a reason code and a
sentence, and every event it leads to can be stored (Postgres) and consumed (under the consumers' size limit).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from coldstream_shared.campaign import CampaignSpec, Source
from coldstream_shared.dead_letters import MAX_EVENT_BYTES
from coldstream_shared.events import CampaignStarted, Event
from discovery.address_rules import COLUMNS_NOT_KEPT, lead_flags
from discovery.columns import MAX_EXTRA_NAME_CHARS
from discovery.lead_events import event_for
from discovery.normalisation import MAX_EXTRA_COLUMNS
from discovery.outcomes import CampaignView, Outcome, decide, prepare
from discovery.sources import SourceError, open_source
from tests.property.csv_files import LEAD_FILES, unquoted_csv

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KINDS = {"published", "held", "rejected", "duplicate", "excluded"}


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def started(path: Path) -> CampaignStarted:
    spec = CampaignSpec.model_validate(
        {
            "id": "csv-fuzz",
            "name": "CSV fuzz",
            "sources": [{"type": "csv", "path": str(path)}],
            "offer": {"product": "Widgets", "value_proposition": "Fewer broken widgets"},
            "sequence": {"steps": [{"subject": "Hi", "body": "Hello"}]},
            "sending": {"from_name": "Sam", "from_email": "sam@sender.example"},
        }
    )
    return CampaignStarted.originate(producer="fuzz", key=uuid.uuid4().hex, campaign_id="csv-fuzz", campaign=spec)


def import_rows(path: Path) -> list[Outcome] | None:
    """Every row's outcome, as the import decides them; None when the file is refused (with a message)."""
    try:
        lead_file = open_source(0, Source(type="csv", path=str(path)))
        view, outcomes = CampaignView("csv-fuzz"), []
        for row in lead_file.rows():
            where = f"row {row.row_number} of {lead_file.name}"
            outcomes.append(decide(row, prepare(row, where), where, view))
    except SourceError as error:
        refused = str(error)
    else:
        return outcomes
    assert refused.strip()
    return None


def storable(event: Event) -> None:
    """What the outbox (Postgres JSONB) and every consumer (size limit) accept."""
    body = event.model_dump_json()
    assert "\\u0000" not in body, f"a NUL reaches {event.subject}; Postgres refuses it: {body[:300]}"
    assert len(body.encode()) <= MAX_EVENT_BYTES, f"{event.subject} is {len(body)} bytes; consumers refuse it"


def check(path: Path, content: bytes) -> list[Outcome] | None:
    path.write_bytes(content)
    outcomes = import_rows(path)
    if outcomes is None:
        return None
    numbers = [o.row_number for o in outcomes]
    assert numbers == sorted(set(numbers)), "each row has exactly one outcome, in file order"
    cause = started(path)
    for outcome in outcomes:
        assert outcome.kind in KINDS
        if outcome.kind in {"rejected", "duplicate", "excluded"}:
            assert outcome.reason_code, outcome
            assert (outcome.reason or "").strip(), outcome
        else:
            assert outcome.lead is not None, outcome
        event = event_for(cause, outcome, "csv:leads.csv")
        if event is not None:
            storable(event)
    return outcomes


@FUZZ
@given(content=LEAD_FILES)
def test_any_lead_file_is_refused_with_a_reason_or_every_row_ends_in_one_outcome(folder: Path, content: bytes) -> None:
    # NUL bytes have their own test below (discovery drops them); here they would hide
    # every other finding.
    check(folder / "leads.csv", content.replace(b"\x00", b""))


@FUZZ
@given(file=unquoted_csv())
def test_no_row_disappears(folder: Path, file: tuple[bytes, int]) -> None:
    content, rows = file
    outcomes = check(folder / "leads.csv", content)
    assert outcomes is not None
    assert len(outcomes) == rows


@pytest.mark.parametrize(
    "content",
    [b"email,name\nada@acme.com,A\x00da\n", b"mail\n\x00\n", b"email,no\x00te\nada@acme.com,x\n"],
    ids=["name", "email", "header"],
)
def test_a_nul_does_not_reach_the_events(folder: Path, content: bytes) -> None:
    check(folder / "leads.csv", content)


def test_a_very_wide_row_still_makes_an_event_consumers_accept(folder: Path) -> None:
    header = ",".join(["email", *(f"note{i}" for i in range(600))])
    row = ",".join(["ada@acme.com", *("n" * 1000 for _ in range(600))])
    [outcome] = check(folder / "leads.csv", f"{header}\n{row}\n".encode()) or []
    assert outcome.kind == "published"
    assert outcome.lead is not None
    extra = outcome.lead.extra
    kept = [key for key in extra if key != COLUMNS_NOT_KEPT]
    assert kept == [f"note{i}" for i in range(len(kept))], "the first columns are kept, in file order"
    assert extra[COLUMNS_NOT_KEPT] == 600 - len(kept), "what is not kept is counted"
    assert COLUMNS_NOT_KEPT in lead_flags(outcome.lead)


@pytest.mark.parametrize("where", ["header", "ragged"])
def test_thousands_of_columns_keep_at_most_the_cap_and_count_the_rest(folder: Path, where: str) -> None:
    if where == "header":
        content = ",".join(["email", *(f"c{i}" for i in range(5000))]) + "\n" + "ada@acme.com" + ",x" * 5000
    else:  # a narrow header, a row thousands of cells long: the cells past the header become column_<n>
        content = "email,name\nada@acme.com,Ada" + ",x" * 5000
    [outcome] = check(folder / "leads.csv", f"{content}\n".encode()) or []
    assert outcome.lead is not None
    assert len(outcome.lead.extra) == MAX_EXTRA_COLUMNS + 1
    assert outcome.lead.extra[COLUMNS_NOT_KEPT] == 5000 - MAX_EXTRA_COLUMNS


def test_a_huge_header_cell_is_cut_as_a_column_name(folder: Path) -> None:
    [outcome] = check(folder / "leads.csv", f"email,{'h' * 100_000}\nada@acme.com,x\n".encode()) or []
    assert outcome.lead is not None
    assert outcome.lead.extra == {"h" * MAX_EXTRA_NAME_CHARS: "x"}
