"""What a campaign's import publishes about itself: progress while it runs, counters and alerts when it is done."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coldstream_shared.events import CampaignAlert, CampaignImported, CampaignProgress, CampaignStarted, Event
from discovery.address_rules import COLUMNS_NOT_KEPT
from discovery.lead_events import SERVICE
from discovery.normalisation import MAX_EXTRA_COLUMNS, MAX_EXTRA_TOTAL_CHARS
from discovery.progress import ProgressMeter


def progress_event(
    started: CampaignStarted, label: str, meter: ProgressMeter, key: object, done: bool = False
) -> CampaignProgress:
    """How far one source has come (rows/s since this run began, ETA from the estimated total)."""
    return CampaignProgress.caused_by(
        started,
        producer=SERVICE,
        key=("progress", key),
        source=label,
        rows_read=meter.rows_read,
        rows_total=meter.total(done),
        rows_per_second=meter.rows_per_second,
        eta_seconds=meter.eta_seconds(done),
        done=done,
    )


def import_finished_events(
    started: CampaignStarted, row: Any, meters: Mapping[str, ProgressMeter], wide: Mapping[str, int] | None = None
) -> list[Event]:
    """Each source's final progress, `campaign.imported` with the counters, an alert when leads wait and one per
    file in `wide` (source label -> columns nobody claimed) whose leads cannot keep every column."""
    events: list[Event] = [
        progress_event(started, label, meter, key=("done", label), done=True) for label, meter in meters.items()
    ]
    events.append(
        CampaignImported.caused_by(
            started,
            producer=SERVICE,
            key="imported",
            rows_read=row.rows_read,
            published=row.published,
            rejected=row.invalid,
            duplicates=row.duplicates,
            excluded=row.excluded,
            held=row.held,
        )
    )
    if row.held:
        message = (
            f"{row.held} leads of campaign {started.campaign_id} wait for approval: "
            f"coldstream campaign approve {started.campaign_id} --stage leads"
        )
        events.append(
            CampaignAlert.caused_by(
                started,
                producer=SERVICE,
                key="leads_awaiting_approval",
                kind="leads_awaiting_approval",
                message=message,
                details={"held": row.held},
            )
        )
    for label, columns in (wide or {}).items():
        message = (
            f"{label} has {columns} columns besides the lead fields; a lead keeps at most {MAX_EXTRA_COLUMNS} "
            f"non-empty ones ({MAX_EXTRA_TOTAL_CHARS:,} characters): each lead's extra.{COLUMNS_NOT_KEPT} says how "
            "many of its own were not kept"
        )
        events.append(
            CampaignAlert.caused_by(
                started,
                producer=SERVICE,
                key=(COLUMNS_NOT_KEPT, label),
                kind=COLUMNS_NOT_KEPT,
                message=message,
                details={"source": label, "columns": columns, "kept_per_lead": MAX_EXTRA_COLUMNS},
            )
        )
    return events
