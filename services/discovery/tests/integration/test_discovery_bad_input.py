"""Bad input on real Postgres: every bad row gets a reason and the counters still add up; a bad file is a clear
campaign error (failed status, campaign.alert), never a crash and never a silent drop."""

from __future__ import annotations

from pathlib import Path

import pytest
from discovery_testkit import (
    assert_counters_add_up,
    campaign_started,
    counters,
    direct_runtime,
    outbox_events,
    unique_campaign_id,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from coldstream_shared.errors import PermanentError
from discovery.import_campaign import ImportCampaign

pytestmark = pytest.mark.integration

# Latin-1 bytes (no BOM), a duplicated and an empty header, ragged rows, formula cells, junk, placeholders,
# an absurd field and an unparseable line.
BAD_ROWS = (
    "Email;Name;Company;;Company\n"
    "jos\xe9@acme.com;Jos\xe9 \xc1lvarez;Acme;x;Acme GmbH\n"  # an internationalised address (SMTPUTF8)
    'ann@acme.com;Ann;=HYPERLINK("http://evil");;\n'
    "bo@beta.io;Bo;+SUM(1);extra;cells;beyond;header\n"
    "cy@gamma.io\n"
    "n/a;Nobody;-\n"
    "test@gamma.io;Tess;Gamma\n"
    f"dee@delta.io;{'D' * 5000};Delta\n"
    "@evil.io;At;@cmd\n"
)


async def test_every_bad_row_has_a_reason_and_the_counters_add_up(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    lead_file = tmp_path / "export.csv"
    lead_file.write_bytes(BAD_ROWS.encode("latin-1"))
    campaign_id = unique_campaign_id()
    async with direct_runtime(nats_url, fresh_database_url, tmp_path) as runtime:
        await ImportCampaign(runtime.unit_of_work, batch_size=3)(campaign_started(campaign_id, lead_file))
    scraped = {p["lead"]["email"]: p["lead"] for p in await outbox_events(database, campaign_id, "lead.scraped")}
    rejected = {p["row_number"]: p["reason_code"] for p in await outbox_events(database, campaign_id, "lead.rejected")}
    assert set(scraped) == {"josé@acme.com", "ann@acme.com", "bo@beta.io", "cy@gamma.io"}
    assert scraped["josé@acme.com"]["first_name"] == "José"  # Latin-1 read as such
    assert scraped["ann@acme.com"]["company"] == '=HYPERLINK("http://evil")'  # text, never evaluated
    assert scraped["bo@beta.io"]["extra"] == {"column_4": "extra", "column_6": "beyond", "column_7": "header"} | {
        "Company": "cells"
    }
    assert rejected == {6: "missing_email", 7: "placeholder_email", 8: "field_too_long", 9: "invalid_email"}
    c = await counters(database, campaign_id)
    assert_counters_add_up(c)
    assert (c["rows_read"], c["published"], c["invalid"]) == (8, 4, 4)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"Name,Company\nAnn,Acme\n", "no email column"),
    ],
)
async def test_an_unusable_file_fails_the_campaign_with_an_alert(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path, content: bytes, message: str
) -> None:
    lead_file = tmp_path / "leads.csv"
    lead_file.write_bytes(content)
    campaign_id = unique_campaign_id()
    async with direct_runtime(nats_url, fresh_database_url, tmp_path) as runtime:
        with pytest.raises(PermanentError, match=message):
            await ImportCampaign(runtime.unit_of_work)(campaign_started(campaign_id, lead_file))
    c = await counters(database, campaign_id)
    assert c["status"] == "failed"
    assert message in c["error"]
    [alert] = await outbox_events(database, campaign_id, "campaign.alert")
    assert alert["kind"] == "import_failed"
