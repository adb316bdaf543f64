"""Fuzzy duplicates: the same person (nearly the same name) at the same company domain."""

import pytest

from coldstream_shared.events import LeadData
from discovery.people import People, name_key, remember, same_person_as


def person(name: str, domain: str | None = "acme.com", email: str = "x@acme.com") -> LeadData:
    return LeadData(email=email, full_name=name, company_domain=domain)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("José Álvarez", "Jose Alvarez", True),
        ("Jane Doe", "  JANE   doe ", True),
        ("Jonathan Smith", "Jonathon Smith", True),  # a typo
        ("Dr. Jane Doe", "Jane Doe", True),  # titles are not part of the name
        ("Jon Smith", "Jonathan Smith", False),  # a nickname may be another person
        ("Jane Doe", "John Doe", False),
    ],
)
def test_name_variants(first: str, second: str, same: bool) -> None:
    people: People = {}
    remember(people, person(first), "lead-1")
    assert (same_person_as(person(second), people) == "lead-1") is same


def test_the_same_name_at_another_domain_is_another_person() -> None:
    people: People = {}
    remember(people, person("Jane Doe"), "lead-1")
    assert same_person_as(person("Jane Doe", domain="beta.io"), people) is None


def test_leads_without_a_name_or_domain_are_never_fuzzy_duplicates() -> None:
    people: People = {}
    remember(people, person("Jane Doe", domain=None), "lead-1")
    assert people == {}
    assert same_person_as(person("Jane Doe", domain=None), people) is None
    assert name_key(LeadData(email="x@acme.com")) is None


def test_first_and_last_name_fields_make_the_key() -> None:
    assert name_key(LeadData(email="x@a.com", first_name="José", last_name="ÁLVAREZ")) == "jose alvarez"
