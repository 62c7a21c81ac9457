"""Walk a FHIR JSON resource against the definitions.

The walker knows the JSON shape FHIR prescribes (arrays for repeating elements,
``_name`` companions for primitive extensions, ``valueQuantity``-style names for
choice elements, nested resources) and nothing about rules. It yields two kinds of
values, in document order:

- :class:`Issue` for what is structurally wrong where it stands (unknown property,
  array where one value is allowed, too many or too few occurrences, wrong JSON shape);
- :class:`Occurrence` for every element occurrence it could place in the model, which
  the rule checks (invariants, formats, bindings, references) then examine.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from engine.model import Definitions, ElementDefinition, StructureDefinition
from engine.validation.report import Issue

#: Beyond this nesting the walker stops descending: FHIR data this deep is an attack
#: or a bug, and Python's recursion limit must never surface as a crash.
MAX_DEPTH = 100

#: Type codes of FHIRPath system types (``Resource.id`` is a ``System.String``): their
#: values are JSON primitives.
SYSTEM_TYPE_PREFIX = "http://hl7.org/fhirpath/System."

_RESOURCE_TYPE_CODES = frozenset({"Resource", "DomainResource"})


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of an element in a resource, placed in the model."""

    sd: StructureDefinition
    element: ElementDefinition
    #: The concrete type of this occurrence (a choice element's chosen type); ``None``
    #: for inline backbone elements and resource roots.
    type_code: str | None
    value: Any
    #: For a primitive: its ``_name`` companion object (id, extension), if any.
    extension: dict[str, Any] | None
    location: str
    resource: dict[str, Any]
    root_resource: dict[str, Any]

    @property
    def fhirpath_type(self) -> str:
        """The type path fhirpathpy navigates from: a type name, or a backbone element path
        (for an element defined by a content reference, the path of the element it names:
        ``Questionnaire.item.item`` has the content of ``Questionnaire.item``)."""
        if self.type_code is not None:
            return self.type_code
        reference = self.element.content_reference
        return reference.lstrip("#") if reference is not None else self.element.path


@dataclass(frozen=True, slots=True)
class _Child:
    sd: StructureDefinition
    element: ElementDefinition
    type_code: str | None
    json_name: str


