"""The functions, compiled: FHIRPath's (existence, filtering, subsetting, combining,
conversion, strings, math, tree navigation, aggregates, utilities) and FHIR's
(``extension``, ``hasValue``, ``getValue``, ``htmlChecks``, ``lowBoundary``,
``highBoundary``, ``comparable``).

Each entry of :data:`FUNCTIONS` compiles one call, given its argument trees and the
static types of its input and of ``$this``, into an
:class:`~engine.fhirpath.compiled.compiler.Invocation`. Arguments are compiled in one of
two ways: *per item* (``where``, ``select``, ``all``, ``exists``, ``repeat``,
``aggregate``, ``sort``: evaluated with each input item as ``$this``) or *as values*
(everything else: evaluated once, against the ``$this`` of the call).

Functions that need what this engine does not have (``resolve()``, ``memberOf()``,
``conformsTo()``…) are in :data:`UNSUPPORTED`; calling one raises an evaluation error.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, NamedTuple

import lark

from engine.fhirpath.boundaries import datetime_boundary, decimal_boundary, time_boundary
from engine.fhirpath.compiled import navigation
from engine.fhirpath.compiled.binary import EMPTY, FALSE, TRUE, merged_types, truth
from engine.fhirpath.compiled.collections import (
    contains_item,
    distinct_items,
    identity_key,
    tag,
)
from engine.fhirpath.compiled.operators import (
    FhirPathError,
    converter,
    order,
    quantity_of,
)
from engine.fhirpath.compiled.temporal import DATE_TYPES, Temporal, parse_temporal
from engine.fhirpath.compiled.values import CALENDAR_WORDS, Long, Node, Quantity, decimal
from engine.fhirpath.quantities import units_comparable
from engine.fhirpath.regex import compile_pattern
from engine.fhirpath.xhtml import html_problems

if TYPE_CHECKING:
    from engine.fhirpath.compiled.compiler import Compiled, Compiler, Env, Invocation

__all__ = ["FUNCTIONS", "UNSUPPORTED", "type_test"]

Items = list[Any]


class Call(NamedTuple):
    """One call to compile: the compiler, the function's name, its argument trees, and
    the static types of its input and of ``$this``."""

    compiler: Compiler
    name: str
    args: list[lark.Tree]
    in_type: str | None
    this_type: str | None


Builder = Callable[[Call], "Invocation"]

_LOG = logging.getLogger("engine.fhirpath")

#: Functions FHIR constraints call that need what this engine does not have.
UNSUPPORTED = {
    "resolve": "resolving references needs the referenced resources",
    "memberOf": "value-set membership needs a terminology service",
    "conformsTo": "profile conformance needs the profiles",
    "hasTemplateIdOf": "CDA templates are not supported",
    "subsumes": "subsumption needs a terminology service",
    "subsumedBy": "subsumption needs a terminology service",
    "elementDefinition": "element definitions are not available at run time",
    "slice": "slices need the profiles",
    "checkModifiers": "modifier extensions need the profiles",
}

FUNCTIONS: dict[str, Builder] = {}


def _function(*names: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        for name in names:
            FUNCTIONS[name] = builder
        return builder

    return register


def _invocation(*args: Any, **kwargs: Any) -> Invocation:
    from engine.fhirpath.compiled.compiler import Invocation

    return Invocation(*args, **kwargs)


def _raise(message: str) -> Invocation:
    def fail(items: Items, this: Items, env: Env) -> Items:
        raise FhirPathError(message)

    return _invocation(fail, None)


def _arity(name: str, arguments: list[lark.Tree], *counts: int) -> Invocation | None:
    """An invocation that raises, when the number of arguments is not allowed."""
    if len(arguments) in counts:
        return None
    allowed = " or ".join(str(c) for c in counts)
    return _raise(f"{name}() takes {allowed} argument(s), got {len(arguments)}")


def _simple(fn: Callable[[Items], Items], type_: str | None, *, costly: bool = False) -> Invocation:
    return _invocation(lambda items, this, env: fn(items), type_, costly=costly)


def _single(items: Items, name: str) -> Any:
    """The value of a collection of at most one item (``None`` if empty)."""
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathError(f"{name}() needs a single item, got {len(items)}")
    item = items[0]
    if type(item) is Node:
        item = item.value
    if type(item) is float:
        return decimal(item)
    return item


def _value_argument(
    compiler: Compiler, argument: lark.Tree, this_type: str | None
) -> tuple[Callable[[Items, Env], Items], Compiled]:
    compiled = compiler.argument(argument, this_type)
    return compiled.fn, compiled


def _flags(*arguments: Compiled, per_item: bool = False, costly: bool = False) -> dict[str, bool]:
    """The dependency flags of a call from those of its arguments (an argument evaluated
    per item reads that item as ``$this``, not the caller's)."""
    return {
        "uses_this": not per_item and any(a.uses_this for a in arguments),
        "uses_context": any(a.uses_context for a in arguments),
        "costly": costly or any(a.costly for a in arguments),
    }


# -- existence ---------------------------------------------------------------------------------


@_function("empty")
def _empty(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return _arity(name, args, 0) or _simple(
        lambda items: FALSE if items else TRUE, "System.Boolean"
    )


@_function("exists")
def _exists(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 0, 1)
    if wrong:
        return wrong
    if not args:
        return _simple(lambda items: TRUE if items else FALSE, "System.Boolean")
    criteria = compiler.argument(args[0], in_type)
    test = criteria.fn

    def exists(items: Items, this: Items, env: Env) -> Items:
        saved = env.index
        try:
            for index, item in enumerate(items):
                env.index = index
                if truth(test([item], env)) is True:
                    return TRUE
            return FALSE
        finally:
            env.index = saved

    return _invocation(exists, "System.Boolean", **_flags(criteria, per_item=True, costly=True))


@_function("all")
def _all(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    criteria = compiler.argument(args[0], in_type)
    test = criteria.fn

    def all_(items: Items, this: Items, env: Env) -> Items:
        saved = env.index
        try:
            for index, item in enumerate(items):
                env.index = index
                if index & 255 == 255:
                    env.tick(256)
                if truth(test([item], env)) is not True:
                    return FALSE
            return TRUE
        finally:
            env.index = saved

    return _invocation(all_, "System.Boolean", **_flags(criteria, per_item=True, costly=True))


def _booleans(items: Items, name: str) -> list[bool]:
    values = []
    for item in items:
        value = item.value if type(item) is Node else item
        if type(value) is not bool:
            raise FhirPathError(f"{name}() needs booleans")
        values.append(value)
    return values


@_function("allTrue", "anyTrue", "allFalse", "anyFalse")
def _boolean_aggregates(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    test = {
        "allTrue": lambda values: all(values),
        "anyTrue": lambda values: any(values),
        "allFalse": lambda values: not any(values),
        "anyFalse": lambda values: not all(values),
    }[name]
    return _arity(name, args, 0) or _simple(
        lambda items: TRUE if test(_booleans(items, name)) else FALSE, "System.Boolean"
    )


@_function("subsetOf", "supersetOf")
def _subset(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    other_fn, other = _value_argument(compiler, args[0], this_type)
    mine_value = converter(in_type, compiler.model)
    other_value = converter(other.type, compiler.model)

    def subset(items: Items, this: Items, env: Env) -> Items:
        others = other_fn(this, env)
        if name == "subsetOf":
            inner, inner_value, outer, outer_value = items, mine_value, others, other_value
        else:
            inner, inner_value, outer, outer_value = others, other_value, items, mine_value
        for item in inner:
            if not contains_item(outer, inner_value(item), outer_value):
                return FALSE
        return TRUE

    return _invocation(subset, "System.Boolean", **_flags(other))


@_function("count")
def _count(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return _arity(name, args, 0) or _simple(lambda items: [len(items)], "System.Integer")


@_function("distinct", "isDistinct")
def _distinct(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 0)
    if wrong:
        return wrong
    value = converter(in_type, compiler.model)
    if name == "distinct":
        return _simple(lambda items: distinct_items(items, value), in_type, costly=True)
    return _simple(
        lambda items: TRUE if len(distinct_items(items, value)) == len(items) else FALSE,
        "System.Boolean",
        costly=True,
    )


# -- filtering and projection ----------------------------------------------------------------------


@_function("where")
def _where(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    criteria = compiler.argument(args[0], in_type)
    test = criteria.fn

    def where(items: Items, this: Items, env: Env) -> Items:
        saved = env.index
        result = []
        try:
            for index, item in enumerate(items):
                env.index = index
                if index & 255 == 255:
                    env.tick(256)
                if truth(test([item], env)) is True:
                    result.append(item)
        finally:
            env.index = saved
        return result

    return _invocation(where, in_type, **_flags(criteria, per_item=True, costly=True))


@_function("select")
def _select(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    projection = compiler.argument(args[0], in_type)
    project = projection.fn

    def select(items: Items, this: Items, env: Env) -> Items:
        if len(items) == 1:
            saved = env.index
            env.index = 0
            try:
                return project(items, env)
            finally:
                env.index = saved
        saved = env.index
        result: Items = []
        try:
            for index, item in enumerate(items):
                env.index = index
                if index & 255 == 255:
                    env.tick(256)
                result.extend(project([item], env))
        finally:
            env.index = saved
        return result

    return _invocation(select, projection.type, **_flags(projection, per_item=True, costly=True))


@_function("repeat")
def _repeat(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    first = compiler.argument(args[0], in_type)
    tag_input = _same
    if first.type == in_type:
        first_fn = later_fn = first.fn
        out_type = in_type
    else:
        later = compiler.argument(args[0], first.type)
        if later.type == first.type:
            first_fn, later_fn, out_type = first.fn, later.fn, first.type
        else:
            dynamic = compiler.argument(args[0], None)
            first_fn = later_fn = dynamic.fn
            out_type = None

            def tag_input(items: Items) -> Items:
                return tag(items, in_type)

    def repeat(items: Items, this: Items, env: Env) -> Items:
        result: Items = []
        seen: set[Any] = set()
        level = [(item, first_fn) for item in tag_input(items)]
        while level:
            env.tick(len(level))
            following = []
            for item, project in level:
                for found in project([item], env):
                    key = identity_key(found)
                    if key in seen:
                        continue
                    seen.add(key)
                    result.append(found)
                    following.append((found, later_fn))
            level = following
        return result

    return _invocation(repeat, out_type, **_flags(first, per_item=True, costly=True))


def _same(items: Items) -> Items:
    return items


@_function("ofType")
def _of_type(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    from engine.fhirpath.compiled.compiler import type_specifier

    return type_test(compiler, "ofType", type_specifier(args[0]), in_type)


@_function("is", "as")
def _is_as(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    from engine.fhirpath.compiled.compiler import type_specifier

    return type_test(compiler, name, type_specifier(args[0]), in_type)


def type_test(
    compiler: Compiler,
    operation: str,
    specifier: tuple[str | None, str] | None,
    in_type: str | None,
) -> Invocation:
    """``is``, ``as`` (operators and functions) and ``ofType`` for one type specifier."""
    model = compiler.model
    if specifier is None:
        return _raise(f"{operation} needs a type name")
    namespace, type_name = specifier
    exact = operation != "is"
    if not model.is_known(namespace, type_name):
        if namespace == "System":
            # Not a system type: nothing is of it (the suite's ``is(System.Patient)``).
            return _invocation(
                lambda items, this, env: (
                    ([] if operation == "as" else FALSE) if operation == "is" and items else []
                ),
                "System.Boolean" if operation == "is" else None,
            )
        shown = f"{namespace}.{type_name}" if namespace else type_name
        return _raise(f"unknown type '{shown}'")
    if namespace == "FHIR" or (namespace is None and model.is_known("FHIR", type_name)):
        known = type_name
    else:
        known = f"System.{type_name}"

    def matches(item: Any) -> bool:
        actual = navigation.item_type(item, in_type)
        return model.is_a(actual, namespace, type_name, exact=exact)

    if in_type is not None and model.is_a(in_type, namespace, type_name, exact=exact):
        out_type: str | None = in_type
    elif in_type is None and known.startswith("System."):
        out_type = known
    else:
        out_type = None
    if operation == "ofType":
        return _invocation(
            lambda items, this, env: [item for item in items if matches(item)], out_type
        )

    def single(items: Items) -> Any:
        if len(items) > 1:
            raise FhirPathError(f"'{operation}' needs a single item, got {len(items)}")
        return items[0]

    if operation == "is":
        return _invocation(
            lambda items, this, env: (
                (TRUE if matches(single(items)) else FALSE) if items else EMPTY
            ),
            "System.Boolean",
        )

    def as_(items: Items, this: Items, env: Env) -> Items:
        if not items:
            return EMPTY
        item = single(items)
        return [item] if matches(item) else EMPTY

    return _invocation(as_, out_type)


@_function("extension")
def _extension(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    url_fn, url = _value_argument(compiler, args[0], this_type)

    def extension(items: Items, this: Items, env: Env) -> Items:
        wanted = _single(url_fn(this, env), "extension")
        if wanted is None:
            return EMPTY
        result = []
        for item in items:
            data = navigation.navigable(item)
            if data is None:
                continue
            for entry in data.get("extension") or ():
                if type(entry) is dict and entry.get("url") == wanted:
                    result.append(entry)
        return result

    return _invocation(extension, "Extension", **_flags(url))


# -- subsetting --------------------------------------------------------------------------------


@_function("single")
def _single_fn(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call

    def single(items: Items) -> Items:
        if len(items) > 1:
            raise FhirPathError(f"single() expects at most one item, got {len(items)}")
        return items

    return _arity(name, args, 0) or _simple(single, in_type)


@_function("first")
def _first(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return _arity(name, args, 0) or _simple(lambda items: items[:1], in_type)


@_function("last")
def _last(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return _arity(name, args, 0) or _simple(lambda items: items[-1:], in_type)


@_function("tail")
def _tail(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return _arity(name, args, 0) or _simple(lambda items: items[1:], in_type)


@_function("skip", "take")
def _skip_take(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    count_fn, count = _value_argument(compiler, args[0], this_type)

    def skip_take(items: Items, this: Items, env: Env) -> Items:
        number = _integer_argument(count_fn(this, env), name)
        if number is None:
            return EMPTY
        if name == "skip":
            return items[max(number, 0) :]
        return items[: max(number, 0)]

    return _invocation(skip_take, in_type, **_flags(count))


def _integer_argument(items: Items, name: str) -> int | None:
    value = _single(items, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value):
        raise FhirPathError(f"{name}() needs an integer")
    return int(value)


@_function("intersect", "exclude", "union", "combine")
def _set_operations(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    other_fn, other = _value_argument(compiler, args[0], this_type)
    if name in ("union", "combine"):
        out_type, tag_mine, tag_other = merged_types(in_type, other.type)
    else:
        out_type, tag_mine, tag_other = in_type, _same, _same
    value = converter(out_type, compiler.model)
    mine_value = converter(in_type, compiler.model)
    other_value = converter(other.type, compiler.model)

    def operation(items: Items, this: Items, env: Env) -> Items:
        others = other_fn(this, env)
        if name == "combine":
            return tag_mine(items) + tag_other(others)
        if name == "union":
            return distinct_items(tag_mine(items) + tag_other(others), value)
        if name == "intersect":
            kept = [item for item in items if contains_item(others, mine_value(item), other_value)]
            return distinct_items(kept, mine_value)
        return [item for item in items if not contains_item(others, mine_value(item), other_value)]

    return _invocation(operation, out_type, **_flags(other, costly=name != "combine"))


# -- conversion ------------------------------------------------------------------------------


@_function("iif")
def _iif(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 2, 3)
    if wrong:
        return wrong
    criterion = compiler.argument(args[0], in_type)
    accepted = compiler.argument(args[1], in_type)
    otherwise = compiler.argument(args[2], in_type) if len(args) == 3 else None
    out_type, tag_accepted, tag_otherwise = merged_types(
        accepted.type, otherwise.type if otherwise is not None else accepted.type
    )
    test, accepted_fn = criterion.fn, accepted.fn
    otherwise_fn = otherwise.fn if otherwise is not None else None

    def iif(items: Items, this: Items, env: Env) -> Items:
        if len(items) > 1:
            raise FhirPathError("iif() applies to a single item")
        if truth(test(items, env)) is True:
            return tag_accepted(accepted_fn(items, env))
        if otherwise_fn is None:
            return EMPTY
        return tag_otherwise(otherwise_fn(items, env))

    parts = [criterion, accepted] + ([otherwise] if otherwise is not None else [])
    flags = _flags(*parts, per_item=True)
    # The arguments read the input as $this; at the start of an expression that is $this.
    return _invocation(iif, out_type, **flags)


@_function("coalesce")
def _coalesce(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    compiled = [compiler.argument(argument, in_type) for argument in args]

    def coalesce(items: Items, this: Items, env: Env) -> Items:
        for argument in compiled:
            result = argument.fn(items, env)
            if result:
                return tag(result, argument.type)
        return EMPTY

    return _invocation(coalesce, None, **_flags(*compiled, per_item=True))


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
        wrong = _arity(name, args, *allowed)
        if wrong:
            return wrong
        value = converter(in_type, compiler.model)
        unit_fn, unit = _value_argument(compiler, args[0], this_type) if args else (None, None)

        def conversion(items: Items, this: Items, env: Env) -> Items:
            if not items:
                return EMPTY
            if len(items) > 1:
                raise FhirPathError(f"{name}() applies to a single item")
            converted_input = value(items[0])
            if converted_input is None:
                return EMPTY
            if unit_fn is not None:
                unit_value = _single(unit_fn(this, env), name)
                result = convert(converted_input, unit_value)
            else:
                result = convert(converted_input)
            if test:
                return FALSE if result is None else TRUE
            return EMPTY if result is None else [result]

        flags = _flags(unit) if unit is not None else {}
        return _invocation(conversion, "System.Boolean" if test else type_, **flags)

    return build


for _target in _CONVERSIONS:
    FUNCTIONS[f"to{_target}"] = _conversion(_target, test=False)
    FUNCTIONS[f"convertsTo{_target}"] = _conversion(_target, test=True)


# -- strings -------------------------------------------------------------------------------


def _string_input(items: Items, name: str) -> str | None:
    value = _single(items, name)
    if value is None:
        return None
    if type(value) is not str:
        raise FhirPathError(f"{name}() applies to a string")
    return value  # type: ignore[no-any-return]


def _string_function(
    count: tuple[int, ...],
    fn: Callable[..., Any],
    type_: str | None,
    *,
    several_false: bool = False,
    empty_argument: str = "empty",
) -> Builder:
    """A function of a string and value arguments. ``several_false``: several input
    strings answer false (the HL7 Java engine's ``contains``/``startsWith``/``endsWith``,
    which eld-11 relies on). ``empty_argument``: what an empty argument gives."""

    def build(call: Call) -> Invocation:
        compiler, name, args, in_type, this_type = call
        wrong = _arity(name, args, *count)
        if wrong:
            return wrong
        compiled = [compiler.argument(argument, this_type) for argument in args]
        argument_fns = [argument.fn for argument in compiled]

        def string_function(items: Items, this: Items, env: Env) -> Items:
            if several_false and len(items) > 1:
                return FALSE
            text = _string_input(items, name)
            values = [_single(fn(this, env), name) for fn in argument_fns]
            if text is None:
                return EMPTY
            if any(value is None for value in values) and empty_argument == "empty":
                return EMPTY
            result = fn(text, *values)
            if result is None:
                return EMPTY
            if isinstance(result, list):
                return result
            return [result]

        return _invocation(string_function, type_, **_flags(*compiled))

    return build


def _string_argument(value: Any, name: str) -> str:
    if type(value) is not str:
        raise FhirPathError(f"{name}() needs a string argument")
    return value  # type: ignore[no-any-return]


def _substring(text: str, start: Any, length: Any = None) -> str | None:
    if isinstance(start, bool) or not isinstance(start, int):
        raise FhirPathError("substring() needs an integer start")
    if start < 0 or start >= len(text):
        return None
    if length is None:
        return text[start:]
    return text[start : start + max(int(length), 0)]


def _matches(text: str, pattern: Any, full: bool = False) -> bool:
    compiled = compile_pattern("(?s)" + _string_argument(pattern, "matches"))
    return (compiled.fullmatch(text) if full else compiled.search(text)) is not None


def _replace_matches(text: str, pattern: Any, substitution: Any) -> str:
    pattern_text = _string_argument(pattern, "replaceMatches")
    replacement = re.sub(r"\$(\d+)", r"\\\1", _string_argument(substitution, "replaceMatches"))
    if pattern_text == "":
        return text
    return compile_pattern(pattern_text).sub(replacement, text)


def _replace(text: str, pattern: Any, substitution: Any) -> str:
    pattern_text = _string_argument(pattern, "replace")
    replacement = _string_argument(substitution, "replace")
    if pattern_text == "":
        return replacement + replacement.join(text) + replacement
    return text.replace(pattern_text, replacement)


def _split(text: str, separator: Any) -> list[str]:
    return text.split(_string_argument(separator, "split"))


def _encode(text: str, form: Any) -> str | None:
    if form == "base64":
        return base64.b64encode(text.encode()).decode()
    if form == "urlbase64":
        return base64.urlsafe_b64encode(text.encode()).decode()
    if form == "hex":
        return text.encode().hex()
    return None


def _decode(text: str, form: Any) -> str | None:
    try:
        if form == "base64":
            return base64.b64decode(text).decode()
        if form == "urlbase64":
            return base64.urlsafe_b64decode(text).decode()
        if form == "hex":
            return bytes.fromhex(text).decode()
    except (ValueError, UnicodeDecodeError):
        raise FhirPathError(f"cannot decode {form}") from None
    return None


def _escape(text: str, form: Any) -> str | None:
    if form == "html":
        return html.escape(text)
    if form == "json":
        return json.dumps(text)[1:-1]
    return None


_JSON_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')
_JSON_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(text: str, form: Any) -> str | None:
    if form == "html":
        return html.unescape(text)
    if form == "json":
        return _JSON_ESCAPE.sub(_json_escape, text)
    return None


def _json_escape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code.startswith("u"):
        return chr(int(code[1:], 16))
    return _JSON_ESCAPES.get(code, code)


def _index_of(text: str, sub: Any) -> int:
    return text.find(_string_argument(sub, "indexOf"))


def _last_index_of(text: str, sub: Any) -> int:
    return text.rfind(_string_argument(sub, "lastIndexOf"))


FUNCTIONS |= {
    "indexOf": _string_function((1,), _index_of, "System.Integer"),
    "lastIndexOf": _string_function((1,), _last_index_of, "System.Integer"),
    "substring": _string_function((1, 2), _substring, "System.String"),
    "startsWith": _string_function(
        (1,),
        lambda t, p: t.startswith(_string_argument(p, "startsWith")),
        "System.Boolean",
        several_false=True,
    ),
    "endsWith": _string_function(
        (1,),
        lambda t, p: t.endswith(_string_argument(p, "endsWith")),
        "System.Boolean",
        several_false=True,
    ),
    "contains": _string_function(
        (1,),
        lambda t, p: _string_argument(p, "contains") in t,
        "System.Boolean",
        several_false=True,
    ),
    "upper": _string_function((0,), str.upper, "System.String"),
    "lower": _string_function((0,), str.lower, "System.String"),
    "replace": _string_function((2,), _replace, "System.String"),
    "matches": _string_function((1,), _matches, "System.Boolean"),
    "matchesFull": _string_function((1,), lambda t, p: _matches(t, p, full=True), "System.Boolean"),
    "replaceMatches": _string_function((2,), _replace_matches, "System.String"),
    "length": _string_function((0,), len, "System.Integer"),
    "toChars": _string_function((0,), list, "System.String"),
    "split": _string_function((1,), _split, "System.String"),
    "trim": _string_function((0,), str.strip, "System.String"),
    "encode": _string_function((1,), _encode, "System.String"),
    "decode": _string_function((1,), _decode, "System.String"),
    "escape": _string_function((1,), _escape, "System.String"),
    "unescape": _string_function((1,), _unescape, "System.String"),
}


@_function("join")
def _join(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 0, 1)
    if wrong:
        return wrong
    separator = compiler.argument(args[0], this_type) if args else None

    def join(items: Items, this: Items, env: Env) -> Items:
        glue = _single(separator.fn(this, env), name) if separator is not None else ""
        texts = []
        for item in items:
            value = item.value if type(item) is Node else item
            if type(value) is not str:
                raise FhirPathError("join() needs strings")
            texts.append(value)
        return [(glue or "").join(texts)]

    return _invocation(join, "System.String", **(_flags(separator) if separator else {}))


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
        wrong = _arity(name, args, *count)
        if wrong:
            return wrong
        value = converter(in_type, compiler.model)
        compiled = [compiler.argument(argument, this_type) for argument in args]

        def math_function(items: Items, this: Items, env: Env) -> Items:
            number = _number_input(items, name, value)
            arguments = [_single(argument.fn(this, env), name) for argument in compiled]
            if number is None or (compiled and arguments[0] is None and name != "round"):
                return EMPTY
            try:
                result = fn(number, *arguments)
            except (InvalidOperation, ValueError, OverflowError, ZeroDivisionError):
                return EMPTY
            return EMPTY if result is None else [result]

        return _invocation(math_function, type_, **_flags(*compiled))

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


# -- tree navigation ---------------------------------------------------------------------------


@_function("children")
def _children(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    model = compiler.model
    return _arity(name, args, 0) or _simple(
        lambda items: navigation.children(model, items, in_type), None, costly=True
    )


@_function("descendants")
def _descendants(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 0)
    if wrong:
        return wrong
    model = compiler.model

    def descendants(items: Items, this: Items, env: Env) -> Items:
        return navigation.descendants(model, items, in_type, env.tick)

    return _invocation(descendants, None, costly=True)


# -- aggregates ---------------------------------------------------------------------------------


@_function("aggregate")
def _aggregate(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1, 2)
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
    flags = _flags(*parts, per_item=True, costly=True)
    if initial is not None:
        flags["uses_this"] = initial.uses_this
    return _invocation(aggregate, None, **flags)


def _numbers(items: Items, name: str, value: Callable[[Any], Any]) -> list[Any]:
    values = []
    for item in items:
        number = value(item)
        if isinstance(number, bool) or not isinstance(number, int | Decimal | Quantity):
            raise FhirPathError(f"{name}() needs numbers or quantities")
        values.append(number)
    return values


@_function("sum", "avg")
def _sum(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 0)
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

    return _simple(total, None)


@_function("min", "max")
def _min_max(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 0)
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

    return _simple(extreme, None)


# -- utilities ----------------------------------------------------------------------------------


@_function("not")
def _not(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call

    def not_(items: Items) -> Items:
        value = truth(items)
        if value is None:
            return EMPTY
        return FALSE if value else TRUE

    return _arity(name, args, 0) or _simple(not_, "System.Boolean")


@_function("trace")
def _trace(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1, 2)
    if wrong:
        return wrong
    label = compiler.argument(args[0], this_type)
    projection = compiler.argument(args[1], in_type) if len(args) == 2 else None

    def trace(items: Items, this: Items, env: Env) -> Items:
        if _LOG.isEnabledFor(logging.DEBUG):
            shown = projection.fn(items, env) if projection is not None else items
            from engine.fhirpath.compiled.values import plain

            _LOG.debug("trace %s: %r", _single(label.fn(this, env), name), plain(shown))
        return items

    return _invocation(trace, in_type, **_flags(label))


@_function("now", "today", "timeOfDay")
def _clock(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    position = {"now": 0, "today": 1, "timeOfDay": 2}[name]
    type_ = ("System.DateTime", "System.Date", "System.Time")[position]
    return _arity(name, args, 0) or _invocation(
        lambda items, this, env: [env.now()[position]], type_
    )


@_function("defineVariable")
def _define_variable(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1, 2)
    if wrong:
        return wrong
    value = compiler.argument(args[1], in_type) if len(args) == 2 else None
    value_type = value.type if value is not None else in_type
    variable = args[0]
    if variable.data == "string":
        from engine.fhirpath.compiled.compiler import Unsupported, unescape

        variable_name = unescape(str(variable.children[0]))
        try:
            key: Any = compiler.define(variable_name)
        except Unsupported:
            return _raise(f"the variable '{variable_name}' is already defined")
        named = None
    else:
        # A computed name: known only at run time, looked up by name (see ``%name``).
        named = compiler.argument(variable, this_type)
        key = None

    def define(items: Items, this: Items, env: Env) -> Items:
        if env.slots is None:
            env.slots = {}
        slot = key
        if named is not None:
            slot = _single(named.fn(this, env), name)
            if type(slot) is not str:
                raise FhirPathError("defineVariable() needs a string name")
        defined = value.fn(items, env) if value is not None else items
        env.slots[slot] = tag(defined, value_type)
        return items

    parts = [part for part in (value, named) if part is not None]
    flags = _flags(*parts, per_item=True)
    flags["uses_context"] = True
    if named is not None:
        flags["uses_this"] = named.uses_this
    return _invocation(define, in_type, **flags)


@_function("sort")
def _sort(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    keys: list[tuple[Compiled, bool]] = []
    for argument in args:
        descending = argument.data == "polarity" and str(argument.children[0]) == "-"
        expression = argument.children[1] if descending else argument
        keys.append((compiler.argument(expression, in_type), descending))
    value = converter(in_type, compiler.model)

    def sort(items: Items, this: Items, env: Env) -> Items:
        from functools import cmp_to_key

        if not keys:
            decorated = [(value(item), item) for item in items]

            def compare_values(a: Any, b: Any) -> int:
                return order(a[0], b[0]) or 0

            return [item for _, item in sorted(decorated, key=cmp_to_key(compare_values))]
        decorated_keys = []
        for item in items:
            values = []
            for key, _ in keys:
                found = key.fn([item], env)
                values.append(converter(key.type, compiler.model)(found[0]) if found else None)
            decorated_keys.append((values, item))

        def compare(a: Any, b: Any) -> int:
            for position, (_, descending) in enumerate(keys):
                x, y = a[0][position], b[0][position]
                missing = x is None or y is None
                result = (x is None) - (y is None) if missing else order(x, y) or 0
                if result:
                    return -result if descending else result
            return 0

        return [item for _, item in sorted(decorated_keys, key=cmp_to_key(compare))]

    flags = _flags(*(key for key, _ in keys), per_item=True, costly=True)
    return _invocation(sort, in_type, **flags)


@_function("type")
def _type(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call

    def types(items: Items) -> Items:
        result = []
        for item in items:
            actual = navigation.item_type(item, in_type)
            if actual is None:
                continue
            if actual.startswith("System."):
                result.append({"namespace": "System", "name": actual[7:]})
            elif "." in actual:
                result.append({"namespace": "FHIR", "name": "BackboneElement"})
            else:
                result.append({"namespace": "FHIR", "name": actual})
        return result

    return _arity(name, args, 0) or _simple(types, None)


# -- FHIR -----------------------------------------------------------------------------------------


@_function("hasValue")
def _has_value(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call

    def has_value(items: Items) -> Items:
        if len(items) != 1:
            return FALSE
        value = items[0]
        if type(value) is Node:
            value = value.value
        return FALSE if value is None or type(value) is dict or type(value) is list else TRUE

    return _arity(name, args, 0) or _simple(has_value, "System.Boolean")


@_function("getValue")
def _get_value(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    value = converter(in_type, compiler.model)

    def get_value(items: Items) -> Items:
        if len(items) != 1:
            return EMPTY
        found = value(items[0])
        return EMPTY if found is None or type(found) is dict else [found]

    return _arity(name, args, 0) or _simple(get_value, None)


@_function("htmlChecks")
def _html_checks(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call

    def html_checks(items: Items) -> Items:
        if len(items) != 1:
            return EMPTY
        text = items[0].value if type(items[0]) is Node else items[0]
        if type(text) is not str:
            return EMPTY
        return FALSE if html_problems(text) else TRUE

    return _arity(name, args, 0) or _simple(html_checks, "System.Boolean")


def _boundary(high: bool) -> Builder:
    def build(call: Call) -> Invocation:
        compiler, name, args, in_type, this_type = call
        wrong = _arity(name, args, 0, 1)
        if wrong:
            return wrong
        model = compiler.model
        precision = compiler.argument(args[0], this_type) if args else None

        def boundary(items: Items, this: Items, env: Env) -> Items:
            places = _integer_argument(precision.fn(this, env), name) if precision else None
            if len(items) != 1:
                return EMPTY
            item = items[0]
            actual = navigation.item_type(item, in_type)
            value = item.value if type(item) is Node else item
            bound = _bound(value, actual, places, high, model)
            return EMPTY if bound is None else [bound]

        return _invocation(boundary, None, **(_flags(precision) if precision else {}))

    return build


def _bound(value: Any, actual: str | None, places: int | None, high: bool, model: Any) -> Any:
    if type(value) is float:
        value = decimal(value)
    if type(value) is bool or value is None:
        return None
    if isinstance(value, int | Decimal):
        return decimal_boundary(value, places, high=high)
    quantity = value if type(value) is Quantity else None
    if (
        quantity is None
        and type(value) is dict
        and (model.is_quantity(actual) or "code" in value or "unit" in value)
    ):
        quantity = quantity_of(value)
    if quantity is not None:
        bound = decimal_boundary(quantity.value, places, high=high)
        return None if bound is None else Quantity(bound, quantity.unit, quantity.calendar)
    kind = DATE_TYPES.get(actual or "")
    if type(value) is str:
        if kind is None and not re.match(r"^\d{4}(-\d{2}){0,2}(T|$)", value):
            return None
        parsed = parse_temporal(value, kind or ("DateTime" if "T" in value else "Date"))
        if parsed is None:
            return None
        value = parsed
    if type(value) is not Temporal:
        return None
    if value.kind == "Time":
        text = time_boundary(_clock_text(value), places, high=high)
        return None if text is None else parse_temporal(text, "Time")
    text = datetime_boundary(value.text, places, high=high, is_date=value.kind == "Date")
    if text is None:
        return None
    return parse_temporal(text, value.kind)


def _clock_text(value: Temporal) -> str:
    text = value.text
    for marker in ("Z", "+", "-"):
        text = text.split(marker, 1)[0]
    return text


FUNCTIONS["lowBoundary"] = _boundary(high=False)
FUNCTIONS["highBoundary"] = _boundary(high=True)


@_function("precision")
def _precision(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    value = converter(in_type, compiler.model)

    def precision(items: Items) -> Items:
        if len(items) != 1:
            return EMPTY
        found = value(items[0])
        if type(found) is Temporal:
            return [found.precision()]
        if isinstance(found, Decimal):
            exponent = found.as_tuple().exponent
            return [-exponent if isinstance(exponent, int) and exponent < 0 else 0]
        if isinstance(found, int) and not isinstance(found, bool):
            return [0]
        return EMPTY

    return _arity(name, args, 0) or _simple(precision, "System.Integer")


@_function("comparable")
def _comparable(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = _arity(name, args, 1)
    if wrong:
        return wrong
    other_fn, other = _value_argument(compiler, args[0], this_type)
    model = compiler.model

    def as_quantity(items: Items, static: str | None) -> Quantity | None:
        if len(items) != 1:
            return None
        value = items[0].value if type(items[0]) is Node else items[0]
        if type(value) is Quantity:
            return value
        if type(value) is dict:
            actual = navigation.item_type(items[0], static)
            if model.is_quantity(actual) or "code" in value or "unit" in value:
                return quantity_of(value)
        return None

    def comparable(items: Items, this: Items, env: Env) -> Items:
        left = as_quantity(items, in_type)
        right = as_quantity(other_fn(this, env), other.type)
        if left is None or right is None:
            return EMPTY
        left_unit = left.unit if not left.calendar else left.unit
        right_unit = right.unit if not right.calendar else right.unit
        return TRUE if units_comparable(left_unit, right_unit) else FALSE

    return _invocation(comparable, "System.Boolean", **_flags(other))


def _unsupported(reason: str) -> Builder:
    def build(call: Call) -> Invocation:
        compiler, name, args, in_type, this_type = call
        return _raise(f"{name}() is not supported: {reason}")

    return build


for _name, _reason in UNSUPPORTED.items():
    FUNCTIONS[_name] = _unsupported(_reason)


def supported() -> frozenset[str]:
    """The names of the functions an expression may call."""
    return frozenset(name for name in FUNCTIONS if name not in UNSUPPORTED)


__all__ += ["Call", "supported", "to_string"]
