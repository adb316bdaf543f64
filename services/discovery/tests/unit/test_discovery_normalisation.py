"""Pure normalisation and validation of one row."""

from coldstream_shared.events import LeadData
from discovery.address_rules import COLUMNS_NOT_KEPT, lead_flags
from discovery.normalisation import (
    MAX_EXTRA_CHARS,
    MAX_EXTRA_COLUMNS,
    MAX_EXTRA_TOTAL_CHARS,
    Rejection,
    build_lead,
    clean_email,
    domain_of,
    keep_extras,
    parse_company_size,
)

WHERE = "row 2 of leads.csv"


def lead(**fields: str) -> LeadData:
    result = build_lead(fields, {}, WHERE)
    assert isinstance(result, LeadData), result
    return result


def test_email_is_trimmed_and_lower_cased() -> None:
    assert lead(email="  Jane.Doe@Acme.COM ").email == "jane.doe@acme.com"
    assert clean_email("<mailto:Bob@Acme.com>") == "bob@acme.com"


def test_missing_email_is_rejected_with_the_row() -> None:
    result = build_lead({"email": "  ", "first_name": "Ann"}, {}, WHERE)
    assert result == Rejection("missing_email", "row 2 of leads.csv has no email address")


def test_invalid_email_is_rejected_with_the_reason() -> None:
    result = build_lead({"email": "not-an-address"}, {}, WHERE)
    assert isinstance(result, Rejection)
    assert result.reason_code == "invalid_email"
    assert result.reason.startswith("row 2 of leads.csv: the email address is not valid")
    assert result.email == "not-an-address"


def test_company_domain_comes_from_the_email_unless_it_is_free_mail() -> None:
    assert lead(email="jane@eu.acme.co.uk").company_domain == "acme.co.uk"
    assert lead(email="jane@gmail.com").company_domain is None


def test_explicit_domain_or_website_wins_over_the_email() -> None:
    assert lead(email="jane@gmail.com", website="https://www.acme.io/about").company_domain == "acme.io"
    assert lead(email="jane@acme.com", company_domain="WWW.Other.com").company_domain == "other.com"


def test_domain_of_handles_urls_hosts_and_junk() -> None:
    assert domain_of("http://shop.example.org:8080/x?y=1") == "example.org"
    assert domain_of("example.org") == "example.org"
    assert domain_of("") is None
    assert domain_of("localhost") is None


def test_names_are_split_or_joined() -> None:
    split = lead(email="a@acme.com", full_name="Dr. Jane van der Berg")
    assert (split.first_name, split.last_name) == ("Jane", "van der Berg")
    joined = lead(email="a@acme.com", first_name=" Jane ", last_name="Doe")
    assert joined.full_name == "Jane Doe"


def test_formula_cells_are_kept_as_plain_text() -> None:
    result = build_lead({"email": "a@acme.com", "company": '=HYPERLINK("http://evil","x")'}, {"note": "@SUM(1)"}, WHERE)
    assert isinstance(result, LeadData)
    assert result.company == '=HYPERLINK("http://evil","x")'
    assert result.extra == {"note": "@SUM(1)"}
    # A "phone" starting with '+' or '-' that is no number is kept as written in extra, never dialled.
    assert lead(email="a@acme.com", phone="-1+2").extra == {"phone": "-1+2"}


def test_whitespace_and_invisible_characters_are_cleaned() -> None:
    assert lead(email="a@acme.com", title="  Head\u200b  of\tGrowth ").title == "Head of Growth"


def test_absurdly_long_fields_reject_the_row_and_long_extras_are_cut() -> None:
    result = build_lead({"email": "a@acme.com", "company": "x" * 100_000}, {}, WHERE)
    assert isinstance(result, Rejection)
    assert result.reason_code == "field_too_long"
    assert "company has 100000 characters" in result.reason
    cut = build_lead({"email": "a@acme.com"}, {"notes": "y" * 5000}, WHERE)
    assert isinstance(cut, LeadData)
    assert len(str(cut.extra["notes"])) == MAX_EXTRA_CHARS
    assert str(cut.extra["notes"]).endswith("\u2026")
    assert isinstance(build_lead({"email": "a" * 300 + "@acme.com"}, {}, WHERE), Rejection)


