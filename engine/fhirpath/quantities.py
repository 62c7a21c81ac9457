"""Comparing quantities across units, for ``comparable()`` and the ordering operators.

fhirpathpy cannot order quantities at all (``1 'cm' < 2 'cm'`` raises), and FHIR
constraints need it (rng-2 compares a Range's low and high). This module knows the
common UCUM units: the metric prefixes on the SI base units, customary length, mass and
volume units and the calendar durations, each as a factor of its dimension's base unit.
Units it does not know are comparable only with themselves.

    >>> units_comparable("'cm'", "'[in_i]'"), units_comparable("'cm'", "'s'")
    (True, False)
    >>> quantity_order(Decimal(1), "'m'", Decimal(99), "'cm'")
    1
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["quantity_order", "units_comparable"]

# Base units: (dimension, factor to the dimension's base); a None factor means the scale
# is not linear (temperatures): comparable, but not orderable across units.
_UNITS: dict[str, tuple[str, Decimal | None]] = {
    "m": ("length", Decimal(1)),
    "[in_i]": ("length", Decimal("0.0254")),
    "[ft_i]": ("length", Decimal("0.3048")),
    "[yd_i]": ("length", Decimal("0.9144")),
    "[mi_i]": ("length", Decimal("1609.344")),
    "g": ("mass", Decimal(1)),
    "[lb_av]": ("mass", Decimal("453.59237")),
    "[oz_av]": ("mass", Decimal("28.349523125")),
    "s": ("time", Decimal(1)),
    "min": ("time", Decimal(60)),
    "h": ("time", Decimal(3600)),
    "d": ("time", Decimal(86400)),
    "wk": ("time", Decimal(604800)),
    "mo": ("time", Decimal("2629800")),
    "a": ("time", Decimal("31557600")),
    "L": ("volume", Decimal(1)),
    "l": ("volume", Decimal(1)),
    "[gal_us]": ("volume", Decimal("3.785411784")),
    "[foz_us]": ("volume", Decimal("0.0295735295625")),
    "mol": ("amount", Decimal(1)),
    "eq": ("equivalents", Decimal(1)),
    "Pa": ("pressure", Decimal(1)),
    "mm[Hg]": ("pressure", Decimal("133.322387415")),
    "Hz": ("frequency", Decimal(1)),
    "%": ("fraction", Decimal("0.01")),
    "Cel": ("temperature", None),
    "K": ("temperature", None),
    "[degF]": ("temperature", None),
}
_METRIC = frozenset({"m", "g", "s", "L", "l", "mol", "eq", "Pa", "Hz"})
_PREFIXES = {
    "da": Decimal(10),
    "k": Decimal(1000),
    "h": Decimal(100),
    "d": Decimal("0.1"),
    "c": Decimal("0.01"),
    "m": Decimal("0.001"),
    "u": Decimal("0.000001"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
}
_CALENDAR = {
    "year": "a",
    "month": "mo",
    "week": "wk",
    "day": "d",
    "hour": "h",
    "minute": "min",
    "second": "s",
    "millisecond": "ms",
}
_CALENDAR_WORD = re.compile(r"^(year|month|week|day|hour|minute|second|millisecond)s?$")


def units_comparable(left: str, right: str) -> bool:
    """Whether quantities in these units (UCUM codes, quoted or not, or calendar words)
    measure the same kind of thing."""
    left, right = _code(left), _code(right)
    if left == right:
        return True
    left_scale, right_scale = _scale(left), _scale(right)
    return left_scale is not None and right_scale is not None and left_scale[0] == right_scale[0]


def quantity_order(
    left_value: Decimal, left_unit: str, right_value: Decimal, right_unit: str
) -> int | None:
    """-1, 0 or 1 as the left quantity is less than, equal to or greater than the right;
    ``None`` when their units cannot be compared."""
    left_code, right_code = _code(left_unit), _code(right_unit)
    if left_code == right_code:
        return _sign(Decimal(left_value) - Decimal(right_value))
    left_scale, right_scale = _scale(left_code), _scale(right_code)
    if left_scale is None or right_scale is None or left_scale[0] != right_scale[0]:
        return None
    if left_scale[1] is None or right_scale[1] is None:
        return None
    return _sign(Decimal(left_value) * left_scale[1] - Decimal(right_value) * right_scale[1])


def _code(unit: str) -> str:
    text = unit.strip("'")
    match = _CALENDAR_WORD.match(text)
    return _CALENDAR[match.group(1)] if match else text


def _scale(code: str) -> tuple[str, Decimal | None] | None:
    if code in _UNITS:
        return _UNITS[code]
    for prefix, factor in _PREFIXES.items():
        base = code[len(prefix) :]
        if code.startswith(prefix) and base in _METRIC:
            dimension, base_factor = _UNITS[base]
            return dimension, None if base_factor is None else factor * base_factor
    return None


def _sign(difference: Decimal) -> int:
    return (difference > 0) - (difference < 0)
