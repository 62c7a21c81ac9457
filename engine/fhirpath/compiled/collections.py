"""Collections as sets: duplicates by FHIRPath equality, membership, and keeping the
type of items that move into a collection of mixed types.

Equality is FHIRPath's ``=``: ``1`` and ``1.0`` are the same item, ``'a'`` and ``1`` are
not, two complex elements are equal when their JSON is. Items whose equality is not a
plain value comparison (dates, quantities) are compared pairwise.

    >>> distinct_items([1, "a", 1.0, True, "a"], lambda item: item)
    [1, 'a', True]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.fhirpath.compiled.operators import equal_items, plain_value
from engine.fhirpath.compiled.values import Long, Node, decimal

__all__ = ["contains_item", "distinct_items", "identity_key", "tag", "value_key"]

Items = list[Any]
Value = Callable[[Any], Any]


def value_key(value: Any) -> Any:
    """A hashable key that equal comparison values share; ``None`` when the value must be
    compared pairwise."""
    kind = type(value)
    if kind is str:
        return ("s", value)
    if kind is bool:
        return ("b", value)
    if kind is int or kind is Decimal or kind is Long:
        return ("n", value)
    if kind is float:
        return ("n", decimal(value))
    if kind is dict:
        return ("j", json.dumps(value, sort_keys=True, default=_number_text))
    return None


def _number_text(value: Any) -> str:
    return str(value)


def identity_key(item: Any) -> Any:
    """The key of an item in ``repeat()``: an element is itself (its object), a value is
    its value."""
    value = item.value if type(item) is Node else item
    if type(value) is dict or type(value) is list:
        return ("i", id(value))
    if type(item) is Node and item.ext is not None:
        return ("i", id(item.ext))
    return value_key(value) or ("i", id(value))


def distinct_items(items: Items, value: Value) -> Items:
    """The items without duplicates, first occurrences kept, in order."""
    if len(items) < 2:
        return items
    if value is plain_value and all(type(item) is str for item in items):
        return list(dict.fromkeys(items))  # strings are equal when they are the same
    seen: set[Any] = set()
    others: list[Any] = []
    result: Items = []
    for item in items:
        converted = value(item)
        key = value_key(converted)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        else:
            if any(equal_items(converted, other) is True for other in others):
                continue
            others.append(converted)
        result.append(item)
    return result


def contains_item(items: Items, wanted: Any, value: Value) -> bool:
    """Whether an item of ``items`` equals ``wanted`` (a comparison value)."""
    if wanted is None:
        return False
    for item in items:
        converted = value(item)
        if converted is not None and equal_items(wanted, converted) is True:
            return True
    return False


def tag(items: Items, static_type: str | None) -> Items:
    """The items of a collection of ``static_type``, made to carry that type (as nodes)
    so that they keep it in a collection of mixed types."""
    if static_type is None or static_type.startswith("System."):
        return items
    return [
        item
        if type(item) is Node or (type(item) is dict and "resourceType" in item)
        else Node(item, static_type)
        for item in items
    ]
