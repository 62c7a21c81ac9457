"""FHIRPath's operators on values: equality and equivalence, ordering, arithmetic.

The operands are *comparison values*: JSON strings, numbers and booleans as they are,
dates and times as :class:`~engine.fhirpath.compiled.values.Temporal`, quantities as
:class:`~engine.fhirpath.compiled.values.Quantity` (a FHIR ``Quantity`` element is
converted by :func:`quantity_of`), complex elements as their JSON objects. The compiler
chooses, from the static type of each operand, how its items become comparison values
(:func:`converter`).

    >>> equal_items(Decimal("1.0"), 1), equal_items("a", 1)
    (True, False)
    >>> order(Quantity(Decimal(1), "m"), Quantity(Decimal(99), "cm"))
    1
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal, DivisionByZero, InvalidOperation
from typing import Any

from engine.fhirpath.compiled.temporal import (
    DATE_TYPES,
    Temporal,
    compare_temporal,
    equivalent_temporal,
    parse_temporal,
    shift,
)
from engine.fhirpath.compiled.types import TypeModel
from engine.fhirpath.compiled.values import CALENDAR_WORDS, Long, Node, Quantity, decimal
from engine.fhirpath.quantities import quantity_order, units_comparable

__all__ = [
    "FhirPathError",
    "add",
    "converter",
    "divide",
    "equal_items",
    "equivalent_items",
    "intdiv",
    "modulo",
    "multiply",
    "order",
    "plain_value",
    "quantity_of",
    "subtract",
]


class FhirPathError(Exception):
    """An evaluation error FHIRPath defines (a collection where a single item is
    required, operands that cannot be compared…)."""


_NUMBER_TYPES = (int, Decimal, Long)
_UCUM_OF_CALENDAR = {
    "year": "a",
    "month": "mo",
    "week": "wk",
    "day": "d",
    "hour": "h",
    "minute": "min",
    "second": "s",
    "millisecond": "ms",
}
_MONTH_OR_YEAR = frozenset({"a", "mo"})


# -- from items to comparison values ------------------------------------------------------


def quantity_of(value: Any) -> Quantity | None:
    """A FHIR Quantity element (JSON) as a system quantity; ``None`` without a value."""
    if type(value) is not dict:
        return None
    number = value.get("value")
    if type(number) is float:
        number = decimal(number)
    if not isinstance(number, int | Decimal) or isinstance(number, bool):
        return None
    unit = value.get("code") or value.get("unit") or "1"
    return Quantity(Decimal(number), str(unit))


def converter(static_type: str | None, model: TypeModel) -> Callable[[Any], Any]:
    """How items of a collection of ``static_type`` become comparison values (``None``
    for a primitive that has only extensions)."""
    if static_type is None:
        return lambda item: _dynamic_value(item, model)
    kind = DATE_TYPES.get(static_type)
    if kind is not None:
        return lambda item: _temporal_value(item, kind)
    if model.is_quantity(static_type):
        return _quantity_value
    return plain_value


def plain_value(item: Any) -> Any:
    """A comparison value of an item whose type needs no conversion (not a date, time
    or quantity): its JSON value, a float as a decimal."""
    if type(item) is Node:
        item = item.value
    if type(item) is float:
        return decimal(item)
    return item


def _temporal_value(item: Any, kind: str) -> Any:
    if type(item) is Node:
        item = item.value
    if type(item) is str:
        return parse_temporal(item, kind) or item
    return item


def _quantity_value(item: Any) -> Any:
    if type(item) is Node:
        item = item.value
    if type(item) is dict:
        return quantity_of(item) or item
    return item


def _dynamic_value(item: Any, model: TypeModel) -> Any:
    if type(item) is not Node:
        return decimal(item) if type(item) is float else item
    value, type_ = item.value, item.type
    if type(value) is str and type_ in DATE_TYPES:
        return parse_temporal(value, type_) or value
    if type(value) is dict and model.is_quantity(type_):
        return quantity_of(value) or value
    if type(value) is float:
        return decimal(value)
    return value


# -- equality and equivalence ----------------------------------------------------------------


def equal_items(a: Any, b: Any) -> bool | None:
    """``=`` on two comparison values; ``None`` when it cannot be decided (dates of
    different precision, quantities of incomparable units)."""
    ta, tb = type(a), type(b)
    if ta is str or tb is str:
        if ta is tb:
            return bool(a == b)
        if ta is Temporal:
            other = parse_temporal(b, a.kind)
            return None if other is None else _equal_temporal(a, other)
        if tb is Temporal:
            other = parse_temporal(a, b.kind)
            return None if other is None else _equal_temporal(other, b)
        return False
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if isinstance(a, _NUMBER_TYPES) and isinstance(b, _NUMBER_TYPES):
        return bool(a == b)
    if ta is Temporal and tb is Temporal:
        return _equal_temporal(a, b)
    if ta is Quantity and tb is Quantity:
        return _quantity_equal(a, b)
    if ta is dict and tb is dict:
        return _json_equal(a, b)
    return False


def _equal_temporal(a: Temporal, b: Temporal) -> bool | None:
    try:
        result = compare_temporal(a, b)
    except TypeError:
        return False
    return None if result is None else result == 0


def _json_equal(a: Any, b: Any) -> bool:
    """Complex values: the same properties with equal values (floats as decimals)."""
    if a is b:
        return True
    if type(a) is dict:
        if type(b) is not dict or a.keys() != b.keys():
            return False
        return all(_json_equal(value, b[key]) for key, value in a.items())
    if type(a) is list:
        return (
            type(b) is list
            and len(a) == len(b)
            and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if type(a) is float:
        a = decimal(a)
    if type(b) is float:
        b = decimal(b)
    return (
        type(a) is type(b)
        and a == b
        or (isinstance(a, _NUMBER_TYPES) and isinstance(b, _NUMBER_TYPES) and a == b)
    )


def _calendar_code(quantity: Quantity) -> tuple[str, bool]:
    if quantity.calendar:
        return _UCUM_OF_CALENDAR[quantity.unit], True
    return quantity.unit, False


def _quantity_equal(a: Quantity, b: Quantity) -> bool | None:
    result = quantity_compare(a, b)
    return None if result is None else result == 0


def quantity_compare(a: Quantity, b: Quantity) -> int | None:
    """Order two quantities, converting units; ``None`` when the units do not compare
    (a calendar year or month against a UCUM ``a`` or ``mo`` is not a definite duration)."""
    code_a, calendar_a = _calendar_code(a)
    code_b, calendar_b = _calendar_code(b)
    if calendar_a != calendar_b and (code_a in _MONTH_OR_YEAR or code_b in _MONTH_OR_YEAR):
        return None
    if calendar_a and calendar_b and {code_a, code_b} == {"a", "mo"}:
        months_a = a.value * (12 if code_a == "a" else 1)
        months_b = b.value * (12 if code_b == "a" else 1)
        return (months_a > months_b) - (months_a < months_b)
    return quantity_order(a.value, code_a, b.value, code_b)


def equivalent_items(a: Any, b: Any) -> bool:
    """``~`` on two comparison values: strings ignoring case and spacing, decimals at the
    precision of the less precise, dates only at the same precision."""
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        return _normal(a) == _normal(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if isinstance(a, _NUMBER_TYPES) and isinstance(b, _NUMBER_TYPES):
        return _decimal_equivalent(Decimal(a), Decimal(b))
    if ta is Temporal and tb is Temporal:
        return equivalent_temporal(a, b)
    if ta is Quantity and tb is Quantity:
        return _quantity_equivalent(a, b)
    if ta is dict and tb is dict:
        return _json_equivalent(a, b)
    if ta is Temporal and tb is str:
        other = parse_temporal(b, a.kind)
        return other is not None and equivalent_temporal(a, other)
    if tb is Temporal and ta is str:
        other = parse_temporal(a, b.kind)
        return other is not None and equivalent_temporal(other, b)
    return False


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent if value else 0
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _decimal_equivalent(a: Decimal, b: Decimal) -> bool:
    places = min(_places(a), _places(b))
    step = Decimal(1).scaleb(-places)
    try:
        return bool(a.quantize(step) == b.quantize(step))
    except InvalidOperation:
        return a == b


def _quantity_equivalent(a: Quantity, b: Quantity) -> bool:
    code_a, _ = _calendar_code(a)
    code_b, _ = _calendar_code(b)
    if code_a == code_b:
        return _decimal_equivalent(a.value, b.value)
    converted = _convert(b, a)
    if converted is not None:
        return _decimal_equivalent(a.value, converted)
    return (
        units_comparable(code_a, code_b) and quantity_order(a.value, code_a, b.value, code_b) == 0
    )


def _json_equivalent(a: Any, b: Any) -> bool:
    if type(a) is dict:
        if type(b) is not dict:
            return False
        keys = {k for k in a if k != "id"} | {k for k in b if k != "id"}
        return all(_json_equivalent(a.get(k), b.get(k)) for k in keys)
    if type(a) is list:
        return (
            type(b) is list
            and len(a) == len(b)
            and all(_json_equivalent(x, y) for x, y in zip(a, b, strict=True))
        )
    if a is None or b is None:
        return a is b
    if type(a) is float:
        a = decimal(a)
    if type(b) is float:
        b = decimal(b)
    return equivalent_items(a, b)


# -- ordering ---------------------------------------------------------------------------


def order(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 for ``<``, ``>``, ``<=``, ``>=``; ``None`` when undecided (dates of
    different precision, quantities of incomparable units). Raises :class:`FhirPathError`
    for values that cannot be ordered against each other."""
    ta, tb = type(a), type(b)
    if _is_number(a) and _is_number(b):
        return (a > b) - (a < b)
    if ta is str and tb is str:
        return (a > b) - (a < b)
    if ta is Temporal or tb is Temporal:
        if ta is str:
            a = parse_temporal(a, b.kind)
        elif tb is str:
            b = parse_temporal(b, a.kind)
        if type(a) is Temporal and type(b) is Temporal:
            try:
                return compare_temporal(a, b)
            except TypeError as error:
                raise FhirPathError(str(error)) from None
    if ta is Quantity and tb is Quantity:
        return quantity_compare(a, b)
    raise FhirPathError(f"cannot compare {_kind(a)} with {_kind(b)}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, Decimal):
        return "Decimal"
    if isinstance(value, str):
        return "String"
    if isinstance(value, Temporal):
        return value.kind
    if isinstance(value, Quantity):
        return "Quantity"
    return "a complex value"


# -- arithmetic ------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER_TYPES) and type(value) is not bool


def add(a: Any, b: Any) -> Any:
    """``+``: numbers, strings, quantities, and a date/time plus a duration."""
    if _is_number(a) and _is_number(b):
        return _integer_kind(a + b, a, b)
    if type(a) is str and type(b) is str:
        return a + b
    if type(a) is Temporal and type(b) is Quantity:
        return shift_temporal(a, b, 1)
    if type(a) is Quantity and type(b) is Quantity:
        return _quantity_sum(a, b, 1)
    raise FhirPathError(f"cannot add {_kind(b)} to {_kind(a)}")


def subtract(a: Any, b: Any) -> Any:
    if _is_number(a) and _is_number(b):
        return _integer_kind(a - b, a, b)
    if type(a) is Temporal and type(b) is Quantity:
        return shift_temporal(a, b, -1)
    if type(a) is Quantity and type(b) is Quantity:
        return _quantity_sum(a, b, -1)
    raise FhirPathError(f"cannot subtract {_kind(b)} from {_kind(a)}")


def _integer_kind(result: Any, a: Any, b: Any) -> Any:
    if type(a) is Long or type(b) is Long:
        return Long(result) if isinstance(result, int) else result
    return result


def _quantity_sum(a: Quantity, b: Quantity, sign: int) -> Quantity | None:
    if a.unit == b.unit and a.calendar == b.calendar:
        return Quantity(a.value + sign * b.value, a.unit, a.calendar)
    converted = _convert(b, a)
    if converted is None:
        return None
    return Quantity(a.value + sign * converted, a.unit, a.calendar)


def _convert(value: Quantity, target: Quantity) -> Decimal | None:
    """``value``'s magnitude expressed in ``target``'s unit, if the units convert."""
    ratio = _unit_ratio(_calendar_code(value)[0], _calendar_code(target)[0])
    return None if ratio is None else value.value * ratio


#: Units arithmetic can convert between: (base unit, factor to it). Comparisons use the
#: wider table of :mod:`engine.fhirpath.quantities`.
_ARITHMETIC_UNITS = {
    "min": ("s", Decimal(60)),
    "h": ("s", Decimal(3600)),
    "d": ("s", Decimal(86400)),
    "wk": ("s", Decimal(604800)),
    "l": ("L", Decimal(1)),
}
_METRIC_BASES = ("mol", "m", "g", "s", "L")
_METRIC_PREFIXES = {
    "": Decimal(1),
    "k": Decimal(1000),
    "h": Decimal(100),
    "da": Decimal(10),
    "d": Decimal("0.1"),
    "c": Decimal("0.01"),
    "m": Decimal("0.001"),
    "u": Decimal("0.000001"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
}


def _unit_factor(unit: str) -> tuple[str, Decimal] | None:
    if unit in _ARITHMETIC_UNITS:
        return _ARITHMETIC_UNITS[unit]
    for base in _METRIC_BASES:
        prefix = unit[: -len(base)] if unit.endswith(base) else None
        if prefix is not None and prefix in _METRIC_PREFIXES:
            return base, _METRIC_PREFIXES[prefix]
    return None


def _unit_ratio(source: str, target: str) -> Decimal | None:
    """How many ``target`` units one ``source`` unit is (``m`` → ``cm``: 100)."""
    if source == target:
        return Decimal(1)
    a, b = _unit_factor(source), _unit_factor(target)
    if a is None or b is None or a[0] != b[0]:
        return None
    return a[1] / b[1]


def multiply(a: Any, b: Any) -> Any:
    if _is_number(a) and _is_number(b):
        return _integer_kind(a * b, a, b)
    if type(a) is Quantity and _is_number(b):
        return Quantity(a.value * b, a.unit, a.calendar)
    if _is_number(a) and type(b) is Quantity:
        return Quantity(a * b.value, b.unit, b.calendar)
    if type(a) is Quantity and type(b) is Quantity:
        return _quantity_product(a, b)
    raise FhirPathError(f"cannot multiply {_kind(a)} by {_kind(b)}")


def _quantity_product(a: Quantity, b: Quantity) -> Quantity | None:
    if a.calendar or b.calendar:
        return None
    if a.unit == "1":
        return Quantity(a.value * b.value, b.unit)
    if b.unit == "1":
        return Quantity(a.value * b.value, a.unit)
    left, right = _unit_factor(a.unit), _unit_factor(b.unit)
    if left is not None and right is not None and left[0] == right[0]:
        value = a.value * left[1] * b.value * right[1]
        return Quantity(value, f"{left[0]}2")
    return Quantity(a.value * b.value, f"{a.unit}.{b.unit}")


def divide(a: Any, b: Any) -> Any:
    """``/``: always a decimal (or quantity); division by zero gives ``None`` (empty)."""
    if _is_number(a) and _is_number(b):
        if b == 0:
            return None
        return _decimal_division(Decimal(a), Decimal(b))
    if type(a) is Quantity and _is_number(b):
        return None if b == 0 else Quantity(_decimal_division(a.value, Decimal(b)), a.unit)
    if type(a) is Quantity and type(b) is Quantity:
        if b.value == 0:
            return None
        if a.unit == b.unit:
            return Quantity(_decimal_division(a.value, b.value), "1")
        ratio = _unit_ratio(b.unit, a.unit)
        if ratio is not None:
            return Quantity(_decimal_division(a.value, b.value * ratio), "1")
        if b.unit == "1":
            return Quantity(_decimal_division(a.value, b.value), a.unit)
        return Quantity(_decimal_division(a.value, b.value), f"{a.unit}/{b.unit}")
    raise FhirPathError(f"cannot divide {_kind(a)} by {_kind(b)}")


def _decimal_division(a: Decimal, b: Decimal) -> Decimal:
    try:
        return a / b
    except (DivisionByZero, InvalidOperation):
        raise FhirPathError("invalid division") from None


def intdiv(a: Any, b: Any) -> Any:
    """``div``: the integer part of the quotient; by zero: ``None`` (empty)."""
    if not (_is_number(a) and _is_number(b)):
        raise FhirPathError(f"cannot divide {_kind(a)} by {_kind(b)}")
    if b == 0:
        return None
    quotient = (Decimal(a) / Decimal(b)).to_integral_value(rounding=ROUND_DOWN)
    return _integer_kind(int(quotient), a, b)


def modulo(a: Any, b: Any) -> Any:
    """``mod``: the remainder of the truncated division, with the dividend's sign."""
    if not (_is_number(a) and _is_number(b)):
        raise FhirPathError(f"cannot take {_kind(a)} modulo {_kind(b)}")
    if b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int):
        return _integer_kind(int(math.fmod(a, b)) if abs(a) < 2**52 else _int_mod(a, b), a, b)
    return Decimal(a) % Decimal(b)


def _int_mod(a: int, b: int) -> int:
    remainder = abs(a) % abs(b)
    return -remainder if a < 0 else remainder


# -- dates and times plus durations ---------------------------------------------------------


def shift_temporal(value: Temporal, amount: Quantity, sign: int) -> Temporal:
    """A date, date-time or time moved by a duration (``@2014 + 1 year``)."""
    # A UCUM year or month ('a', 'mo') is not a calendar duration: no date arithmetic.
    unit = CALENDAR_WORDS.get(amount.unit)
    if not amount.calendar and unit is None:
        unit = _CALENDAR_OF_UCUM.get(amount.unit)
    if unit is None:
        raise FhirPathError(f"'{amount.unit}' is not a unit of time")
    result = shift(value, amount.value * sign, unit)
    if result is None:
        raise FhirPathError(f"cannot add {amount} to {value}")
    return result


_CALENDAR_OF_UCUM = {
    code: word for word, code in _UCUM_OF_CALENDAR.items() if code not in _MONTH_OR_YEAR
}