def test_extra_columns_are_kept_in_order_up_to_the_caps_and_the_rest_is_counted() -> None:
    many = {f"c{i}": "v" for i in range(MAX_EXTRA_COLUMNS + 7)} | {"empty": ""}
    kept = keep_extras(many)
    assert list(kept)[:MAX_EXTRA_COLUMNS] == [f"c{i}" for i in range(MAX_EXTRA_COLUMNS)]
    assert kept[COLUMNS_NOT_KEPT] == 7  # an empty cell is not a column not kept
    wide = keep_extras({f"n{i}": "z" * 2000 for i in range(100)})
    assert sum(len(k) + len(str(v)) for k, v in wide.items() if k != COLUMNS_NOT_KEPT) <= MAX_EXTRA_TOTAL_CHARS
    assert wide[COLUMNS_NOT_KEPT] == 100 - (len(wide) - 1)
    assert keep_extras({"a": "b"}) == {"a": "b"}


def test_junk_values_are_empty_and_placeholders_rejected() -> None:
    result = lead(email="ann@acme.com", title="N/A", company="-", country="null")
    assert (result.title, result.company, result.country) == (None, None, None)
    for address in ("test@acme.com", "noreply@acme.com", "jane@example.com"):
        rejected = build_lead({"email": address}, {}, WHERE)
        assert isinstance(rejected, Rejection)
        assert rejected.reason_code == "placeholder_email"


def test_role_addresses_are_flagged_not_rejected() -> None:
    assert lead_flags(lead(email="info@acme.com")) == ["role_address"]
    assert lead_flags(lead(email="ann@acme.com")) == []
    assert lead_flags(lead(email="ann@acme.com").model_copy(update={"extra": {COLUMNS_NOT_KEPT: 3}})) == [
        COLUMNS_NOT_KEPT
    ]


def test_linkedin_phone_country_and_timezone_are_canonical() -> None:
    result = lead(
        email="ann@acme.de",
        linkedin_url="http://de.LinkedIn.com/in/Ann-Berg-12/?trk=abc",
        phone="030 1234567",
        country="Deutschland",
    )
    assert result.linkedin_url == "https://www.linkedin.com/in/ann-berg-12"
    assert (result.phone, result.country, result.timezone) == ("+49301234567", "Germany", "Europe/Berlin")
    us = lead(email="bo@acme.com", phone="+1 415 555 2671", country="USA")
    assert (us.country, us.phone, us.timezone) == ("United States", "+14155552671", "America/Los_Angeles")
    assert lead(email="cy@acme.com", country="US").timezone is None  # several zones, no phone: unknown
    located = lead(email="di@acme.com", location="Paris, Île-de-France, France")
    assert (located.city, located.country, located.timezone) == ("Paris", "France", "Europe/Paris")
    company_page = lead(email="ed@acme.com", linkedin_url="https://www.linkedin.com/company/acme")
    assert company_page.linkedin_url is None
    assert company_page.extra == {"linkedin_url": "https://www.linkedin.com/company/acme"}
    assert lead(email="fa@acme.com", timezone="Europe/Madrid").timezone == "Europe/Madrid"


def test_event_dates_are_parsed_or_kept_as_written() -> None:
    assert lead(email="a@acme.com", event_date="15/09/2026").extra == {"event_date": "2026-09-15"}
    assert lead(email="a@acme.com", event_date="soon").extra == {"event_date_unparsed": "soon"}


def test_empty_extras_are_dropped() -> None:
    result = build_lead({"email": "a@acme.com"}, {"notes": " ", "tag": "vip"}, WHERE)
    assert isinstance(result, LeadData)
    assert result.extra == {"tag": "vip"}


def test_company_size_is_parsed_or_kept_as_written() -> None:
    assert [parse_company_size(v) for v in ("1,200", "51-200", "10000+", "11 to 50", "lots", None)] == [
        1200,
        51,
        10000,
        11,
        None,
        None,
    ]
    lead = build_lead({"email": "a@acme.com", "company_size": "lots"}, {}, "row 2")
    assert not isinstance(lead, Rejection)
    assert lead.company_size is None
    assert lead.extra == {"company_size": "lots"}


def test_text_no_database_could_store_is_dropped_from_values() -> None:
    # A lone surrogate arrives from a JSON escape ("\udfff") in a proposed lead; NUL from a broken export.
    found = lead(email="ann@acme.com", company="Ac\udfffme\x00 Ltd")
    assert found.company == "Acme Ltd"
