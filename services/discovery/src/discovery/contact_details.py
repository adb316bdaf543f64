"""Pure rules: LinkedIn URLs in canonical form, phones in E.164, countries by name, and a timezone where the
location allows one (sending needs it for its send windows). Well-kept libraries do the hard part: phonenumbers
(numbers and their time zones) and pycountry (ISO 3166 names and codes)."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import phonenumbers
import pycountry
from phonenumbers import timezone as phone_timezones

_PROFILE = re.compile(r"^/(in|pub)/([^/?#]+)")
_COUNTRY_ALIASES = {
    "usa": "US",
    "us": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "deutschland": "DE",
    "holland": "NL",
    "the netherlands": "NL",
    "south korea": "KR",
    "russia": "RU",
    "czechia": "CZ",
    "uae": "AE",
}
# A calling code shared by dependencies whose zones are the main one's (Jersey, Guernsey: Europe/London).
_MAIN_ZONE = {"GB": "Europe/London"}


def canonical_linkedin(value: str | None) -> str | None:
    """'HTTP://uk.LinkedIn.com/in/Jane-Doe-1a2b/?trk=x' -> 'https://www.linkedin.com/in/jane-doe-1a2b'.
    None when it is not a person's LinkedIn profile URL (a company page, another site)."""
    if not value:
        return None
    text = value.strip()
    parts = urlsplit(text if "//" in text else f"//{text}")
    host = (parts.hostname or "").lower()
    if not (host == "linkedin.com" or host.endswith(".linkedin.com")):
        return None
    match = _PROFILE.match(parts.path)
    if not match:
        return None
    kind, slug = match.groups()
    return f"https://www.linkedin.com/{kind}/{unquote(slug).lower()}"


@lru_cache(maxsize=4096)
def country_code(value: str | None) -> str | None:
    """ISO 3166 alpha-2 for a country name, code or common alias ('Deutschland', 'DEU', 'UK'); None if unknown."""
    if not value:
        return None
    text = value.strip()
    alias = _COUNTRY_ALIASES.get(text.lower())
    if alias:
        return alias
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


def country_name(code: str) -> str:
    """The short English name ('Korea, Republic of' has the common name 'South Korea')."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def parse_phone(value: str | None, region: str | None) -> phonenumbers.PhoneNumber | None:
    """'+49 30 1234567' or '030 1234567' (with region DE) as a valid number; None when it is not one."""
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def e164(number: phonenumbers.PhoneNumber | None) -> str | None:
    """'+49301234567'."""
    return None if number is None else phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def timezone_for(phone: phonenumbers.PhoneNumber | None, region: str | None) -> str | None:
    """The IANA zone when it is unambiguous: a single-zone country, else the phone number's area."""
    # The country first: it is a cached lookup, while a number's area costs a prefix search per row.
    zone = _country_zone(region) if region else None
    if zone is None and phone is not None:
        zones = phone_timezones.time_zones_for_number(phone)
        if len(zones) == 1 and zones[0] != phone_timezones.UNKNOWN_TIMEZONE:
            zone = str(zones[0])
    return zone


@lru_cache(maxsize=512)
def _country_zone(region: str) -> str | None:
    if region in _MAIN_ZONE:
        return _MAIN_ZONE[region]
    calling_code = phonenumbers.country_code_for_region(region)
    if not calling_code:
        return None
    # Several regions share some calling codes (+1): only a code with one region and one zone is an answer.
    if len(phonenumbers.region_codes_for_country_code(calling_code)) != 1:
        return None
    zones = phone_timezones._country_level_time_zones_for_number(
        phonenumbers.PhoneNumber(country_code=calling_code, national_number=0)
    )
    return str(zones[0]) if len(zones) == 1 else None


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%b %d, %Y", "%d %b %Y", "%B %d, %Y", "%d %B %Y")


def parse_date(value: str | None) -> date | None:
    """An event date as written in common exports (ISO first; 'dd/mm/yyyy' is read the European way)."""
    if not value:
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None
