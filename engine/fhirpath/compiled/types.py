"""Static types: what a member name finds on a type, and which types are which.

A :class:`TypeModel` reads the four tables of a fhirpathpy-format model (built from the
definitions by :func:`engine.fhirpath.typeinfo.fhirpathpy_model`, or fhirpathpy's own R4
and R5 models) and answers, once per (type, name), what the compiler needs: the JSON
properties a member is read from (a choice element's ``valueQuantity``, ``valueString``…,
each with its type; a content reference followed to the element it names), and the type
of what it finds. Types are named as in those tables: a type name (``Quantity``,
``string``, ``Patient``), a backbone element's path (``Patient.contact``), or a system
type (``System.String``).

    >>> from engine.fhirpath.typeinfo import fhirpathpy_model
    >>> model = TypeModel(fhirpathpy_model(defs), defs)
    >>> model.member("Observation", "value").alternatives[0]
    ('valueQuantity', '_valueQuantity', 'Quantity')
    >>> model.is_a("Age", None, "Quantity"), model.is_a("code", None, "string")
    (True, True)
    >>> model.is_a("code", None, "string", exact=True)
    False
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.model import Definitions

__all__ = [
    "SYSTEM_TYPES",
    "ChildProperties",
    "ChildProperty",
    "Member",
    "TypeModel",
    "is_primitive",
]

#: FHIRPath's system types (``System.Boolean``…), by name.
SYSTEM_TYPES = frozenset(
    {"Any", "Boolean", "String", "Integer", "Long", "Decimal", "Date", "DateTime", "Time"}
    | {"Quantity"}
)
_ABSTRACT_RESOURCES = frozenset({"Resource", "DomainResource", "CanonicalResource"})
_QUANTITY = "Quantity"


def is_primitive(type_path: str | None) -> bool:
    """Whether values of this type are JSON primitives (FHIR primitive types are the
    lower-case ones; ``System.*`` types are primitive too). ``None`` (unknown): maybe."""
    if type_path is None:
        return True
    return type_path[:1].islower() or type_path.startswith("System.")


@dataclass(frozen=True, slots=True)
class Member:
    """What a member name finds on one type.

    ``alternatives`` are ``(json name, companion name, type)``: one for an ordinary
    element, one per allowed type for a choice element (the first present is taken).
    ``type`` is the single type of what it finds, ``None`` for a choice element (its
    items carry their type) or an unknown one. ``primitive``: the ``_name`` companion
    (a primitive's id and extensions) may hold items too.
    """

    name: str
    alternatives: tuple[tuple[str, str, str | None], ...]
    type: str | None
    primitive: bool


#: How ``children()`` reads one JSON property (see :class:`ChildProperties`).
ChildProperty = tuple[str | None, str, bool, bool, tuple[tuple[str, str, str | None], ...]]


class ChildProperties(dict[str, ChildProperty]):
    """JSON property → how ``children()`` reads it, for one type (see
    :meth:`TypeModel.child_properties`): ``(name, other, is_companion, is_choice,
    alternatives)``, the property's FHIRPath name (``None`` for ``resourceType``, which
    is no child), the property it is read together with (``_given`` for ``given`` and
    ``given`` for ``_given``), whether it is that ``_`` companion, whether it names one
    type of a choice element, and the :class:`Member` alternatives of its name."""

    def __init__(self, model: TypeModel, type_path: str | None) -> None:
        super().__init__()
        self._model = model
        self._type_path = type_path

    def resolve(self, prop: str) -> ChildProperty:
        is_companion = prop.startswith("_")
        base = prop[1:] if is_companion else prop
        other = base if is_companion else "_" + prop
        if prop == "resourceType":
            found: ChildProperty = (None, other, is_companion, False, ())
        else:
            name = self._model.child_name(self._type_path, prop)
            alternatives = self._model.member(self._type_path, name).alternatives
            found = (name, other, is_companion, name != base, alternatives)
        self[prop] = found
        return found


class TypeModel:
    """The compiler's view of a fhirpathpy-format model (see the module docstring).

    ``definitions``, when given, says which type names exist and which resource types are
    abstract without reading every type; otherwise the model's ``type2Parent`` does.
    Lookups are cached; the caches only grow, with entries computed the same way by any
    thread, so a model is safe to share.
    """

    def __init__(self, tables: Mapping[str, Any], definitions: Definitions | None = None) -> None:
        self._choices: Mapping[str, list[str]] = tables["choiceTypePaths"]
        self._path_types: Mapping[str, str] = tables["path2Type"]
        self._parents: Mapping[str, str] = tables["type2Parent"]
        self._elsewhere: Mapping[str, str] = tables["pathsDefinedElsewhere"]
        self._definitions = definitions
        self._members: dict[tuple[str | None, str], Member] = {}
        self._child_names: dict[tuple[str | None, str], str] = {}
        self._properties_by_type: dict[str | None, ChildProperties] = {}
        self._element_paths: set[str] | None = None
        self._known: set[str] | None = None
        # The definitions' tables fill in lazily, one type at a time, and are not
        # thread-safe: every lookup that reaches them (a cache miss) holds this lock.
        self._lock = threading.RLock()
        self._is_a: dict[tuple[str, str | None, str, bool], bool] = {}

    # -- members

    def member(self, type_path: str | None, name: str) -> Member:
        """What ``name`` finds on items of ``type_path`` (``None``: a type not known)."""
        key = (type_path, name)
        found = self._members.get(key)
        if found is None:
            with self._lock:
                found = self._members[key] = self._member(type_path, name)
        return found

    def _member(self, type_path: str | None, name: str) -> Member:
        if type_path is None:
            return Member(name, ((name, "_" + name, None),), None, True)
        path = f"{type_path}.{name}"
        path = self._elsewhere.get(path, path)
        choices = self._choices.get(path)
        if choices:
            alternatives = tuple(
                (name + suffix, f"_{name}{suffix}", self._path_types.get(path + suffix))
                for suffix in choices
            )
            return Member(name, alternatives, None, True)
        child_type = "Extension" if name == "extension" else self._path_types.get(path, path)
        return Member(name, ((name, "_" + name, child_type),), child_type, is_primitive(child_type))

    def is_declared(self, type_path: str, name: str) -> bool:
        """Whether the model knows ``name`` as an element of ``type_path``."""
        with self._lock:
            return self._is_declared(type_path, name)

    def _is_declared(self, type_path: str, name: str) -> bool:
        path = f"{type_path}.{name}"
        path = self._elsewhere.get(path, path)
        return path in self._path_types or path in self._choices or name == "extension"

    def has_element(self, type_path: str, name: str) -> bool:
        """Whether ``name`` is an element of ``type_path`` in the model (a choice element
        by its name only, ``value``, not ``valueQuantity``). Reads the whole model once:
        for semantic checking, not evaluation."""
        with self._lock:
            if self._element_paths is None:
                paths: set[str] = set()
                for table in (self._path_types, self._choices, self._elsewhere):
                    for key in table:
                        parts = key.split(".")
                        paths.update(".".join(parts[:end]) for end in range(2, len(parts) + 1))
                choice_forms = {
                    path + suffix for path, suffixes in self._choices.items() for suffix in suffixes
                }
                self._element_paths = paths - choice_forms
            path = f"{type_path}.{name}"
            return (
                self._elsewhere.get(path, path) in self._element_paths
                or path in self._element_paths
            )

    def child_name(self, type_path: str | None, prop: str) -> str:
        """The FHIRPath name of a JSON property: ``_given`` → ``given``, and a choice
        element's ``valueQuantity`` → ``value`` when the model knows the choice."""
        key = (type_path, prop)
        found = self._child_names.get(key)
        if found is None:
            with self._lock:
                found = self._child_names[key] = self._child_name(type_path, prop)
        return found

    def child_properties(self, type_path: str | None) -> ChildProperties:
        """How ``children()`` reads the JSON properties of items of ``type_path``: a dict
        filled as properties are met (``found.get(prop) or found.resolve(prop)``)."""
        found = self._properties_by_type.get(type_path)
        if found is None:
            found = self._properties_by_type[type_path] = ChildProperties(self, type_path)
        return found

    def _child_name(self, type_path: str | None, prop: str) -> str:
        name = prop[1:] if prop.startswith("_") else prop
        if type_path is None:
            return name
        for index in range(len(name) - 1, 0, -1):
            if name[index].isupper():
                base = name[:index]
                path = f"{type_path}.{base}"
                if name[index:] in self._choices.get(self._elsewhere.get(path, path), ()):
                    return base
        return name

    # -- the type hierarchy

    def parent(self, type_name: str) -> str | None:
        with self._lock:
            return self._parents.get(type_name)

    def is_abstract_resource(self, type_name: str) -> bool:
        """Resource types whose instances are of more specific types (``Resource``)."""
        with self._lock:
            return self._is_abstract_resource(type_name)

    def _is_abstract_resource(self, type_name: str) -> bool:
        if self._definitions is not None:
            sd = self._definitions.get(type_name) if type_name in self._definitions else None
            if sd is not None:
                return sd.abstract and sd.kind == "resource"
        return type_name in _ABSTRACT_RESOURCES

    def is_resource_type(self, type_name: str) -> bool:
        with self._lock:
            return self._is_resource_type(type_name)

    def _is_resource_type(self, type_name: str) -> bool:
        seen = 0
        current: str | None = type_name
        while current is not None and seen < 16:
            if current == "Resource":
                return True
            current = self._parents.get(current)
            seen += 1
        return False

    def is_quantity(self, type_path: str | None) -> bool:
        """Whether the type is ``Quantity`` or one of its specializations (``Age``…)."""
        return type_path is not None and self.is_a(type_path, "FHIR", _QUANTITY)

    def is_known(self, namespace: str | None, name: str) -> bool:
        """Whether a type specifier names a type (``string``, ``FHIR.Patient``,
        ``System.Integer``, ``Quantity``)."""
        with self._lock:
            return self._is_known(namespace, name)

    def _is_known(self, namespace: str | None, name: str) -> bool:
        if namespace == "System":
            return name in SYSTEM_TYPES
        if self._is_fhir_type(name):
            return True
        return namespace is None and name in SYSTEM_TYPES

    def _is_fhir_type(self, name: str) -> bool:
        if self._definitions is not None and name in self._definitions:
            return True
        if name in ("Base", "Element", "BackboneElement", "Resource", "DataType"):
            return True
        if name in self._parents:
            return True
        if self._known is None:
            # Parents that are no one's child (Resource, Base): a model without
            # definitions is small enough to read in full once.
            self._known = set(self._parents.values()) if self._definitions is None else set()
        return name in self._known

    def is_a(
        self, actual: str | None, namespace: str | None, name: str, *, exact: bool = False
    ) -> bool:
        """Whether items of type ``actual`` are of the type ``namespace.name``.

        Specializations are their base types (``Age`` is a ``Quantity``, ``Patient`` a
        ``DomainResource``, ``code`` a ``string``); with ``exact``, a primitive type is
        only itself (``as`` and ``ofType``: the official suite makes
        ``Patient.gender.is(string)`` true but ``Patient.gender.ofType(string)`` empty). A
        backbone element is a ``BackboneElement``; an unqualified name means a FHIR type or,
        failing that, a system type."""
        if actual is None:
            return False
        key = (actual, namespace, name, exact)
        found = self._is_a.get(key)
        if found is None:
            with self._lock:
                found = self._is_a[key] = self._compute_is_a(actual, namespace, name, exact)
        return found

    def _compute_is_a(self, actual: str, namespace: str | None, name: str, exact: bool) -> bool:
        if actual.startswith("System."):
            return namespace != "FHIR" and actual[7:] == name
        if namespace == "System":
            return False
        current: str | None = "BackboneElement" if "." in actual else actual
        primitive = exact and is_primitive(current)
        seen = 0
        while current is not None and seen < 32:
            if current == name:
                return True
            parent = self._parents.get(current) or (
                self._path_types.get(current) if "." in current else None
            )
            # A primitive's chain skips the primitives it is constrained from.
            while primitive and parent is not None and parent[:1].islower() and seen < 32:
                parent = self._parents.get(parent)
                seen += 1
            current = parent
            seen += 1
        return False
