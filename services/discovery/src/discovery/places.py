"""Pure rules: where a lead is (country, city), how to call them (E.164) and their timezone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from discovery.contact_details import country_code, country_name, e164, parse_phone, timezone_for


@dataclass(frozen=True)
class Place:
    country: str | None
    city: str | None
    phone: str | None
    timezone: str | None


def locate(values: Mapping[str, str | None], extra: dict[str, str | int]) -> Place:
    """Country by its ISO name, city, phone in E.164 and the timezone they allow (extra keeps what did not parse)."""
    country, city = values.get("country"), values.get("city")
    location = values.get("location")
    if location and not country:
        # 'Berlin, Berlin, Germany' (LinkedIn, Apollo): the last part is the country when it is one.
        parts = [part.strip() for part in location.split(",") if part.strip()]
        if parts and country_code(parts[-1]):
            country = parts[-1]
            city = city or (parts[0] if len(parts) > 1 else None)
        else:
            extra["location"] = location
    code = country_code(country)
    if country and code:
        country = country_name(code)
    phone_text = values.get("phone")
    number = parse_phone(phone_text, code)
    phone = e164(number)
    if phone_text and phone is None:
        extra["phone"] = phone_text  # not a valid number: kept as written, never dialled
    zone = values.get("timezone")
    if zone and not is_zone(zone):
        extra["timezone"] = zone
        zone = None
    return Place(country, city, phone, zone or timezone_for(number, code))


def is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
