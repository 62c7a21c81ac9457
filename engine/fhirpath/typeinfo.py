"""A fhirpathpy type model built from the loaded definitions.

fhirpathpy navigates choice elements and answers type tests from a "model" of four
tables (the shape of ``fhirpathpy/models/r5/*.json``); this builds them from
:class:`engine.model.Definitions`, so the definitions alone decide what ``value`` finds
in ``Observation.value`` and what ``is Quantity`` means:

- ``choiceTypePaths``: choice element path → type suffixes
  (``Observation.value`` → ``["Quantity", "CodeableConcept", …]``);
- ``path2Type``: element path → type code (``Observation.status`` → ``code``, and each
  choice form: ``Observation.valueQuantity`` → ``Quantity``); backbone elements are left
  out, so their path stays their type;
- ``type2Parent``: type → base type (``Age`` → ``Quantity``);
- ``pathsDefinedElsewhere``: content references (``Questionnaire.item.item`` →
  ``Questionnaire.item``).

    >>> model = fhirpathpy_model(defs)
    >>> model["path2Type"]["ImagingSelection.instance.uid"]
    'id'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.model import Definitions, ElementDefinition, StructureDefinition

__all__ = ["fhirpathpy_model"]

_SYSTEM = "http://hl7.org/fhirpath/System."


def fhirpathpy_model(definitions: Definitions) -> dict[str, Any]:
    """The four fhirpathpy model tables for ``definitions``.

    The tables fill in one type at a time, the first time fhirpathpy asks about a path
    of that type, so a validator over ~230 lazily loaded types only reads the types its
    resources use.
    """
    tables = _TypeTables(definitions)
    return {
        "choiceTypePaths": _LazyTable(tables, "choices"),
        "path2Type": _LazyTable(tables, "path_types"),
        "type2Parent": _LazyTable(tables, "parents"),
        "pathsDefinedElsewhere": _LazyTable(tables, "elsewhere"),
    }


class _TypeTables:
    """The tables' content, described per type on first use."""

    def __init__(self, definitions: Definitions) -> None:
        self._definitions = definitions
        self._described: set[str] = set()
        self.choices: dict[str, list[str]] = {}
        self.path_types: dict[str, str] = {}
        self.parents: dict[str, str] = {}
        self.elsewhere: dict[str, str] = {}

    def describe_type_of(self, key: str) -> None:
        """Make sure the type a path (or type name) belongs to has been described."""
        type_name = key.split(".", 1)[0]
        if type_name not in self._described:
            self._described.add(type_name)
            if type_name in self._definitions:
                self._describe_type(self._definitions[type_name])

    def describe_all(self) -> None:
        for type_name in self._definitions:
            self.describe_type_of(type_name)

    def _describe_type(self, sd: StructureDefinition) -> None:
        if sd.base is not None:
            self.parents[sd.name] = sd.base
        for element in sd.elements:
            if element.parent_path is not None and not sd.children(element):
                continue
            for child_name, (owner, child) in self._definitions.children_of(sd, element).items():
                path = f"{element.path}.{child_name.removesuffix('[x]')}"
                _describe(owner, child, path, self.choices, self.path_types, self.elsewhere)


class _LazyTable(Mapping[str, Any]):
    """One of the four tables, as fhirpathpy reads it (``get``, ``in``, ``[]``).

    fhirpathpy consults these tables on every member access, so the lookups go straight
    to the table's dict and describe a type only when a key is missing.
    """

    def __init__(self, tables: _TypeTables, name: str) -> None:
        self._tables = tables
        self._table: dict[str, Any] = getattr(tables, name)

    def get(self, key: str, default: Any = None) -> Any:
        table = self._table
        if key not in table:
            self._tables.describe_type_of(key)
        return table.get(key, default)

    def __getitem__(self, key: str) -> Any:
        if key not in self._table:
            self._tables.describe_type_of(key)
        return self._table[key]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key not in self._table:
            self._tables.describe_type_of(key)
        return key in self._table

    def __iter__(self) -> Iterator[str]:
        self._tables.describe_all()
        return iter(self._table)

    def __len__(self) -> int:
        self._tables.describe_all()
        return len(self._table)


def _describe(
    owner: StructureDefinition,
    child: ElementDefinition,
    path: str,
    choices: dict[str, list[str]],
    path_types: dict[str, str],
    elsewhere: dict[str, str],
) -> None:
    if child.content_reference is not None:
        elsewhere[path] = child.content_reference.lstrip("#")
    elif child.is_choice:
        suffixes = [_suffix(code) for code in child.type_codes]
        choices[path] = suffixes
        for code, suffix in zip(child.type_codes, suffixes, strict=True):
            path_types[path + suffix] = _type_name(code)
    elif owner.children(child):
        # A backbone element: its own path is its type.
        return
    elif len(child.types) == 1:
        path_types[path] = _type_name(child.types[0].code)


def _type_name(code: str) -> str:
    """A type code as fhirpathpy names it: FHIRPath system types by their short name
    (``http://hl7.org/fhirpath/System.String`` → ``System.String``), as its own model does."""
    return "System." + code.removeprefix(_SYSTEM) if code.startswith(_SYSTEM) else code


def _suffix(code: str) -> str:
    """The suffix a type gives a choice element's JSON name: ``dateTime`` → ``DateTime``."""
    return code[:1].upper() + code[1:]
