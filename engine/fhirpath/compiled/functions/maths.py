"""Math and aggregates: ``abs``, ``round``, ``power``…, ``aggregate``, ``sum``, ``min``,
``max``, ``avg``."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.fhirpath.compiled.binary import EMPTY
from engine.fhirpath.compiled.core import Env, Invocation
from engine.fhirpath.compiled.functions.base import (
    FUNCTIONS,
    Builder,
    Call,
    Items,
    arity,
    flags,
    function,
    invocation,
    simple,
    single_value,
)
from engine.fhirpath.compiled.operators import (
    FhirPathError,
    converter,
    order,
)
from engine.fhirpath.compiled.values import Quantity

# -- math -------------------------------------------------------------------------------------


def _number_input(items: Items, name: str, value: Callable[[Any], Any]) -> Any:
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathError(f"{name}() applies to a single number")
    number = value(items[0])
    if number is None:
        return None
    if isinstance(number, bool) or not isinstance(number, int | Decimal | Quantity):
        raise FhirPathError(f"{name}() applies to a number")
    return number


def _math(count: tuple[int, ...], fn: Callable[..., Any], type_: str | None = None) -> Builder:
    def build(call: Call) -> Invocation:
        compiler, name, args, in_type, this_type = call
        wrong = arity(name, args, *count)
        if wrong:
            return wrong
        value = converter(in_type, compiler.model)
        compiled = [compiler.argument(argument, this_type) for argument in args]

        def math_function(items: Items, this: Items, env: Env) -> Items:
            number = _number_input(items, name, value)
            arguments = [single_value(argument.fn(this, env), name) for argument in compiled]
            if number is None or (compiled and arguments[0] is None and name != "round"):
                return EMPTY
            try:
                result = fn(number, *arguments)
            except (InvalidOperation, ValueError, OverflowError, ZeroDivisionError):
                return EMPTY
            return EMPTY if result is None else [result]

        return invocation(math_function, type_, **flags(*compiled))

    return build


def _abs(number: Any) -> Any:
    if type(number) is Quantity:
        return Quantity(abs(number.value), number.unit, number.calendar)
    return abs(number)


def _integral(rounding: str) -> Callable[[Any], Any]:
    def integral(number: Any) -> Any:
        if type(number) is Quantity:
            return None
        return int(Decimal(number).to_integral_value(rounding=rounding))

    return integral


def _decimal_math(fn: Callable[[Decimal], Decimal]) -> Callable[[Any], Any]:
    def compute(number: Any) -> Any:
        if type(number) is Quantity:
            return None
        return fn(Decimal(number))

    return compute


def _log(number: Any, base: Any) -> Any:
    if type(number) is Quantity or not isinstance(base, int | Decimal):
        return None
    return Decimal(number).ln() / Decimal(base).ln()


def _power(number: Any, exponent: Any) -> Any:
    if type(number) is Quantity or not isinstance(exponent, int | Decimal):
        return None
    if isinstance(number, int) and isinstance(exponent, int) and exponent >= 0:
        return number**exponent
    if number < 0 and Decimal(exponent) != Decimal(exponent).to_integral_value():
        return None
    return Decimal(number) ** Decimal(exponent)


def _round(number: Any, places: Any = None) -> Any:
    if type(number) is Quantity:
        return None
    digits = 0 if places is None else int(places)
    if digits < 0:
        raise FhirPathError("round() needs a precision of 0 or more")
    return Decimal(number).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _sqrt(number: Any) -> Any:
    if type(number) is Quantity or number < 0:
        return None
    return Decimal(number).sqrt()


FUNCTIONS |= {
    "abs": _math((0,), _abs),
    "ceiling": _math((0,), _integral(ROUND_CEILING), "System.Integer"),
    "floor": _math((0,), _integral(ROUND_FLOOR), "System.Integer"),
    "truncate": _math((0,), _integral(ROUND_DOWN), "System.Integer"),
    "exp": _math((0,), _decimal_math(Decimal.exp), "System.Decimal"),
    "ln": _math((0,), _decimal_math(Decimal.ln), "System.Decimal"),
    "log": _math((1,), _log, "System.Decimal"),
    "power": _math((1,), _power),
    "round": _math((0, 1), _round, "System.Decimal"),
    "sqrt": _math((0,), _sqrt, "System.Decimal"),
}


# -- aggregates ---------------------------------------------------------------------------------


@function("aggregate")
def _aggregate(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1, 2)
    if wrong:
        return wrong
    aggregator = compiler.argument(args[0], in_type)
    initial = compiler.argument(args[1], this_type) if len(args) == 2 else None

    def aggregate(items: Items, this: Items, env: Env) -> Items:
        saved_index, saved_total = env.index, env.total
        env.total = initial.fn(this, env) if initial is not None else EMPTY
        try:
            for index, item in enumerate(items):
                env.index = index
                env.total = aggregator.fn([item], env)
            return env.total
        finally:
            env.index, env.total = saved_index, saved_total

    parts = [aggregator] + ([initial] if initial is not None else [])
    call_flags = flags(*parts, per_item=True, costly=True)
    if initial is not None:
        call_flags["uses_this"] = initial.uses_this
    return invocation(aggregate, None, **call_flags)


def _numbers(items: Items, name: str, value: Callable[[Any], Any]) -> list[Any]:
    values = []
    for item in items:
        number = value(item)
        if isinstance(number, bool) or not isinstance(number, int | Decimal | Quantity):
            raise FhirPathError(f"{name}() needs numbers or quantities")
        values.append(number)
    return values


@function("sum", "avg")
def _sum(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 0)
    if wrong:
        return wrong
    value = converter(in_type, compiler.model)
    from engine.fhirpath.compiled.operators import add, divide

    def total(items: Items) -> Items:
        numbers = _numbers(items, name, value)
        if not numbers:
            return [0] if name == "sum" else EMPTY
        result = numbers[0]
        for number in numbers[1:]:
            result = add(result, number)
        if name == "avg":
            result = divide(result, len(numbers))
        return EMPTY if result is None else [result]

    return simple(total, None)


@function("min", "max")
def _min_max(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 0)
    if wrong:
        return wrong
    value = converter(in_type, compiler.model)

    def extreme(items: Items) -> Items:
        if not items:
            return EMPTY
        best = value(items[0])
        for item in items[1:]:
            candidate = value(item)
            comparison = order(candidate, best)
            if comparison is None:
                return EMPTY
            if (comparison < 0) if name == "min" else (comparison > 0):
                best = candidate
        return [best]

    return simple(extreme, None)
