"""FHIR's functions: ``hasValue``, ``getValue``, ``htmlChecks``, ``lowBoundary``,
``highBoundary``, ``precision``, ``comparable``."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from engine.fhirpath.binary import base64_sha1, base64_size
from engine.fhirpath.boundaries import datetime_boundary, decimal_boundary, time_boundary
from engine.fhirpath.compiled import navigation
from engine.fhirpath.compiled.binary import EMPTY, FALSE, TRUE
from engine.fhirpath.compiled.core import Env, Invocation
from engine.fhirpath.compiled.functions.base import (
    FUNCTIONS,
    UNSUPPORTED,
    Builder,
    Call,
    Items,
    arity,
    fail,
    flags,
    function,
    integer_argument,
    invocation,
    simple,
    value_argument,
)
from engine.fhirpath.compiled.operators import (
    converter,
    quantity_of,
)
from engine.fhirpath.compiled.temporal import DATE_TYPES, Temporal, parse_temporal
from engine.fhirpath.compiled.values import Node, Quantity, decimal
from engine.fhirpath.content import element_ids
from engine.fhirpath.quantities import units_comparable
from engine.fhirpath.xhtml import has_content, html_attribute, html_problems, narrative_problems

# -- FHIR -----------------------------------------------------------------------------------------


@function("hasValue")
def _has_value(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call

    def has_value(items: Items) -> Items:
        if len(items) != 1:
            return FALSE
        value = items[0]
        if type(value) is Node:
            value = value.value
        # An empty string is no value (FHIR forbids it; the HL7 validator reports ele-1).
        if value is None or value == "" or type(value) is dict or type(value) is list:
            return FALSE
        return TRUE

    return arity(name, args, 0) or simple(has_value, "System.Boolean")


@function("getValue")
def _get_value(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    value = converter(in_type, compiler.model)

    def get_value(items: Items) -> Items:
        if len(items) != 1:
            return EMPTY
        found = value(items[0])
        return EMPTY if found is None or type(found) is dict else [found]

    return arity(name, args, 0) or simple(get_value, None)


def _one_string(items: Items) -> str | None:
    if len(items) != 1:
        return None
    text = items[0].value if type(items[0]) is Node else items[0]
    return text if type(text) is str else None


@function("htmlChecks")
def _html_checks(call: Call) -> Invocation:
    """The XHTML rules of narrative (txt-1): allowed elements and attributes; an ``xhtml``
    element (``Narrative.div``) must moreover be one ``<div>`` in the XHTML namespace."""
    compiler, name, args, in_type, this_type = call

    def html_checks(items: Items) -> Items:
        text = _one_string(items)
        if text is None:
            return EMPTY
        is_xhtml = navigation.item_type(items[0], in_type) == "xhtml"
        return FALSE if (narrative_problems(text) if is_xhtml else html_problems(text)) else TRUE

    return arity(name, args, 0) or simple(html_checks, "System.Boolean")


@function("htmlChecks2")
def _html_checks2(call: Call) -> Invocation:
    """The HL7 validator's content rule of narrative (txt-2): some non-whitespace text or
    an image."""
    compiler, name, args, in_type, this_type = call

    def html_checks2(items: Items) -> Items:
        text = _one_string(items)
        if text is None:
            return EMPTY
        return TRUE if has_content(text) else FALSE

    return arity(name, args, 0) or simple(html_checks2, "System.Boolean")


@function("htmlAttribute")
def _html_attribute(call: Call) -> Invocation:
    """The values of every attribute of that name in a single XHTML string."""
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    name_fn, named = value_argument(compiler, args[0], this_type)

    def html_attribute_values(items: Items, this: Items, env: Env) -> Items:
        text = _one_string(items)
        wanted = _one_string(name_fn(this, env))
        if text is None or wanted is None:
            return EMPTY
        return list(html_attribute(text, wanted))

    return invocation(html_attribute_values, "System.String", **flags(named))


@function("base64Size")
def _base64_size(call: Call) -> Invocation:
    """The number of bytes a single base64 string decodes to."""
    compiler, name, args, in_type, this_type = call

    def size(items: Items) -> Items:
        text = _one_string(items)
        found = None if text is None else base64_size(text)
        return EMPTY if found is None else [found]

    return arity(name, args, 0) or simple(size, "System.Integer")


@function("base64Sha1")
def _base64_sha1(call: Call) -> Invocation:
    """The SHA-1 (base64) of the bytes a single base64 string decodes to."""
    compiler, name, args, in_type, this_type = call

    def sha1(items: Items) -> Items:
        text = _one_string(items)
        found = None if text is None else base64_sha1(text)
        return EMPTY if found is None else [found]

    return arity(name, args, 0) or simple(sha1, "System.String")


@function("elementIds")
def _element_ids(call: Call) -> Invocation:
    """The ids of the elements inside a single resource, without those of the resources
    it holds."""
    compiler, name, args, in_type, this_type = call

    def ids(items: Items) -> Items:
        if len(items) != 1:
            return EMPTY
        value = items[0].value if type(items[0]) is Node else items[0]
        return list(element_ids(value))

    return arity(name, args, 0) or simple(ids, "System.String", costly=True)


def _boundary(high: bool) -> Builder:
    def build(call: Call) -> Invocation:
        compiler, name, args, in_type, this_type = call
        wrong = arity(name, args, 0, 1)
        if wrong:
            return wrong
        model = compiler.model
        precision = compiler.argument(args[0], this_type) if args else None

        def boundary(items: Items, this: Items, env: Env) -> Items:
            places = integer_argument(precision.fn(this, env), name) if precision else None
            if len(items) != 1:
                return EMPTY
            item = items[0]
            actual = navigation.item_type(item, in_type)
            value = item.value if type(item) is Node else item
            bound = _bound(value, actual, places, high, model)
            return EMPTY if bound is None else [bound]

        return invocation(boundary, None, **(flags(precision) if precision else {}))

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


@function("precision")
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

    return arity(name, args, 0) or simple(precision, "System.Integer")


@function("comparable")
def _comparable(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    other_fn, other = value_argument(compiler, args[0], this_type)
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

    return invocation(comparable, "System.Boolean", **flags(other))


def _unsupported(reason: str) -> Builder:
    def build(call: Call) -> Invocation:
        return fail(f"{call.name}() is not supported: {reason}")

    return build


for _name, _reason in UNSUPPORTED.items():
    FUNCTIONS[_name] = _unsupported(_reason)