class Walker:
    """Walks resources against ``definitions``; cheap to reuse, caches property maps."""

    def __init__(self, definitions: Definitions) -> None:
        self._defs = definitions
        self._props: dict[tuple[str, str, str | None], dict[str, _Child] | None] = {}

    # -- public ---------------------------------------------------------------------------

    def walk(self, resource: Any, location: str | None = None) -> Iterator[Issue | Occurrence]:
        """Yield issues and occurrences for a resource (top level, or nested at ``location``)."""
        yield from self._resource(resource, location, None, 0)

    def is_primitive(self, type_code: str | None) -> bool:
        """FHIR primitive types are defined with kind primitive-type; when the type is not
        loaded, FHIR's naming rule (primitive type names start lower case) decides."""
        if type_code is None:
            return False
        if type_code.startswith(SYSTEM_TYPE_PREFIX):
            return True
        sd = self._defs.get(type_code)
        if sd is not None:
            return sd.kind == "primitive-type"
        return type_code[:1].islower() and "/" not in type_code

    # -- resources ------------------------------------------------------------------------

    def _resource(
        self, data: Any, location: str | None, container: dict[str, Any] | None, depth: int
    ) -> Iterator[Issue | Occurrence]:
        where = location or "(resource)"
        if not isinstance(data, dict):
            yield Issue(
                "fatal",
                "structure",
                where,
                f"A resource must be a JSON object, found {_json_kind(data)}",
            )
            return
        rtype = data.get("resourceType")
        if rtype is None:
            yield Issue("fatal", "required", where, "The resource has no resourceType")
            return
        if not isinstance(rtype, str):
            yield Issue(
                "fatal",
                "structure",
                where,
                f"resourceType must be a string, found {_json_kind(rtype)}",
            )
            return
        sd = self._defs.get(rtype)
        if sd is None or sd.kind != "resource":
            yield Issue(
                "fatal", "not-supported", location or rtype, f"Unknown resource type '{rtype}'"
            )
            return
        if sd.abstract:
            yield Issue(
                "fatal",
                "structure",
                location or rtype,
                f"'{rtype}' is abstract: it cannot be instantiated",
            )
            return
        root_resource = container if container is not None else data
        here = location or rtype
        yield Occurrence(sd, sd.root, None, data, None, here, data, root_resource)
        yield from self._members(sd, sd.root, None, data, here, data, root_resource, depth)

    # -- complex values -------------------------------------------------------------------

    def _members(
        self,
        sd: StructureDefinition,
        element: ElementDefinition,
        type_code: str | None,
        data: dict[str, Any],
        location: str,
        resource: dict[str, Any],
        root_resource: dict[str, Any],
        depth: int,
    ) -> Iterator[Issue | Occurrence]:
        if depth > MAX_DEPTH:
            yield Issue(
                "error",
                "structure",
                location,
                f"Content nested deeper than {MAX_DEPTH} levels was not checked",
            )
            return
        props = self._properties(sd, element, type_code)
        if props is None:
            return  # the type is not loaded: nothing can be said about its content
        is_root = element.parent_path is None and sd.kind == "resource" and type_code is None
        seen: dict[str, list[_Child]] = {}
        for key in data:
            if is_root and key == "resourceType":
                continue
            name = key[1:] if key.startswith("_") else key
            child = props.get(name)
            if child is None or (key.startswith("_") and not self.is_primitive(child.type_code)):
                yield Issue(
                    "error", "structure", f"{location}.{key}", f"Unrecognized property '{key}'"
                )
                continue
            group = seen.setdefault(child.element.name, [])
            if child not in group:
                group.append(child)
        for variants in seen.values():
            if len(variants) > 1:
                names = ", ".join(sorted(v.json_name for v in variants))
                yield Issue(
                    "error",
                    "structure",
                    f"{location}.{variants[0].element.name.removesuffix('[x]')}",
                    f"Only one of the choices may be present, found {names}",
                )
            for child in variants:
                yield from self._child(child, data, location, resource, root_resource, depth)
        yield from self._missing(props, seen, location)

    def _missing(
        self, props: dict[str, _Child], seen: dict[str, list[_Child]], location: str
    ) -> Iterator[Issue]:
        reported: set[str] = set()
        for child in props.values():
            el = child.element
            if el.cardinality.min > 0 and el.name not in seen and el.name not in reported:
                reported.add(el.name)
                yield Issue(
                    "error",
                    "required",
                    location,
                    f"Missing required element '{el.name}': minimum cardinality is "
                    f"{el.cardinality.min}, found 0",
                )

    def _child(
        self,
        child: _Child,
        data: dict[str, Any],
        location: str,
        resource: dict[str, Any],
        root_resource: dict[str, Any],
        depth: int,
    ) -> Iterator[Issue | Occurrence]:
        el = child.element
        primitive = self.is_primitive(child.type_code)
        base = f"{location}.{el.name.removesuffix('[x]')}"
        if el.is_choice and child.type_code:
            base = f"{base}.ofType({child.type_code})"

        lists = yield from self._as_list(el, data, base, primitive, child.json_name)
        if lists is None:
            return
        values, extensions = lists
        count = max(len(values), len(extensions))
        if el.cardinality.max is not None and count > el.cardinality.max:
            yield Issue(
                "error",
                "structure",
                base,
                f"Too many occurrences of '{el.name}': maximum cardinality is "
                f"{el.cardinality.max_text}, found {count}",
            )
        for index in range(count):
            item = values[index] if index < len(values) else None
            item_ext = extensions[index] if index < len(extensions) else None
            where = f"{base}[{index}]" if el.repeats else base
            yield from self._item(child, item, item_ext, where, resource, root_resource, depth)

    def _as_list(
        self,
        el: ElementDefinition,
        data: dict[str, Any],
        base: str,
        primitive: bool,
        json_name: str,
    ) -> Generator[Issue, None, tuple[list[Any], list[Any]] | None]:
        """Normalise a property and its ``_`` companion to lists, reporting shape errors.

        Returns ``(values, extensions)``, or ``None`` when the shape is too broken to go on.
        """
        names = (json_name, "_" + json_name) if primitive else (json_name,)
        lists: list[list[Any]] = []
        for name in names:
            items: list[Any] = []
            lists.append(items)
            if name not in data:
                continue
            raw = data[name]
            if raw is None:
                yield Issue(
                    "error", "structure", base, f"'{name}' is null: omit the property instead"
                )
            elif isinstance(raw, list):
                if not el.repeats:
                    yield Issue(
                        "error",
                        "structure",
                        base,
                        f"'{name}' must be a single value, not an array "
                        f"(maximum cardinality {el.cardinality.max_text})",
                    )
                if not raw:
                    yield Issue("error", "structure", base, f"'{name}' is an empty array")
                items.extend(raw)
            else:
                if el.repeats:
                    yield Issue(
                        "error",
                        "structure",
                        base,
                        f"'{name}' must be an array "
                        f"(maximum cardinality {el.cardinality.max_text})",
                    )
                items.append(raw)
        values, extensions = lists[0], (lists[1] if primitive else [])
        if values and extensions and len(values) != len(extensions):
            yield Issue(
                "error",
                "structure",
                base,
                f"'{json_name}' and '_{json_name}' must have the same number of items "
                f"({len(values)} and {len(extensions)})",
            )
            return None
        return values, extensions

    def _item(
        self,
        child: _Child,
        item: Any,
        item_ext: Any,
        where: str,
        resource: dict[str, Any],
        root_resource: dict[str, Any],
        depth: int,
    ) -> Iterator[Issue | Occurrence]:
        sd, el, code = child.sd, child.element, child.type_code
        if self._is_resource_type(code) and not _has_inline_children(sd, el):
            nested_root = root_resource if el.name == "contained" else None
            yield from self._resource(item, where, nested_root, depth + 1)
            return
        if self.is_primitive(code):
            yield from self._primitive(child, item, item_ext, where, resource, root_resource, depth)
            return
        if not isinstance(item, dict):
            kind = "null" if item is None else _json_kind(item)
            yield Issue(
                "error",
                "structure",
                where,
                f"'{child.json_name}' must be a JSON object ({code or 'BackboneElement'}), "
                f"found {kind}",
            )
            return
        yield Occurrence(sd, el, code, item, None, where, resource, root_resource)
        yield from self._members(sd, el, code, item, where, resource, root_resource, depth + 1)

    def _primitive(
        self,
        child: _Child,
        item: Any,
        item_ext: Any,
        where: str,
        resource: dict[str, Any],
        root_resource: dict[str, Any],
        depth: int,
    ) -> Iterator[Issue | Occurrence]:
        if item is None and item_ext is None:
            yield Issue("error", "structure", where, f"'{child.json_name}' is null")
            return
        if isinstance(item, dict | list):
            yield Issue(
                "error",
                "structure",
                where,
                f"'{child.json_name}' must be a primitive {child.type_code} value, "
                f"found {_json_kind(item)}",
            )
            return
        if item_ext is not None and not isinstance(item_ext, dict):
            yield Issue(
                "error",
                "structure",
                where,
                f"'_{child.json_name}' must be a JSON object, found {_json_kind(item_ext)}",
            )
            item_ext = None
        yield Occurrence(
            child.sd, child.element, child.type_code, item, item_ext, where, resource, root_resource
        )
        if item_ext is not None:
            type_sd = self._defs.get(child.type_code or "")
            if type_sd is not None:
                yield from self._members(
                    type_sd,
                    type_sd.root,
                    child.type_code,
                    item_ext,
                    where,
                    resource,
                    root_resource,
                    depth + 1,
                )

    # -- the model, as JSON property names -----------------------------------------------

    def _properties(
        self, sd: StructureDefinition, element: ElementDefinition, type_code: str | None
    ) -> dict[str, _Child] | None:
        """JSON property name → child, for the content of one occurrence; None when unknown."""
        cache_key = (sd.name, element.path, type_code)
        if cache_key in self._props:
            return self._props[cache_key]
        props: dict[str, _Child] | None
        if type_code is not None and not _has_inline_children(sd, element):
            # The content is the type's: unknown (nothing to say) when it is not loaded.
            type_sd = self._defs.get(type_code)
            children = {} if type_sd is None else self._defs.children_of(type_sd, type_sd.root)
            complete = type_sd is not None and self._defs.is_complete_lineage(type_code)
        else:
            children = self._defs.children_of(sd, element)
            complete = self._defs.is_complete_lineage(sd.name)
        if not complete:
            props = None
        else:
            props = {}
            primitive_value = self.is_primitive(type_code)
            for name, (child_sd, child_el) in children.items():
                if primitive_value and name == "value":
                    continue  # a primitive's value is the JSON value itself
                if child_el.is_choice:
                    stem = name.removesuffix("[x]")
                    for t in child_el.types:
                        json_name = stem + t.code[:1].upper() + t.code[1:]
                        props[json_name] = _Child(child_sd, child_el, t.code, json_name)
                else:
                    code = child_el.types[0].code if len(child_el.types) == 1 else None
                    if code in ("BackboneElement", "Element") and child_sd.children(child_el):
                        code = None
                    props[name] = _Child(child_sd, child_el, code, name)
        self._props[cache_key] = props
        return props

    def _is_resource_type(self, code: str | None) -> bool:
        if code is None:
            return False
        if code in _RESOURCE_TYPE_CODES:
            return True
        sd = self._defs.get(code)
        return sd is not None and sd.kind == "resource"


def _has_inline_children(sd: StructureDefinition, element: ElementDefinition) -> bool:
    return bool(sd.children(element)) or element.content_reference is not None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
