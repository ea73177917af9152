"""Profile completeness (events-webhooks.md §8): 12 equally weighted fields, 100 × filled / 12 computed exactly and
rounded half-up to one decimal. The SQL in `sql/queries/profiles/completeness_update.sql` applies the same rule to
many users at once; tests hold the two equal."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "city",
    "preferred_language",
    "bio",
    "avatar_url",
    "skills",
    "linkedin_url",
    "timezone",
)


def is_filled(name: str, value: Any) -> bool:
    """Not NULL and not blank; skills needs a JSON array with at least one non-blank string."""
    if value is None:
        return False
    if name == "skills":
        return isinstance(value, list) and any(isinstance(item, str) and item.strip() for item in value)
    return bool(str(value).strip())


def completeness(profile: Mapping[str, Any]) -> Decimal:
    filled = sum(is_filled(name, profile.get(name)) for name in FIELDS)
    exact = Fraction(100 * filled, len(FIELDS))
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
