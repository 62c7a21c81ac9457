"""Navigation that keeps a FHIR primitive's value and its extensions together.

In FHIR JSON a primitive's value and its id/extensions live in two properties
(``"given": [null, "James"]`` and ``"_given": [{"extension": [...]}, null]``).
fhirpathpy turns each property into separate items, so ``given.count()`` counts
extensions as values, ``given.hasValue()`` cannot see a value-less primitive and
``given.extension`` finds nothing. Here each occurrence is one node: its value in
``data`` (``None`` when it has only extensions) and its ``_`` object in ``_data``.

fhirpathpy dispatches member access through a module-level table, so :func:`install`
puts :func:`member_invocation` there; it changes nothing for evaluations whose context
lacks :data:`MERGED_PRIMITIVES` (plain fhirpathpy callers keep fhirpathpy's behaviour).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fhirpathpy.engine.evaluators import evaluators
from fhirpathpy.engine.nodes import FP_Quantity, ResourceNode

__all__ = [
    "MERGED_PRIMITIVES",
    "children",
    "descendants",
    "extension",
    "install",
    "member_invocation",
]

#: Context key that switches fhirpathpy's member access to this module's navigation.
MERGED_PRIMITIVES = "engine.merged_primitives"

_ORIGINAL_MEMBER_INVOCATION: Callable[..., list[Any]] = evaluators["MemberInvocation"]


def install() -> None:
    """Route fhirpathpy's member access through :func:`member_invocation` (idempotent)."""
    evaluators["MemberInvocation"] = member_invocation


def member_invocation(ctx: dict[str, Any], parent_data: Any, node: dict[str, Any]) -> list[Any]:
    """fhirpathpy's ``MemberInvocation`` evaluator, with merged primitive nodes."""
    if not ctx.get(MERGED_PRIMITIVES):
        return _ORIGINAL_MEMBER_INVOCATION(ctx, parent_data, node)
    if not isinstance(parent_data, list):
        return []
    # The identifier's text, as fhirpathpy's Identifier evaluator would give it.
    key = node["children"][0]["text"].strip('"').replace("`", "")
    if key[:1].isupper():
        typed = [_as_type(item, key) for item in parent_data]
        if any(item is not None for item in typed):
            return [item for item in typed if item is not None]
    model = ctx.get("model")
    result: list[Any] = []
    for item in parent_data:
        result.extend(child_nodes(model, item, key))
    return result


def child_nodes(model: Mapping[str, Any] | None, item: Any, key: str) -> list[ResourceNode]:
    """The nodes of property ``key`` (choice elements by their base name) of one item."""
    parent = item if isinstance(item, ResourceNode) else ResourceNode.create_node(item)
    data = _navigable(parent)
    if data is None:
        if isinstance(parent.data, FP_Quantity) and key == "value":
            return [ResourceNode(parent.data.value, "decimal")]
        return []
    type_path = f"{parent.path}.{key}" if parent.path else f"_.{key}"
    if model is not None:
        type_path = model["pathsDefinedElsewhere"].get(type_path, type_path)
    value, extra, type_path = _lookup(model, data, key, type_path)
    if key == "extension":
        type_path = "Extension"
    elif model is not None:
        type_path = model["path2Type"].get(type_path, type_path)
    if type(value) is list and not extra:
        # The common case, no primitive extensions: one node per value.
        return [
            ResourceNode(v, type_path, None, None, index)
            for index, v in enumerate(value)
            if v is not None
        ]
    if isinstance(value, list) or isinstance(extra, list):
        values = value if isinstance(value, list) else []
        extras = extra if isinstance(extra, list) else []
        return [
            ResourceNode(v, type_path, e, None, index)
            for index, (v, e) in enumerate(_pairs(values, extras))
            if v is not None or e is not None
        ]
    if value is None and extra is None:
        return []
    return [ResourceNode(value, type_path, extra)]


