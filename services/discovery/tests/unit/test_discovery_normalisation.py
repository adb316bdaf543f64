"""Pure normalisation and validation of one row."""

from coldstream_shared.events import LeadData
from discovery.normalisation import MAX_FIELD_CHARS, Rejection, build_lead, clean_email, domain_of, parse_company_size

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
    assert lead(email="a@acme.com", phone="+1 555 0100").phone == "+1 555 0100"


def test_whitespace_and_invisible_characters_are_cleaned_and_long_values_cut() -> None:
    result = lead(email="a@acme.com", title="  Head\u200b  of\tGrowth ", company="x" * 10_000)
    assert result.title == "Head of Growth"
    assert result.company is not None
    assert len(result.company) == MAX_FIELD_CHARS


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
