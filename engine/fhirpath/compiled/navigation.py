"""Reading members from JSON: the closures member access, ``children()`` and
``descendants()`` compile to.

A FHIR primitive's value and its ``_name`` companion (id, extensions) are one item, as
in the reference evaluator: ``given.count()`` counts an entry that has only extensions,
``given.extension`` finds the extensions of each given name.

When the compiler knows the type of the items (``ImagingSelection.instance``), a member
compiles to a closure specialised for it (:func:`static_member`): the JSON property names
and the type of what it finds are fixed at compile time, and the items it yields are the
JSON values themselves. When it does not (:func:`dynamic_member`), each item's type is
found at run time (:func:`type_of`) and the member looked up per (type, name) in the
model's cache; the items it yields are :class:`~engine.fhirpath.compiled.values.Node`
objects carrying their type.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.fhirpath.compiled.temporal import Temporal
from engine.fhirpath.compiled.types import Member, TypeModel
from engine.fhirpath.compiled.values import Long, Node, Quantity

__all__ = [
    "children",
    "descendants",
    "dynamic_member",
    "item_type",
    "navigable",
    "static_member",
    "type_of",
]

Items = list[Any]

_SYSTEM_TYPE_OF: dict[type, str] = {
    bool: "System.Boolean",
    str: "System.String",
    int: "System.Integer",
    Long: "System.Long",
    Decimal: "System.Decimal",
    float: "System.Decimal",
    Quantity: "System.Quantity",
}


def type_of(item: Any) -> str | None:
    """The type of an item whose collection has no static type: a node's type, a
    resource's ``resourceType``, or the system type of a computed value."""
    kind = type(item)
    if kind is Node:
        value = item.value
        if type(value) is dict:
            resource_type = value.get("resourceType")
            if type(resource_type) is str:
                return resource_type
        return item.type  # type: ignore[no-any-return]
    if kind is dict:
        resource_type = item.get("resourceType")
        return resource_type if type(resource_type) is str else None
    if kind is Temporal:
        return "System." + item.kind  # type: ignore[no-any-return]
    return _SYSTEM_TYPE_OF.get(kind)


def item_type(item: Any, static_type: str | None) -> str | None:
    """The type of an item of a collection whose static type is ``static_type``."""
    if static_type is None:
        return type_of(item)
    kind = type(item)
    if kind is Node:
        return type_of(item)
    if kind is dict:
        resource_type = item.get("resourceType")
        return resource_type if type(resource_type) is str else static_type
    return static_type


def navigable(item: Any) -> dict[str, Any] | None:
    """The JSON object whose properties are an item's children: a complex value, or the
    ``_name`` object of a primitive; ``None`` for anything else."""
    if type(item) is dict:
        return item
    if type(item) is Node:
        value = item.value
        if type(value) is dict:
            return value
        ext = item.ext
        if type(ext) is dict:
            return ext
    return None


def _pairs(
    values: Any, extras: Any, type_: str | None, out: Items, *, tagged: bool = False
) -> None:
    """Append a primitive's values merged with their ``_name`` objects: as nodes where they
    have one, or every one when ``tagged`` (its type must travel with it)."""
    if type(values) is list or type(extras) is list:
        values = values if type(values) is list else []
        extras = extras if type(extras) is list else []
        for index in range(max(len(values), len(extras))):
            value = values[index] if index < len(values) else None
            extra = extras[index] if index < len(extras) else None
            if value is not None or extra is not None:
                out.append(Node(value, type_, extra) if tagged or extra is not None else value)
    elif values is not None or extras is not None:
        out.append(Node(values, type_, extras))


def static_member(member: Member) -> Callable[[Items], Items]:
    """Member access on items of a known type: their JSON values (a node where a
    primitive has a ``_name`` companion, or for each item of a choice element). For an
    element that is not a choice, the closure's ``present`` attribute says whether it
    would find anything, without collecting it (``a.b.exists()``)."""
    if len(member.alternatives) > 1 or member.type is None:
        return _choice_member(member)
    json_name, ext_name, type_ = member.alternatives[0]
    if not member.primitive:

        def complex_member(items: Items) -> Items:
            out: Items = []
            for item in items:
                data = item if type(item) is dict else navigable(item)
                if data is None:
                    continue
                value = data.get(json_name)
                if value is None:
                    continue
                if type(value) is list:
                    if None in value:
                        out.extend(v for v in value if v is not None)
                    else:
                        out.extend(value)
                else:
                    out.append(value)
            return out

        def complex_present(items: Items) -> bool:
            for item in items:
                data = item if type(item) is dict else navigable(item)
                if data is None:
                    continue
                value = data.get(json_name)
                if value is None:
                    continue
                if type(value) is not list or _holds_some(value):
                    return True
            return False

        complex_member.present = complex_present  # type: ignore[attr-defined]
        return complex_member

    def primitive_present(items: Items) -> bool:
        for item in items:
            data = item if type(item) is dict else navigable(item)
            if data is None:
                continue
            value = data.get(json_name)
            extra = data.get(ext_name)
            if type(value) is list or type(extra) is list:
                # As _pairs reads them: only the arrays' entries count.
                if (type(value) is list and _holds_some(value)) or (
                    type(extra) is list and _holds_some(extra)
                ):
                    return True
            elif value is not None or extra is not None:
                return True
        return False

    def primitive_member(items: Items) -> Items:
        out: Items = []
        for item in items:
            data = item if type(item) is dict else navigable(item)
            if data is None:
                continue
            value = data.get(json_name)
            extra = data.get(ext_name)
            if extra is None:
                if value is None:
                    continue
                if type(value) is list:
                    if None in value:
                        out.extend(v for v in value if v is not None)
                    else:
                        out.extend(value)
                else:
                    out.append(value)
            else:
                _pairs(value, extra, type_, out)
        return out

    primitive_member.present = primitive_present  # type: ignore[attr-defined]
    return primitive_member


