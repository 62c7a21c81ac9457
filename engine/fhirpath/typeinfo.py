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

from typing import Any

from engine.model import Definitions, ElementDefinition, StructureDefinition

__all__ = ["fhirpathpy_model"]

_SYSTEM = "http://hl7.org/fhirpath/System."


def fhirpathpy_model(definitions: Definitions) -> dict[str, Any]:
    """The four fhirpathpy model tables for every type in ``definitions``."""
    choices: dict[str, list[str]] = {}
    path_types: dict[str, str] = {}
    parents: dict[str, str] = {}
    elsewhere: dict[str, str] = {}
    for name in definitions:
        sd = definitions[name]
        if sd.base is not None:
            parents[sd.name] = sd.base
        for element in sd.elements:
            if element.parent_path is not None and not sd.children(element):
                continue
            for child_name, (owner, child) in definitions.children_of(sd, element).items():
                path = f"{element.path}.{child_name.removesuffix('[x]')}"
                _describe(owner, child, path, choices, path_types, elsewhere)
    return {
        "choiceTypePaths": choices,
        "path2Type": path_types,
        "type2Parent": parents,
        "pathsDefinedElsewhere": elsewhere,
    }


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
