"""What a resource holds, read from its FHIR JSON: behind the FHIRPath function
``elementIds()``, a pure function of plain values for every evaluator.

    >>> element_ids({"resourceType": "Patient", "id": "p",
    ...              "name": [{"id": "n1", "given": ["A"], "_given": [{"id": "g1"}]}],
    ...              "contained": [{"resourceType": "Organization", "id": "o",
    ...                             "address": [{"id": "n1"}]}]})
    ['n1', 'g1']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["element_ids"]


def element_ids(resource: Any) -> list[str]:
    """The ids of the elements inside ``resource`` (its complex elements' ``id`` and its
    primitives' ``_name.id``), in document order, without the resource's own id and
    without looking into the resources it holds (contained resources, Bundle entries,
    Parameters resources are resources of their own). Empty for anything but an object.

    A StructureDefinition's ``snapshot`` and ``differential`` are left out: their
    ElementDefinition ids are element paths, unique within each list and repeated
    between the two by design (FHIR R5 ElementDefinition.id).
    """
    found: list[str] = []
    if isinstance(resource, Mapping):
        skipped = {"id", "resourceType"}
        if resource.get("resourceType") == "StructureDefinition":
            skipped |= {"snapshot", "differential"}
        for key, value in resource.items():
            if key not in skipped:
                if type(value) is dict or type(value) is list:
                    _collect_nested(value, found, 0)
                elif not isinstance(value, str | int | float):  # a scalar holds no ids
                    _collect(value, found)
    return found


#: How deep the recursive scan goes; below, the explicit stack of _collect takes over.
_RECURSION_LIMIT = 64


def _collect_nested(value: dict[str, Any] | list[Any], found: list[str], depth: int) -> None:
    """:func:`_collect` for plain objects and arrays, recursively: twice as fast, down to
    :data:`_RECURSION_LIMIT` levels."""
    if type(value) is dict:
        if type(value.get("resourceType")) is str:
            return  # a nested resource: its ids are its own
        identifier = value.get("id")
        if type(identifier) is dict or type(identifier) is list:
            _collect(value, found)  # an id that is not a string: the general scan
            return
        if isinstance(identifier, str):
            found.append(identifier)
        children: Any = value.values()
    else:
        children = value
    if depth >= _RECURSION_LIMIT:
        for child in children:
            if type(child) is dict or type(child) is list:
                _collect(child, found)
        return
    for child in children:
        if type(child) is dict or type(child) is list:
            _collect_nested(child, found, depth + 1)


def _collect(value: Any, found: list[str]) -> None:
    # An explicit stack, not recursion: a resource may nest deeper than Python recurses.
    # Only objects and arrays can hold ids: scalars never go on it, and children go on it
    # reversed so that ids come out in document order.
    pending = [value] if isinstance(value, list | Mapping) else []
    extend = pending.extend
    children: list[Any]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            if type(item.get("resourceType")) is str:
                continue  # a nested resource: its ids are its own
            identifier = item.get("id")
            if type(identifier) is dict or type(identifier) is list:
                # An id that is not a string holds no element ids.
                children = [
                    v for k, v in item.items() if (type(v) is dict or type(v) is list) and k != "id"
                ]
            else:
                if isinstance(identifier, str):
                    found.append(identifier)
                children = [v for v in item.values() if type(v) is dict or type(v) is list]
        elif type(item) is list:
            children = [v for v in item if type(v) is dict or type(v) is list]
        elif isinstance(item, Mapping):
            if isinstance(item.get("resourceType"), str):
                continue
            identifier = item.get("id")
            if isinstance(identifier, str):
                found.append(identifier)
            children = [v for k, v in item.items() if isinstance(v, list | Mapping) and k != "id"]
        else:
            children = [v for v in item if isinstance(v, list | Mapping)]
        if children:
            children.reverse()
            extend(children)