def _holds_some(values: list[Any]) -> bool:
    """Whether an array holds an entry (``null`` entries hold nothing)."""
    return values.count(None) != len(values)


def _choice_member(member: Member) -> Callable[[Items], Items]:
    alternatives = member.alternatives

    def choice_member(items: Items) -> Items:
        out: Items = []
        for item in items:
            data = item if type(item) is dict else navigable(item)
            if data is None:
                continue
            _read(data, alternatives, out)
        return out

    return choice_member


def _read(
    data: dict[str, Any], alternatives: tuple[tuple[str, str, str | None], ...], out: Items
) -> None:
    """Append, as nodes, what the first present alternative holds."""
    for json_name, ext_name, type_ in alternatives:
        value = data.get(json_name)
        extra = data.get(ext_name)
        if value is not None or extra is not None:
            if type(value) is list or type(extra) is list:
                _pairs(value, extra, type_, out, tagged=True)
            elif type(value) is dict and type(value.get("resourceType")) is str:
                out.append(value)
            else:
                out.append(Node(value, type_, extra))
            return


def dynamic_member(model: TypeModel, name: str) -> Callable[[Items], Items]:
    """Member access on items whose type is known only at run time (nodes, resources)."""

    # The alternatives per item type, kept here: %resource.descendants().reference reads
    # this member of every node.
    alternatives: dict[str | None, tuple[tuple[str, str, str | None], ...]] = {}

    def member(items: Items) -> Items:
        out: Items = []
        for item in items:
            data = navigable(item)
            if data is None:
                if type(item) is Quantity:
                    _quantity_member(item, name, out)
                continue
            type_ = type_of(item)
            found = alternatives.get(type_)
            if found is None:
                found = alternatives[type_] = model.member(type_, name).alternatives
            _read(data, found, out)
        return out

    return member


def _quantity_member(quantity: Quantity, name: str, out: Items) -> None:
    if name == "value":
        out.append(quantity.value)
    elif name == "unit":
        out.append(quantity.unit)


def system_member(name: str, type_: str) -> Callable[[Items], Items]:
    """Members of computed values: only a quantity's ``value`` and ``unit``."""

    def member(items: Items) -> Items:
        out: Items = []
        for item in items:
            if type(item) is Quantity:
                _quantity_member(item, name, out)
        return out

    return member


def children(model: TypeModel, items: Items, static_type: str | None) -> Items:
    """``children()``: every child of every item, as nodes, in property order (a
    primitive and its ``_name`` companion are one child, a choice element's JSON name
    stands for the element)."""
    out: Items = []
    for item in items:
        if type(item) is Node:
            # navigable() and item_type() for the items descendants() is made of.
            data = item.value
            if type(data) is dict:
                resource_type = data.get("resourceType")
                type_ = resource_type if type(resource_type) is str else item.type
            elif type(item.ext) is dict:
                data, type_ = item.ext, item.type
            else:
                continue  # a primitive value has no children
        else:
            found = navigable(item)
            if found is None:
                continue
            data, type_ = found, item_type(item, static_type)
        properties = model.child_properties(type_)
        # Properties of one name (a primitive and its _name, a choice element's types)
        # are read together, where the first of them stands.
        read: set[str] = set()
        for prop in data:
            name, _, _, _, alternatives = properties.get(prop) or properties.resolve(prop)
            if name is None or name in read:
                continue
            read.add(name)
            _read(data, alternatives, out)
    return out


def count_children(
    model: TypeModel, items: Items, static_type: str | None, limit: int | None = None
) -> int:
    """``children().count()`` without building the children (ele-1 runs on every element).
    With a ``limit``, counting may stop once the count reaches it."""
    total = 0
    if limit is None:
        limit = sys.maxsize
    for item in items:
        if type(item) is dict and static_type is not None and "resourceType" not in item:
            data: dict[str, Any] = item
            properties = model.child_properties(static_type)
        else:
            found = navigable(item)
            if found is None:
                continue
            data = found
            properties = model.child_properties(item_type(item, static_type))
        choices: set[str] | None = None
        for prop, value in data.items():
            name, other, is_companion, is_choice, _ = properties.get(prop) or properties.resolve(
                prop
            )
            if name is None:
                continue
            if is_companion:
                if other in data:
                    continue  # counted with its primitive
                extra, value = value, None
            else:
                extra = data.get(other)
            if is_choice:
                # A choice element: its first present alternative only, as children() reads.
                if choices is None:
                    choices = set()
                if name in choices:
                    continue
                choices.add(name)
            if extra is not None:
                total += _entries(value, extra)
            elif type(value) is list:
                total += len(value) - value.count(None)
            elif value is not None:
                total += 1
            if total >= limit:
                return total
    return total


def _entries(value: Any, extra: Any) -> int:
    """How many occurrences a property and its ``_name`` companion hold together."""
    if type(value) is not list and type(extra) is not list:
        return 0 if value is None and extra is None else 1
    values = value if type(value) is list else []
    extras = extra if type(extra) is list else []
    if not extras:
        return len(values) - values.count(None)
    return sum(
        1
        for index in range(max(len(values), len(extras)))
        if (index < len(values) and values[index] is not None)
        or (index < len(extras) and extras[index] is not None)
    )


def descendants(
    model: TypeModel, items: Items, static_type: str | None, tick: Callable[[int], None]
) -> Items:
    """``descendants()``: children, recursively, breadth first. ``tick`` is called with
    the size of each level (the session's clock)."""
    out: Items = []
    level = children(model, items, static_type)
    while level:
        tick(len(level))
        out.extend(level)
        level = children(model, level, None)
    return out
