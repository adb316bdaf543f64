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
