"""The binary operators, compiled: three-valued logic, (in)equality and equivalence,
ordering, membership, union, arithmetic and concatenation.

Each builder takes the two compiled operands and returns the closure and the static type
of its result. ``and``, ``or`` and ``implies`` do not evaluate their right operand when
the left one decides (as the HL7 validator, and the reference evaluator); every other
operator evaluates both, then applies FHIRPath's empty propagation.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.fhirpath.compiled import operators
from engine.fhirpath.compiled.collections import contains_item, distinct_items, tag
from engine.fhirpath.compiled.core import Compiled, Env
from engine.fhirpath.compiled.operators import FhirPathError, converter
from engine.fhirpath.compiled.values import Node

if TYPE_CHECKING:
    from engine.fhirpath.compiled.compiler import Compiler

__all__ = ["BINARY", "truth"]

Items = list[Any]
Fn = Callable[[Items, "Env"], Items]
Builder = Callable[["Compiler", "Compiled", "Compiled"], tuple[Fn, "str | None"]]

# Results are shared, never modified: no closure changes a collection it was given.
TRUE: Items = [True]
FALSE: Items = [False]
EMPTY: Items = []
_BOOLEAN = "System.Boolean"
_INTEGER = "System.Integer"


def truth(items: Items) -> bool | None:
    """A collection as a three-valued boolean: empty is ``None``; a single boolean is
    itself; any other single item is true; several items are an error."""
    if items is TRUE:  # what boolean operators and functions return, shared
        return True
    if items is FALSE:
        return False
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathError(f"expected a single boolean, got {len(items)} items")
    value = items[0]
    if value is True or value is False:
        return value  # type: ignore[no-any-return]
    if type(value) is Node:
        value = value.value
        if value is True or value is False:
            return value  # type: ignore[no-any-return]
        if value is None:
            return None
    return True


# -- logic ---------------------------------------------------------------------------------


def _and(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    left_fn, right_fn = left.fn, right.fn

    def and_(this: Items, env: Env) -> Items:
        a = truth(left_fn(this, env))
        if a is False:
            return FALSE
        b = truth(right_fn(this, env))
        if b is False:
            return FALSE
        return TRUE if a is True and b is True else EMPTY

    return and_, _BOOLEAN


def _or(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    left_fn, right_fn = left.fn, right.fn

    def or_(this: Items, env: Env) -> Items:
        a = truth(left_fn(this, env))
        if a is True:
            return TRUE
        b = truth(right_fn(this, env))
        if b is True:
            return TRUE
        return FALSE if a is False and b is False else EMPTY

    return or_, _BOOLEAN


def _xor(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    left_fn, right_fn = left.fn, right.fn

    def xor(this: Items, env: Env) -> Items:
        a = truth(left_fn(this, env))
        b = truth(right_fn(this, env))
        if a is None or b is None:
            return EMPTY
        return TRUE if a != b else FALSE

    return xor, _BOOLEAN


def _implies(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    left_fn, right_fn = left.fn, right.fn

    def implies(this: Items, env: Env) -> Items:
        a = truth(left_fn(this, env))
        if a is False:
            return TRUE
        b = truth(right_fn(this, env))
        if b is True:
            return TRUE
        if a is True and b is False:
            return FALSE
        return EMPTY

    return implies, _BOOLEAN


# -- equality and equivalence ---------------------------------------------------------------


def equality(left_items: Items, right_items: Items, left_value: Any, right_value: Any) -> Items:
    """``=`` on two collections (``left_value``/``right_value`` turn items into
    comparison values)."""
    if not left_items or not right_items:
        return EMPTY
    if len(left_items) != len(right_items):
        return FALSE
    for a, b in zip(left_items, right_items, strict=True):
        x, y = left_value(a), right_value(b)
        if x is None or y is None:
            return EMPTY
        same = operators.equal_items(x, y)
        if same is None:
            return EMPTY
        if not same:
            return FALSE
    return TRUE


def _equal(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    left_fn, right_fn = left.fn, right.fn
    left_value = converter(left.type, compiler.model)
    right_value = converter(right.type, compiler.model)
    literal = right.constant
    if (
        literal is not None
        and len(literal) == 1
        and type(literal[0]) is str
        and left_value is operators.plain_value
    ):
        text = literal[0]

        # ``type = 'group'``: a string compared as it is; anything else as below.
        def equal_text(this: Items, env: Env) -> Items:
            items = left_fn(this, env)
            found = _only_text(items)
            if found is not None:
                return TRUE if found == text else FALSE
            return equality(items, literal, left_value, right_value)

        return equal_text, _BOOLEAN

    def equal(this: Items, env: Env) -> Items:
        return equality(left_fn(this, env), right_fn(this, env), left_value, right_value)

    return equal, _BOOLEAN


def _not_equal(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    equal, _ = _equal(compiler, left, right)

    def not_equal(this: Items, env: Env) -> Items:
        result = equal(this, env)
        if not result:
            return EMPTY
        return FALSE if result[0] else TRUE

    return not_equal, _BOOLEAN


def equivalence(left_items: Items, right_items: Items, left_value: Any, right_value: Any) -> bool:
    """``~`` on two collections: the same items in any order, each equivalent."""
    if len(left_items) != len(right_items):
        return False
    remaining = [right_value(b) for b in right_items]
    for a in left_items:
        x = left_value(a)
        for position, y in enumerate(remaining):
            if (x is None and y is None) or (
                x is not None and y is not None and operators.equivalent_items(x, y)
            ):
                del remaining[position]
                break
        else:
            return False
    return True


def _equivalent(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    left_fn, right_fn = left.fn, right.fn
    left_value = converter(left.type, compiler.model)
    right_value = converter(right.type, compiler.model)

    def equivalent(this: Items, env: Env) -> Items:
        same = equivalence(left_fn(this, env), right_fn(this, env), left_value, right_value)
        return TRUE if same else FALSE

    return equivalent, _BOOLEAN


def _not_equivalent(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    equivalent, _ = _equivalent(compiler, left, right)

    def not_equivalent(this: Items, env: Env) -> Items:
        return FALSE if equivalent(this, env)[0] else TRUE

    return not_equivalent, _BOOLEAN


# -- ordering ------------------------------------------------------------------------------


def _ordering(test: Callable[[int], bool], integers: Callable[[int, int], bool]) -> Builder:
    def build(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
        left_fn, right_fn = left.fn, right.fn
        if left.type == right.type == _INTEGER and left.count_up_to is not None:
            count_up_to = left.count_up_to

            # children().count() > id.count() (ele-1, on every element): the count
            # stops once it has passed the number it is compared with.
            def compare_count(this: Items, env: Env) -> Items:
                b_items = right_fn(this, env)
                if not b_items:
                    return EMPTY
                if len(b_items) > 1:
                    raise FhirPathError("comparison operands must be single items")
                limit = b_items[0]
                return TRUE if integers(count_up_to(this, env, limit + 1), limit) else FALSE

            return compare_count, _BOOLEAN
        if left.type == right.type == _INTEGER:
            # count() > 1, length() <= 255…: Python integers, compared directly.

            def compare_integers(this: Items, env: Env) -> Items:
                a_items = left_fn(this, env)
                b_items = right_fn(this, env)
                if not a_items or not b_items:
                    return EMPTY
                if len(a_items) > 1 or len(b_items) > 1:
                    raise FhirPathError("comparison operands must be single items")
                return TRUE if integers(a_items[0], b_items[0]) else FALSE

            return compare_integers, _BOOLEAN
        left_value = converter(left.type, compiler.model)
        right_value = converter(right.type, compiler.model)

        def compare(this: Items, env: Env) -> Items:
            a_items = left_fn(this, env)
            b_items = right_fn(this, env)
            if not a_items or not b_items:
                return EMPTY
            if len(a_items) > 1 or len(b_items) > 1:
                raise FhirPathError("comparison operands must be single items")
            a, b = left_value(a_items[0]), right_value(b_items[0])
            if a is None or b is None:
                return EMPTY
            order = operators.order(a, b)
            if order is None:
                return EMPTY
            return TRUE if test(order) else FALSE

        return compare, _BOOLEAN

    return build


# -- collections ----------------------------------------------------------------------------


def _union(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    left_fn, right_fn = left.fn, right.fn
    type_, left_tag, right_tag = merged_types(left.type, right.type)
    value = converter(type_, compiler.model)

    def union(this: Items, env: Env) -> Items:
        items = left_tag(left_fn(this, env)) + right_tag(right_fn(this, env))
        return distinct_items(items, value)

    return union, type_


def merged_types(
    left: str | None, right: str | None
) -> tuple[str | None, Callable[[Items], Items], Callable[[Items], Items]]:
    """The type of a collection made of items of two collections, and how each side's
    items keep their type in it (as nodes, when the two differ)."""
    if left == right:
        return left, _same, _same
    return None, (lambda items: tag(items, left)), (lambda items: tag(items, right))


def _same(items: Items) -> Items:
    return items


def _membership(reverse: bool) -> Builder:
    def build(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
        element, collection = (right, left) if reverse else (left, right)
        element_fn, collection_fn = element.fn, collection.fn
        element_value = converter(element.type, compiler.model)
        collection_value = converter(collection.type, compiler.model)

        def member_of(found: Items, items: Items) -> Items:
            if not found:
                return EMPTY
            if len(found) > 1:
                raise FhirPathError("membership needs a single item")
            if not items:
                return FALSE
            value = element_value(found[0])
            return TRUE if contains_item(items, value, collection_value) else FALSE

        constant = collection.constant
        if (
            constant
            and all(type(item) is str for item in constant)
            and element_value is operators.plain_value
            and collection_value is operators.plain_value
        ):
            texts = frozenset(constant)

            # ``type in ('boolean' | 'decimal')``: a string looked up; anything else as below.
            def in_texts(this: Items, env: Env) -> Items:
                found = element_fn(this, env)
                text = _only_text(found)
                if text is not None:
                    return TRUE if text in texts else FALSE
                return member_of(found, constant)

            return in_texts, _BOOLEAN

        def membership(this: Items, env: Env) -> Items:
            if reverse:
                items = collection_fn(this, env)
                return member_of(element_fn(this, env), items)
            found = element_fn(this, env)
            return member_of(found, collection_fn(this, env))

        return membership, _BOOLEAN

    return build


def _only_text(items: Items) -> str | None:
    """The string of a collection that holds one string (as a value or in a node)."""
    if len(items) == 1:
        item = items[0]
        if type(item) is Node:
            item = item.value
        if type(item) is str:
            return item
    return None


# -- arithmetic ---------------------------------------------------------------------------------


def _arithmetic(operation: Callable[[Any, Any], Any]) -> Builder:
    def build(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
        left_fn, right_fn = left.fn, right.fn
        left_value = converter(left.type, compiler.model)
        right_value = converter(right.type, compiler.model)

        def arithmetic(this: Items, env: Env) -> Items:
            a_items = left_fn(this, env)
            b_items = right_fn(this, env)
            if not a_items or not b_items:
                return EMPTY
            if len(a_items) > 1 or len(b_items) > 1:
                raise FhirPathError("arithmetic operands must be single items")
            a, b = left_value(a_items[0]), right_value(b_items[0])
            if a is None or b is None:
                return EMPTY
            result = operation(a, b)
            return EMPTY if result is None else [result]

        return arithmetic, None

    return build


def _concatenate(compiler: Compiler, left: Compiled, right: Compiled) -> tuple[Fn, str | None]:
    left_fn, right_fn = left.fn, right.fn

    def concatenate(this: Items, env: Env) -> Items:
        return [_text(left_fn(this, env)) + _text(right_fn(this, env))]

    return concatenate, "System.String"


def _text(items: Items) -> str:
    if not items:
        return ""
    if len(items) > 1:
        raise FhirPathError("'&' needs single strings")
    value = items[0]
    if type(value) is Node:
        value = value.value
    if value is None:
        return ""
    if type(value) is not str:
        raise FhirPathError("'&' needs strings")
    return value


BINARY: dict[str, Builder] = {
    "and": _and,
    "or": _or,
    "xor": _xor,
    "implies": _implies,
    "=": _equal,
    "!=": _not_equal,
    "~": _equivalent,
    "!~": _not_equivalent,
    "<": _ordering(lambda order: order < 0, operator.lt),
    ">": _ordering(lambda order: order > 0, operator.gt),
    "<=": _ordering(lambda order: order <= 0, operator.le),
    ">=": _ordering(lambda order: order >= 0, operator.ge),
    "|": _union,
    "in": _membership(reverse=False),
    "contains": _membership(reverse=True),
    "+": _arithmetic(operators.add),
    "-": _arithmetic(operators.subtract),
    "*": _arithmetic(operators.multiply),
    "/": _arithmetic(operators.divide),
    "div": _arithmetic(operators.intdiv),
    "mod": _arithmetic(operators.modulo),
    "&": _concatenate,
}
