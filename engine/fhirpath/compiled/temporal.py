"""Dates, date-times and times of partial precision, as FHIRPath compares and shifts them.

>>> parse_temporal("2014-01-25T14:30:14.559", "dateTime")
DateTime('2014-01-25T14:30:14.559')
>>> print(compare_temporal(parse_temporal("2012", "date"), parse_temporal("2012-04", "date")))
None
>>> shift(parse_temporal("1973-12-25", "date"), Decimal(1), "month")
Date('1974-01-25')
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache

__all__ = [
    "DATE_TYPES",
    "Temporal",
    "compare_temporal",
    "equivalent_temporal",
    "now",
    "parse_temporal",
    "shift",
]

_DATETIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
    r"(T(?:(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?"
)
# A FHIR time has no time zone, nor, in FHIRPath R2, a time literal.
_TIME = re.compile(r"(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?")

#: Types whose string values are dates or times, to the kind of value they are.
DATE_TYPES = {
    "date": "Date",
    "dateTime": "DateTime",
    "instant": "DateTime",
    "time": "Time",
    "System.Date": "Date",
    "System.DateTime": "DateTime",
    "System.Time": "Time",
}
_DIGITS = {"Time": (2, 4, 6), "Date": (4, 6, 8), "DateTime": (4, 6, 8, 10, 12, 14)}


class Temporal:
    """A ``System.Date``, ``System.DateTime`` or ``System.Time`` of any precision.

    ``parts`` holds the components given, most significant first (year, month, day,
    hour, minute, second; for a time: hour, minute, second); ``fraction`` the digits of a
    fractional second (``""`` if none); ``tz`` the offset in minutes, ``None`` if none;
    ``text`` the value as written (without ``@``).
    """

    __slots__ = ("kind", "parts", "fraction", "tz", "text")

    def __init__(
        self, kind: str, parts: tuple[int, ...], fraction: str, tz: int | None, text: str
    ) -> None:
        self.kind = kind
        self.parts = parts
        self.fraction = fraction
        self.tz = tz
        self.text = text

    def __repr__(self) -> str:
        return f"{self.kind}({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Temporal) and self.kind == other.kind and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)

    @property
    def has_time(self) -> bool:
        return self.kind == "Time" or len(self.parts) > 3

    def precision(self) -> int:
        """Digits of precision, as ``precision()`` counts them (``@2014`` has 4)."""
        return _DIGITS[self.kind][len(self.parts) - 1] + (3 if self.fraction else 0)


@lru_cache(maxsize=16384)
def parse_temporal(text: str, type_name: str) -> Temporal | None:
    """The value of a FHIR ``date``, ``dateTime``, ``instant`` or ``time`` string, or of a
    literal's text (``type_name`` may also be ``Date``, ``DateTime``, ``Time``);
    ``None`` when ``text`` is not one."""
    kind = DATE_TYPES.get(type_name, type_name)
    if kind == "Time":
        match = _TIME.fullmatch(text)
        if match is None:
            return None
        hour, minute, second, fraction = match.groups()
        parts = tuple(int(p) for p in (hour, minute, second) if p is not None)
        if parts[0] > 23 or any(p > 59 for p in parts[1:]):
            return None
        return Temporal("Time", parts, fraction or "", None, text)
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, time_mark, hour, minute, second, fraction, zone = match.groups()
    parts = tuple(int(p) for p in (year, month, day, hour, minute, second) if p is not None)
    if time_mark is not None or zone is not None:
        kind = "DateTime"
    if not _valid(parts):
        return None
    return Temporal(kind, parts, fraction or "", _zone(zone), text.removesuffix("T"))


def _valid(parts: tuple[int, ...]) -> bool:
    if len(parts) >= 2 and not 1 <= parts[1] <= 12:
        return False
    if len(parts) >= 3 and not 1 <= parts[2] <= calendar.monthrange(parts[0], parts[1])[1]:
        return False
    return not (
        (len(parts) >= 4 and parts[3] > 23)
        or (len(parts) >= 5 and parts[4] > 59)
        or (len(parts) >= 6 and parts[5] > 59)
    )


def _zone(zone: str | None) -> int | None:
    if zone is None:
        return None
    if zone == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    return sign * (int(zone[1:3]) * 60 + int(zone[4:6]))


def _utc_parts(value: Temporal) -> tuple[int, ...]:
    """The components moved to UTC, at the same precision."""
    parts = value.parts
    if value.tz is None or value.tz == 0:
        return parts
    if value.kind == "Time":
        full = list(parts) + [0] * (3 - len(parts))
        minutes = (full[0] * 60 + full[1] - value.tz) % (24 * 60)
        return (minutes // 60, minutes % 60, full[2])[: len(parts)]
    if len(parts) < 4:
        return parts
    full = list(parts) + [0] * (6 - len(parts))
    try:
        moment = datetime(full[0], full[1], full[2], full[3], full[4], full[5])
        moment -= timedelta(minutes=value.tz)
    except (OverflowError, ValueError):
        return parts
    shifted = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return shifted[: len(parts)]


def compare_temporal(left: Temporal, right: Temporal) -> int | None:
    """-1, 0 or 1 by the FHIRPath rules for dates and times of partial precision.

    ``None`` when the answer depends on a precision one of them lacks (``@2012`` and
    ``@2012-04``), or when both have a time and only one a time zone. A date and a
    date-time compare as date-times; a time against either raises ``TypeError``.
    """
    if (left.kind == "Time") != (right.kind == "Time"):
        raise TypeError(f"cannot compare {left.kind} with {right.kind}")
    a, b = left.parts, right.parts
    if left.has_time and right.has_time:
        if (left.tz is None) != (right.tz is None):
            return None
        if left.tz is not None and left.tz != right.tz:
            a, b = _utc_parts(left), _utc_parts(right)
    seconds = 2 if left.kind == "Time" else 5
    for index in range(min(len(a), len(b))):
        x, y = a[index], b[index]
        if index == seconds and (left.fraction or right.fraction):
            x_second = Decimal(f"{x}.{left.fraction}") if left.fraction else Decimal(x)
            y_second = Decimal(f"{y}.{right.fraction}") if right.fraction else Decimal(y)
            if x_second != y_second:
                return -1 if x_second < y_second else 1
        elif x != y:
            return -1 if x < y else 1
    return 0 if len(a) == len(b) else None


def equivalent_temporal(left: Temporal, right: Temporal) -> bool:
    """``~`` on dates and times: equal, at the same precision."""
    try:
        return compare_temporal(left, right) == 0
    except TypeError:
        return False


# -- arithmetic ------------------------------------------------------------------------

_SECONDS: dict[str, Decimal] = {
    "hour": Decimal(3600),
    "minute": Decimal(60),
    "second": Decimal(1),
    "millisecond": Decimal("0.001"),
}


def shift(value: Temporal, amount: Decimal, unit: str) -> Temporal | None:
    """``value`` plus ``amount`` ``unit`` (a calendar unit: ``year`` … ``millisecond``).

    Calendar arithmetic above seconds (the decimal part of the amount is dropped); an
    amount finer than the value's precision is converted to that precision and truncated
    (``@2014 + 24 months`` is ``@2016``). ``None`` when the result is out of range or the
    unit does not apply (days added to a time).
    """
    try:
        if value.kind == "Time":
            return _shift_time(value, amount, unit)
        return _shift_date(value, amount, unit)
    except (OverflowError, ValueError):
        return None


def _truncate(amount: Decimal) -> int:
    return int(amount.to_integral_value(rounding=ROUND_DOWN))


def _shift_date(value: Temporal, amount: Decimal, unit: str) -> Temporal | None:
    parts = value.parts
    precision = len(parts)
    full = list(parts) + [1] * (3 - min(3, len(parts))) + [0] * (6 - max(3, len(parts)))
    year, month, day, hour, minute, second = full
    micro = int(Decimal(f"0.{value.fraction}") * 1_000_000) if value.fraction else 0
    if unit in ("year", "month"):
        months = _truncate(amount) * (12 if unit == "year" else 1)
        if precision == 1:
            year += int(months / 12)
        else:
            total = year * 12 + (month - 1) + months
            year, month = divmod(total, 12)
            month += 1
            day = min(day, calendar.monthrange(year, month)[1])
        moment = datetime(year, month, day, hour, minute, second, micro)
    else:
        if unit in ("day", "week"):
            seconds = Decimal(_truncate(amount)) * 86400 * (7 if unit == "week" else 1)
        else:
            seconds = amount * _SECONDS[unit]
        moment = datetime(year, month, day, hour, minute, second, micro)
        if precision == 1:
            moment = moment.replace(year=year + _truncate(seconds / 86400 / 365))
        elif precision == 2:
            months = _truncate(seconds / 86400 / 30)
            total = year * 12 + (month - 1) + months
            new_year, new_month = divmod(total, 12)
            moment = moment.replace(year=new_year, month=new_month + 1)
        elif precision == 3:
            moment += timedelta(days=_truncate(seconds / 86400))
        elif precision < 6:
            step = 3600 if precision == 4 else 60
            moment += timedelta(seconds=_truncate(seconds / step) * step)
        else:
            moment += timedelta(microseconds=int(seconds * 1_000_000))
    return _from_datetime(value, moment)


def _from_datetime(value: Temporal, moment: datetime) -> Temporal | None:
    precision = len(value.parts)
    fields = [
        f"{moment.year:04d}",
        f"-{moment.month:02d}",
        f"-{moment.day:02d}",
        f"T{moment.hour:02d}",
        f":{moment.minute:02d}",
        f":{moment.second:02d}",
    ]
    text = "".join(fields[:precision])
    if value.fraction:
        digits = len(value.fraction)
        text += "." + f"{moment.microsecond:06d}".ljust(digits, "0")[:digits]
    if value.tz is not None:
        zone_text = value.text[len(value.text) - (1 if value.text.endswith("Z") else 6) :]
        text += zone_text
    elif value.kind == "DateTime" and precision <= 3:
        text += "T"
    return parse_temporal(text, value.kind)


def _shift_time(value: Temporal, amount: Decimal, unit: str) -> Temporal | None:
    if unit not in _SECONDS:
        return None
    full = list(value.parts) + [0] * (3 - len(value.parts))
    fraction = Decimal(f"0.{value.fraction}") if value.fraction else Decimal(0)
    total = Decimal(full[0] * 3600 + full[1] * 60 + full[2]) + fraction
    total = (total + amount * _SECONDS[unit]) % 86400
    if total < 0:
        total += 86400
    whole = int(total)
    hour, rest = divmod(whole, 3600)
    minute, second = divmod(rest, 60)
    fields = [f"{hour:02d}", f":{minute:02d}", f":{second:02d}"]
    text = "".join(fields[: len(value.parts)])
    if value.fraction:
        digits = len(value.fraction)
        micro = int((total - whole) * 1_000_000)
        text += "." + f"{micro:06d}".ljust(digits, "0")[:digits]
    if value.tz is not None:
        text += value.text[len(value.text) - (1 if value.text.endswith("Z") else 6) :]
    return parse_temporal(text, "Time")


def now() -> tuple[Temporal, Temporal, Temporal]:
    """``now()``, ``today()`` and ``timeOfDay()``: the local date-time with its offset
    (milliseconds), the date, and the time."""
    moment = datetime.now(UTC).astimezone()
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    clock = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    date = moment.strftime("%Y-%m-%d")
    parsed = (
        parse_temporal(f"{date}T{clock}{zone}", "DateTime"),
        parse_temporal(date, "Date"),
        parse_temporal(clock, "Time"),
    )
    assert parsed[0] is not None and parsed[1] is not None and parsed[2] is not None
    return parsed[0], parsed[1], parsed[2]
