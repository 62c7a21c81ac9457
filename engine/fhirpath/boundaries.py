"""The FHIRPath ``lowBoundary()``/``highBoundary()`` arithmetic, on plain Python values.

A value of limited precision stands for an interval: ``1.587`` for [1.5865, 1.5875),
``@2014`` for the whole year. These functions give the ends of that interval, written at
the requested precision (http://hl7.org/fhirpath/#lowboundaryprecision-integer-decimal--date--datetime--time),
with the rounding the official test suite expects::

    >>> decimal_boundary(Decimal("1.587"), None, high=False)
    Decimal('1.58650000')
    >>> decimal_boundary(Decimal("-1.587"), 2, high=False)
    Decimal('-1.59')
    >>> datetime_boundary("2014-01-01T08", 17, high=True, is_date=False)
    '2014-01-01T08:00:59.999-12:00'
    >>> time_boundary("10:30", None, high=False)
    '10:30:00.000'
"""

from __future__ import annotations

import calendar
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal

__all__ = ["datetime_boundary", "decimal_boundary", "time_boundary"]

_DECIMAL_DEFAULT_PRECISION = 8
_DECIMAL_MAX_PRECISION = 28
# Enough digits that quantizing any in-range value never overflows the context.
_CONTEXT = Context(prec=80)

_DATETIME = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?"
    r"(?:T(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?)?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?$"
)
_TIME = re.compile(
    r"^(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?)?$"
)
#: Precision, in digits, of each date-time prefix: year, month, day, hour, minute, second, ms.
_DATETIME_PRECISIONS = (4, 6, 8, 10, 12, 14, 17)
_TIME_PRECISIONS = (2, 4, 6, 9)
# Without a time zone, a date-time could be anywhere on Earth: the widest offsets bound it.
_EARLIEST_ZONE = "+14:00"
_LATEST_ZONE = "-12:00"


def decimal_boundary(value: Decimal | int, precision: int | None, *, high: bool) -> Decimal | None:
    """The low or high end of a decimal's interval, with ``precision`` decimal places.

    ``None`` when the precision is outside 0..28. The default precision is 8.
    """
    places = _DECIMAL_DEFAULT_PRECISION if precision is None else precision
    if not 0 <= places <= _DECIMAL_MAX_PRECISION:
        return None
    number = Decimal(value)
    if number.is_signed() and number != 0:
        # Symmetric about zero: the low end of -x is minus the high end of x.
        boundary = decimal_boundary(-number, places, high=not high)
        return None if boundary is None else -boundary
    exponent = number.as_tuple().exponent
    digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    half_unit = Decimal(5).scaleb(-(digits + 1))
    end = number + half_unit if high else number - half_unit
    rounding = ROUND_HALF_UP if high else ROUND_DOWN
    return end.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=_CONTEXT)


def datetime_boundary(text: str, precision: int | None, *, high: bool, is_date: bool) -> str | None:
    """The low or high end of a date or date-time (``YYYY-MM-DDThh:mm:ss.fff+zz:zz``).

    ``precision`` counts digits (4 year, 6 month, 8 day, 10 hour, 12 minute, 14 second,
    17 millisecond); the default is 8 for a date and 17 for a date-time. ``None`` when the
    text is not a date-time or the precision is not one of those.
    """
    match = _DATETIME.match(text)
    default = 8 if is_date else 17
    digits = default if precision is None else precision
    if match is None or digits not in _DATETIME_PRECISIONS or (is_date and digits > 8):
        return None
    parts = match.groupdict()
    if parts["hour"] is not None and parts["minute"] is None:
        # An hour alone is not a FHIR dateTime: it is read as hh:00.
        parts["minute"] = "00"
    year = parts["year"]
    month = parts["month"] or ("12" if high else "01")
    last_day = calendar.monthrange(int(year), int(month))[1]
    day = parts["day"] or (f"{last_day:02d}" if high else "01")
    result = year
    if digits >= 6:
        result += f"-{month}"
    if digits >= 8:
        result += f"-{day}"
    if digits >= 10:
        result += "T" + _clock(parts, digits - 8, high=high)
        result += parts["zone"] or (_LATEST_ZONE if high else _EARLIEST_ZONE)
    return result


def time_boundary(text: str, precision: int | None, *, high: bool) -> str | None:
    """The low or high end of a time (``hh:mm:ss.fff``); precision 2, 4, 6 or 9 (default)."""
    match = _TIME.match(text)
    digits = 9 if precision is None else precision
    if match is None or digits not in _TIME_PRECISIONS:
        return None
    return _clock(match.groupdict(), digits, high=high)


def _clock(parts: dict[str, str | None], digits: int, *, high: bool) -> str:
    """``hh[:mm[:ss[.fff]]]`` to ``digits`` digits, filling what is missing with the
    earliest or latest value."""
    hour = parts["hour"] or ("23" if high else "00")
    minute = parts["minute"] or ("59" if high else "00")
    second = parts["second"] or ("59" if high else "00")
    fraction = (parts["fraction"] or "")[:3].ljust(3, "9" if high else "0")
    if parts["second"] is None:
        fraction = "999" if high else "000"
    text = hour
    if digits >= 4:
        text += f":{minute}"
    if digits >= 6:
        text += f":{second}"
    if digits >= 9:
        text += f".{fraction}"
    return text