def children(ctx: dict[str, Any], coll: list[Any]) -> list[ResourceNode]:
    """FHIRPath ``children()``: every child node, primitives merged with their extensions."""
    model = ctx.get("model")
    result: list[ResourceNode] = []
    for item in coll:
        node = ResourceNode.create_node(item)
        data = _navigable(node)
        if data is None:
            continue
        for key in _property_names(model, node, data):
            result.extend(child_nodes(model, node, key))
    return result


def descendants(ctx: dict[str, Any], coll: list[Any]) -> list[ResourceNode]:
    """FHIRPath ``descendants()``: children, recursively, in breadth-first order."""
    result: list[ResourceNode] = []
    level = children(ctx, coll)
    while level:
        result.extend(level)
        level = children(ctx, level)
    return result


def extension(ctx: dict[str, Any], coll: list[Any], url: str) -> list[ResourceNode]:
    """FHIRPath ``extension(url)``: every extension with that URL, primitives included."""
    result: list[ResourceNode] = []
    for item in coll:
        data = _navigable(ResourceNode.create_node(item))
        for entry in (data or {}).get("extension", []):
            if isinstance(entry, Mapping) and entry.get("url") == url:
                result.append(ResourceNode.create_node(entry, "Extension"))
    return result


def _navigable(node: ResourceNode) -> Mapping[str, Any] | None:
    """The object whose properties are the node's children: a complex value, or the
    ``_`` object (id, extensions) of a primitive."""
    # JSON objects are dicts: the exact type test is much cheaper than the ABC check.
    if type(node.data) is dict or isinstance(node.data, Mapping):
        return node.data
    if type(node._data) is dict or isinstance(node._data, Mapping):
        return node._data
    return None


def _lookup(
    model: Mapping[str, Any] | None, data: Mapping[str, Any], key: str, type_path: str
) -> tuple[Any, Any, str]:
    choice_types = model["choiceTypePaths"].get(type_path) if model is not None else None
    if choice_types:
        for choice_type in choice_types:
            name = key + choice_type
            if name in data or f"_{name}" in data:
                return data.get(name), data.get(f"_{name}"), type_path + choice_type
        return None, None, type_path
    return data.get(key), data.get(f"_{key}"), type_path


def _pairs(values: list[Any], extras: list[Any]) -> list[tuple[Any, Any]]:
    length = max(len(values), len(extras))
    return [
        (
            values[index] if index < len(values) else None,
            extras[index] if index < len(extras) else None,
        )
        for index in range(length)
    ]


def _property_names(
    model: Mapping[str, Any] | None, node: ResourceNode, data: Mapping[str, Any]
) -> list[str]:
    """The JSON properties of ``data`` as FHIRPath names: ``_x`` folds into ``x``, and a
    choice property (``valueQuantity``) into its element name when the model knows it."""
    names: dict[str, None] = {}
    for prop in data:
        if prop == "resourceType":
            continue
        name = prop[1:] if prop.startswith("_") else prop
        names[_choice_name(model, node, name)] = None
    return list(names)


def _choice_name(model: Mapping[str, Any] | None, node: ResourceNode, name: str) -> str:
    if model is None or not node.path:
        return name
    choices = model["choiceTypePaths"]
    for index in range(len(name) - 1, 0, -1):
        if name[index].isupper():
            base = name[:index]
            if name[index:] in choices.get(f"{node.path}.{base}", ()):
                return base
    return name


def _as_type(item: Any, type_name: str) -> Any:
    """``item`` when it is of type ``type_name`` (a leading type name in a path), else None."""
    if isinstance(item, ResourceNode):
        is_typed = item.path == type_name or (
            isinstance(item.data, Mapping) and item.data.get("resourceType") == type_name
        )
        return item if is_typed else None
    if isinstance(item, Mapping) and item.get("resourceType") == type_name:
        return ResourceNode.create_node(item, type_name)
    return None
