"""FHIRPath functions fhirpathpy lacks (or gets wrong for FHIR data), as an invocation table.

The table has fhirpathpy's own format, ``name -> {"fn": fn(ctx, inputs, *params),
"arity": {count: [param kinds]}}``, and is used as-is (not through fhirpathpy's
``process_user_invocation_table``, which would unwrap the input nodes on every call and
lose what a primitive's node carries: its extensions, its FHIR type). Functions here
therefore receive fhirpathpy nodes and unwrap them themselves.

- ``hasValue()``: a single primitive with a value (not just extensions);
- ``htmlChecks()``, ``htmlChecks2()``: the narrative XHTML rules and the narrative
  content rule, as the HL7 validator applies them to txt-1 and txt-2
  (:mod:`engine.fhirpath.xhtml`);
- ``htmlAttribute(name)``: the values of an attribute in narrative XHTML (links, anchors);
- ``elementIds()``: the ids of the elements of a resource, not of the resources it holds
  (:mod:`engine.fhirpath.content`);
- ``base64Size()``, ``base64Sha1()``: the decoded length and SHA-1 of base64 content
  (:mod:`engine.fhirpath.binary`), for the Attachment checks of the built-in rules;
- ``lowBoundary([precision])``, ``highBoundary([precision])``: decimals, quantities,
  dates, date-times and times (:mod:`engine.fhirpath.boundaries`);
- ``comparable(quantity)``: whether two quantities' units can be compared, and
  ``<``, ``>``, ``<=``, ``>=`` able to order quantities (:mod:`engine.fhirpath.quantities`);
- ``=``, ``!=`` and the orderings compare date/time elements as dates and times
  (fhirpathpy compares them as strings);
- ``contains()``, ``startsWith()``, ``endsWith()`` answer false on several strings, as
  the HL7 Java engine does (eld-11 relies on it); ``single()`` raises on several items,
  and ``$this`` is the focus at the top of an expression;
- ``children()``, ``descendants()``, ``extension(url)``: FHIR-aware navigation that keeps
  a primitive and its extensions together (:mod:`engine.fhirpath.reference.navigation`);
- ``matches()``, ``replaceMatches()``: on RE2 (:mod:`engine.fhirpath.regex`), in time
  linear in the text, where fhirpathpy's backtracking ``re`` can run for ever.

Functions FHIR constraints use that need outside knowledge (``resolve()``,
``memberOf()``, ``conformsTo()``) are deliberately absent: see :data:`UNSUPPORTED`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, cast

from fhirpathpy.engine import util
from fhirpathpy.engine.invocations import invocation_registry
from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, FP_Time, ResourceNode

from engine.fhirpath.binary import base64_sha1, base64_size
from engine.fhirpath.boundaries import datetime_boundary, decimal_boundary, time_boundary
from engine.fhirpath.content import element_ids
from engine.fhirpath.quantities import quantity_order, units_comparable
from engine.fhirpath.reference import navigation
from engine.fhirpath.regex import compile_pattern
from engine.fhirpath.xhtml import has_content, html_attribute, html_problems, narrative_problems

__all__ = ["FUNCTIONS", "UNSUPPORTED"]

#: Functions FHIR constraints call that this engine cannot evaluate, with the reason.
UNSUPPORTED: Mapping[str, str] = {
    "resolve": "resolving references needs the referenced resources",
    "memberOf": "value-set membership needs a terminology service",
    "conformsTo": "profile conformance needs the profiles",
    "hasTemplateIdOf": "CDA templates are not supported",
}

_Function = dict[str, Any]
_BUILT_IN = cast(Mapping[str, _Function], invocation_registry)
_DATE_TYPES = frozenset({"date"})
_DATETIME_TYPES = frozenset({"dateTime", "instant"})
_QUANTITY_TYPES = frozenset({"Quantity", "Age", "Count", "Distance", "Duration"})
_QUANTITY_TYPES |= {"SimpleQuantity", "MoneyQuantity"}


def has_value(ctx: dict[str, Any], inputs: list[Any]) -> bool:
    """FHIRPath ``hasValue()``: one primitive that has a value, not only extensions.

    An empty string is no value: FHIR forbids it, and the HL7 validator reports ele-1 on
    ``"fullUrl": ""`` besides the empty value itself."""
    if len(inputs) != 1:
        return False
    data = util.get_data(inputs[0])
    return data is not None and data != "" and not isinstance(data, Mapping | list)


def html_checks(ctx: dict[str, Any], inputs: list[Any]) -> list[bool]:
    """FHIRPath ``htmlChecks()``: true when a single string is well-formed narrative XHTML
    with only the allowed elements and attributes; empty for anything that is not one
    string. An ``xhtml`` element (``Narrative.div``) must moreover be one ``<div>`` in the
    XHTML namespace."""
    text = _single_string(inputs)
    if text is None:
        return []
    is_xhtml = isinstance(inputs[0], ResourceNode) and inputs[0].path == "xhtml"
    return [not (narrative_problems(text) if is_xhtml else html_problems(text))]


def html_checks2(ctx: dict[str, Any], inputs: list[Any]) -> list[bool]:
    """``htmlChecks2()``, the HL7 validator's content rule for narrative (txt-2): true
    when a single string is XHTML that shows some non-whitespace text or an image."""
    text = _single_string(inputs)
    return [] if text is None else [has_content(text)]


def html_attribute_values(ctx: dict[str, Any], inputs: list[Any], name: Any) -> list[str]:
    """``htmlAttribute(name)``: the values of every ``name`` attribute in a single XHTML
    string (empty for anything else)."""
    text = _single_string(inputs)
    if text is None or not isinstance(name, str):
        return []
    return html_attribute(text, name)


def base64_size_of(ctx: dict[str, Any], inputs: list[Any]) -> list[int]:
    """``base64Size()``: the number of bytes a single base64 string decodes to; empty when
    it is not base64 or not one string."""
    text = _single_string(inputs)
    size = None if text is None else base64_size(text)
    return [] if size is None else [size]


def base64_sha1_of(ctx: dict[str, Any], inputs: list[Any]) -> list[str]:
    """``base64Sha1()``: the SHA-1 of the bytes a single base64 string decodes to,
    base64-encoded; empty when it is not base64 or not one string."""
    text = _single_string(inputs)
    digest = None if text is None else base64_sha1(text)
    return [] if digest is None else [digest]


def element_ids_of(ctx: dict[str, Any], inputs: list[Any]) -> list[str]:
    """``elementIds()``: the ids of the elements inside a single resource, without those
    of the resources it holds."""
    if len(inputs) != 1:
        return []
    return element_ids(util.get_data(inputs[0]))


def _single_string(inputs: list[Any]) -> str | None:
    if len(inputs) != 1:
        return None
    text = util.get_data(inputs[0])
    return text if isinstance(text, str) else None


def low_boundary(ctx: dict[str, Any], inputs: list[Any], precision: Any = None) -> list[Any]:
    """FHIRPath ``lowBoundary([precision])``."""
    return _boundary(inputs, precision, high=False)


def high_boundary(ctx: dict[str, Any], inputs: list[Any], precision: Any = None) -> list[Any]:
    """FHIRPath ``highBoundary([precision])``."""
    return _boundary(inputs, precision, high=True)


def comparable(ctx: dict[str, Any], inputs: list[Any], other: list[Any]) -> list[bool]:
    """FHIRPath ``comparable(quantity)``: true when both quantities' units measure the
    same kind of thing (so that the two can be compared)."""
    if len(inputs) != 1 or len(other) != 1:
        return []
    left, right = _quantity(inputs[0]), _quantity(other[0])
    if left is None or right is None:
        return []
    return [units_comparable(left.unit, right.unit)]


def _ordering(name: str, test: Callable[[int], bool]) -> _Function:
    """fhirpathpy's comparison operator ``name``, made able to order quantities and to
    compare date/time elements as dates and times rather than as strings."""
    original = _BUILT_IN[name]["fn"]

    def compare(ctx: dict[str, Any], left: list[Any], right: list[Any]) -> Any:
        if len(left) == 1 and len(right) == 1:
            a, b = _quantity(left[0]), _quantity(right[0])
            if a is not None and b is not None:
                order = quantity_order(Decimal(a.value), a.unit, Decimal(b.value), b.unit)
                return [] if order is None else test(order)
        return original(ctx, _temporal(left), _temporal(right))

    return {**_BUILT_IN[name], "fn": compare}


def _equality(name: str) -> _Function:
    """fhirpathpy's (in)equality operator ``name``, comparing date/time elements as dates
    and times (so that different precisions give empty, not false)."""
    original = _BUILT_IN[name]["fn"]

    def compare(ctx: dict[str, Any], left: list[Any], right: list[Any]) -> Any:
        return original(ctx, _temporal(left), _temporal(right))

    return {**_BUILT_IN[name], "fn": compare}


def single(ctx: dict[str, Any], inputs: list[Any]) -> list[Any]:
    """FHIRPath ``single()``: an error for more than one item (fhirpathpy returns an error
    marker as if it were a value)."""
    if len(inputs) > 1:
        raise ValueError(f"single() expects at most one item, got {len(inputs)}")
    return inputs


def _lenient_string_test(name: str) -> _Function:
    """fhirpathpy's ``contains``/``startsWith``/``endsWith``, false on several strings.

    The specification makes several inputs an error; the HL7 Java engine answers false,
    and a core R5 constraint depends on it (eld-11: ``type.code.contains(":")`` on an
    element with several types).
    """
    original = _BUILT_IN[name]["fn"]

    def test(ctx: dict[str, Any], inputs: list[Any], argument: Any) -> Any:
        if len(inputs) > 1:
            return False
        return original(ctx, inputs, argument)

    return {**_BUILT_IN[name], "fn": test}


def matches(ctx: dict[str, Any], inputs: list[Any], regex: Any) -> Any:
    """FHIRPath ``matches(regex)``: whether some part of a single string matches, in
    single-line mode (``.`` matches a line break)."""
    if not regex or not inputs:
        return []
    return compile_pattern(regex, dot_all=True).search(_the_string(inputs))


def replace_matches(ctx: dict[str, Any], inputs: list[Any], regex: Any, replacement: Any) -> Any:
    """FHIRPath ``replaceMatches(regex, substitution)``; ``$1`` in the substitution is the
    first group."""
    text = _the_string(inputs)
    if isinstance(regex, list) or isinstance(replacement, list):
        return []
    template = re.sub(r"\$(\d+)", r"\\\1", replacement)
    return compile_pattern(regex).sub(template, text)


def _the_string(inputs: list[Any]) -> str:
    """The one string a string function works on (fhirpathpy's rule and message)."""
    data = util.get_data(inputs[0]) if len(inputs) == 1 else inputs
    if not isinstance(data, str):
        raise TypeError(f"Expected string, but got {data}")
    return data


def _temporal(collection: list[Any]) -> list[Any]:
    """A singleton date, dateTime, instant or time element as fhirpathpy's date/time value."""
    if len(collection) != 1 or not isinstance(collection[0], ResourceNode):
        return collection
    node = collection[0]
    if not isinstance(node.data, str):
        return collection
    if node.path in _DATE_TYPES | _DATETIME_TYPES:
        return [FP_DateTime(node.data)]
    if node.path == "time":
        return [FP_Time(node.data)]
    return collection


def _boundary(inputs: list[Any], precision: Any, *, high: bool) -> list[Any]:
    if len(inputs) != 1:
        return []
    places = None if precision is None or precision == [] else int(precision)
    item = inputs[0]
    value = util.get_data(item)
    type_name = item.path if isinstance(item, ResourceNode) else None
    if isinstance(value, bool):
        return []
    if isinstance(value, int | Decimal):
        bound = decimal_boundary(value, places, high=high)
        return [] if bound is None else [bound]
    quantity = _quantity(item)
    if quantity is not None:
        bound = decimal_boundary(Decimal(quantity.value), places, high=high)
        return [] if bound is None else [FP_Quantity(bound, quantity.unit)]
    if isinstance(value, FP_Time) or (type_name == "time" and isinstance(value, str)):
        text = time_boundary(_text(value), places, high=high)
        return [] if text is None else [FP_Time(text)]
    if isinstance(value, FP_DateTime | str):
        text = _text(value)
        untyped = isinstance(value, str) and type_name not in _DATE_TYPES | _DATETIME_TYPES
        # An untyped string has a boundary only when it is written as a date-time.
        if untyped and not re.match(r"^\d{4}(-\d{2}){0,2}(T|$)", text):
            return []
        is_date = type_name in _DATE_TYPES or (isinstance(value, FP_DateTime) and "T" not in text)
        bound_text = datetime_boundary(text, places, high=high, is_date=is_date)
        return [] if bound_text is None else [FP_DateTime(bound_text)]
    return []


def _text(value: Any) -> str:
    if isinstance(value, FP_Time | FP_DateTime):
        return str(value.asStr)
    return str(value)


def _quantity(item: Any) -> FP_Quantity | None:
    """A quantity literal, or a Quantity-typed element, as an ``FP_Quantity``."""
    value = util.get_data(item)
    if isinstance(value, FP_Quantity):
        return value
    type_name = item.path if isinstance(item, ResourceNode) else None
    is_quantity = isinstance(value, Mapping) and "value" in value
    if is_quantity and (type_name in _QUANTITY_TYPES or "code" in value or "unit" in value):
        unit = value.get("code") or value.get("unit") or "1"
        return FP_Quantity(util.get_data(value["value"]), f"'{unit}'")
    return None


def _entry(fn: Callable[..., Any], arity: dict[int, list[str]] | None = None) -> _Function:
    return {"fn": fn} if arity is None else {"fn": fn, "arity": arity}


#: The invocation table handed to fhirpathpy (merged over its own functions).
FUNCTIONS: Mapping[str, _Function] = {
    "hasValue": _entry(has_value),
    "htmlChecks": _entry(html_checks),
    "htmlChecks2": _entry(html_checks2),
    "htmlAttribute": _entry(html_attribute_values, {1: ["String"]}),
    "elementIds": _entry(element_ids_of),
    "base64Size": _entry(base64_size_of),
    "base64Sha1": _entry(base64_sha1_of),
    "lowBoundary": _entry(low_boundary, {0: [], 1: ["Integer"]}),
    "highBoundary": _entry(high_boundary, {0: [], 1: ["Integer"]}),
    "comparable": _entry(comparable, {1: ["Any"]}),
    "children": _entry(navigation.children),
    "descendants": _entry(navigation.descendants),
    "extension": _entry(navigation.extension, {1: ["String"]}),
    "single": _entry(single),
    "matches": {**_BUILT_IN["matches"], "fn": matches},
    "replaceMatches": {**_BUILT_IN["replaceMatches"], "fn": replace_matches},
    "contains": _lenient_string_test("contains"),
    "startsWith": _lenient_string_test("startsWith"),
    "endsWith": _lenient_string_test("endsWith"),
    "<": _ordering("<", lambda order: order < 0),
    ">": _ordering(">", lambda order: order > 0),
    "<=": _ordering("<=", lambda order: order <= 0),
    ">=": _ordering(">=", lambda order: order >= 0),
    "=": _equality("="),
    "!=": _equality("!="),
}
