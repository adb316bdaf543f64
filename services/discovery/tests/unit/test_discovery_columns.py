"""Header auto-mapping and explicit column maps."""

import pytest

from discovery.columns import ColumnMapError, map_columns, normalise_header


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("email", "email"),
        ("Email", "email"),
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("\ufeffEmail", "email"),
        ("First Name", "first_name"),
        ("last_name", "last_name"),
        ("Company Name", "company"),
        ("Organization", "company"),
        ("Job Title", "title"),
        ("Website", "website"),
        ("LinkedIn URL", "linkedin_url"),
        ("Person Linkedin Url", "linkedin_url"),
        ("Phone", "phone"),
        ("Country", "country"),
        ("City", "city"),
        ("company_domain", "company_domain"),
    ],
)
def test_common_headers_map_to_lead_fields(header: str, field: str) -> None:
    mapping = map_columns(["id", header])
    assert mapping.fields == {field: 1}
    assert mapping.extras == {"id": 0}


def test_normalise_header_ignores_case_spaces_and_punctuation() -> None:
    assert normalise_header("  E-mail  Address ") == "e_mail_address"


def test_column_map_overrides_aliases() -> None:
    mapping = map_columns(["Email", "Work Email"], {"email": "Work Email"})
    assert mapping.fields["email"] == 1
    assert mapping.extras == {"Email": 0}


def test_column_map_naming_a_missing_column_is_an_error() -> None:
    with pytest.raises(ColumnMapError, match="no column 'Mail'"):
        map_columns(["Email"], {"email": "Mail"})


def test_column_map_naming_an_unknown_field_is_an_error() -> None:
    with pytest.raises(ColumnMapError, match="unknown field"):
        map_columns(["Email"], {"favourite_colour": "Email"})


def test_first_of_repeated_headers_wins_and_the_rest_are_kept_as_extras() -> None:
    mapping = map_columns(["Email", "Email", "Notes", "Notes"])
    assert mapping.fields == {"email": 0}
    assert set(mapping.extras) == {"Email", "Notes", "Notes_4"}


def test_ragged_rows_yield_what_they_have() -> None:
    mapping = map_columns(["Email", "First Name", "Notes"])
    fields, extras = mapping.apply(["a@example.com"])
    assert fields == {"email": "a@example.com"}
    assert extras == {}


def test_common_export_headers_map_without_a_column_map() -> None:
    apollo = [
        "First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email", "Email Status",
        "Seniority", "Departments", "Work Direct Phone", "Mobile Phone", "# Employees", "Industry",
        "Person Linkedin Url", "Website", "Company Linkedin Url", "City", "State", "Country",
    ]  # fmt: skip
    fields = map_columns(apollo).fields
    assert {f: apollo[i] for f, i in fields.items()} == {
        "first_name": "First Name",
        "last_name": "Last Name",
        "title": "Title",
        "company": "Company",
        "email": "Email",
        "seniority": "Seniority",
        "department": "Departments",
        "phone": "Work Direct Phone",
        "company_size": "# Employees",
        "industry": "Industry",
        "linkedin_url": "Person Linkedin Url",
        "website": "Website",
        "city": "City",
        "country": "Country",
    }
    sales_navigator = [
        "First Name",
        "Last Name",
        "Current Title",
        "Current Company",
        "Location",
        "Profile URL",
        "Email",
    ]
    fields = map_columns(sales_navigator).fields
    assert {f: sales_navigator[i] for f, i in fields.items()} == {
        "first_name": "First Name",
        "last_name": "Last Name",
        "title": "Current Title",
        "company": "Current Company",
        "location": "Location",
        "linkedin_url": "Profile URL",
        "email": "Email",
    }
    hunter = ["Email address", "First name", "Last name", "Position", "Department", "LinkedIn URL", "Phone number",
              "Company", "Domain name", "Confidence score"]  # fmt: skip
    fields = map_columns(hunter).fields
    assert {f: hunter[i] for f, i in fields.items()} == {
        "email": "Email address",
        "first_name": "First name",
        "last_name": "Last name",
        "title": "Position",
        "department": "Department",
        "linkedin_url": "LinkedIn URL",
        "phone": "Phone number",
        "company": "Company",
        "company_domain": "Domain name",
    }
    assert map_columns(hunter).extras == {"Confidence score": 9}
