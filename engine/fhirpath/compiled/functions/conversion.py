"""Conversions: ``toInteger``, ``convertsToInteger``… for every system type."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.fhirpath.compiled.binary import EMPTY, FALSE, TRUE
from engine.fhirpath.compiled.core import Env, Invocation
from engine.fhirpath.compiled.functions.base import (
    FUNCTIONS,
    Builder,
    Call,
    Items,
    arity,
    flags,
    invocation,
    single_value,
    value_argument,
)
from engine.fhirpath.compiled.operators import (
    FhirPathError,
    converter,
    quantity_of,
)
from engine.fhirpath.compiled.temporal import Temporal, parse_temporal
from engine.fhirpath.compiled.values import CALENDAR_WORDS, Long, Quantity

_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0"})
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
_QUANTITY = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(?:'([^']+)'|([a-zA-Z]+))?")


def _to_boolean(value: Any) -> Any:
    if type(value) is bool:
        return value
    if isinstance(value, int | Decimal):
        if value == 1:
            return True
        if value == 0:
            return False
        return None
    if type(value) is str:
        lowered = value.lower()
        if lowered in _TRUE_WORDS:
            return True
        if lowered in _FALSE_WORDS:
            return False
    return None


def _to_integer(value: Any) -> Any:
    if type(value) is bool:
        return 1 if value else 0
    if isinstance(value, int):
        return value
    if type(value) is str and _INTEGER.fullmatch(value):
        return int(value)
    return None


def _to_long(value: Any) -> Any:
    integer = _to_integer(value)
    return None if integer is None else Long(integer)


def _to_decimal(value: Any) -> Any:
    if type(value) is bool:
        return Decimal(1 if value else 0)
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if type(value) is str and _DECIMAL.fullmatch(value):
        return Decimal(value)
    return None


def to_string(value: Any) -> str | None:
    """``toString()`` of a comparison value."""
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is str:
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    if type(value) is Quantity:
        return str(value)
    if type(value) is Temporal:
        return value.text
    return None


def _to_date(value: Any) -> Any:
    if type(value) is Temporal and value.kind != "Time":
        if value.kind == "Date":
            return value
        return parse_temporal(_date_part(value), "Date")
    if type(value) is str:
        parsed = parse_temporal(value, "Date")
        if parsed is not None and parsed.kind == "Date":
            return parsed
        if parsed is not None:
            return parse_temporal(_date_part(parsed), "Date")
    return None


def _date_part(value: Temporal) -> str:
    return value.text.split("T", 1)[0]


def _to_datetime(value: Any) -> Any:
    if type(value) is Temporal and value.kind != "Time":
        if value.kind == "DateTime":
            return value
        return parse_temporal(value.text + "T", "DateTime")
    if type(value) is str:
        return parse_temporal(value, "DateTime")
    return None


def _to_time(value: Any) -> Any:
    if type(value) is Temporal and value.kind == "Time":
        return value
    if type(value) is str:
        return parse_temporal(value.removeprefix("T"), "Time")
    return None


def _to_quantity(value: Any, unit: str | None = None) -> Any:
    quantity: Quantity | None = None
    if type(value) is Quantity:
        quantity = value
    elif type(value) is bool:
        quantity = Quantity(Decimal(1 if value else 0), "1")
    elif isinstance(value, int | Decimal):
        quantity = Quantity(Decimal(value), "1")
    elif type(value) is dict:
        quantity = quantity_of(value)
    elif type(value) is str:
        match = _QUANTITY.fullmatch(value.strip())
        if match is not None:
            number, code, word = match.groups()
            if word is not None:
                if word not in CALENDAR_WORDS:
                    return None
                quantity = Quantity(Decimal(number), CALENDAR_WORDS[word], calendar=True)
            else:
                quantity = Quantity(Decimal(number), code or "1")
    if quantity is None or unit is None:
        return quantity
    from engine.fhirpath.compiled.operators import _convert

    target = Quantity(Decimal(1), CALENDAR_WORDS.get(unit, unit), unit in CALENDAR_WORDS)
    converted = _convert(quantity, target)
    return None if converted is None else Quantity(converted, target.unit, target.calendar)


_CONVERSIONS: dict[str, tuple[Callable[..., Any], str | None]] = {
    "Boolean": (_to_boolean, "System.Boolean"),
    "Integer": (_to_integer, "System.Integer"),
    "Long": (_to_long, "System.Long"),
    "Decimal": (_to_decimal, "System.Decimal"),
    "String": (to_string, "System.String"),
    "Date": (_to_date, "System.Date"),
    "DateTime": (_to_datetime, "System.DateTime"),
    "Time": (_to_time, "System.Time"),
    "Quantity": (_to_quantity, "System.Quantity"),
}


def _conversion(target: str, test: bool) -> Builder:
    convert, type_ = _CONVERSIONS[target]

    def build(call: Call) -> Invocation:
        compiler, name, args, in_type, this_type = call
        allowed = (0, 1) if target == "Quantity" else (0,)
        wrong = arity(name, args, *allowed)
        if wrong:
            return wrong
        value = converter(in_type, compiler.model)
        unit_fn, unit = value_argument(compiler, args[0], this_type) if args else (None, None)

        def conversion(items: Items, this: Items, env: Env) -> Items:
            if not items:
                return EMPTY
            if len(items) > 1:
                raise FhirPathError(f"{name}() applies to a single item")
            converted_input = value(items[0])
            if converted_input is None:
                return EMPTY
            if unit_fn is not None:
                unit_value = single_value(unit_fn(this, env), name)
                result = convert(converted_input, unit_value)
            else:
                result = convert(converted_input)
            if test:
                return FALSE if result is None else TRUE
            return EMPTY if result is None else [result]

        call_flags = flags(unit) if unit is not None else {}
        return invocation(conversion, "System.Boolean" if test else type_, **call_flags)

    return build


for _target in _CONVERSIONS:
    FUNCTIONS[f"to{_target}"] = _conversion(_target, test=False)
    FUNCTIONS[f"convertsTo{_target}"] = _conversion(_target, test=True)
