"""The structure-definition model → a FHIR R5 StructureDefinition resource (JSON-ready dict).

What a definitions file says becomes the StructureDefinition's ``differential``, so other
FHIR tools (the HL7 validator, snapshot generators, IG publishers) can take it:

- one element per section, ``id`` and ``path`` the section path, properties in
  ElementDefinition's order: ``short``, ``definition``, ``comment``, ``requirements``,
  ``alias``, ``min``/``max``, ``contentReference`` (``#Path``), ``type`` (``code``,
  ``profile``, ``targetProfile``, and for a primitive's value the
  ``http://hl7.org/fhir/StructureDefinition/regex`` extension), ``condition``,
  ``constraint`` (``source`` the definition's URL), ``isModifier``/``isModifierReason``,
  ``isSummary``, ``binding`` and ``mapping``;
- the resource: ``url``, ``name``, ``title``, ``status`` ``draft``, ``fhirVersion``
  ``5.0.0``, a ``mapping`` declaration per mapping identity used, ``kind``, ``abstract``,
  ``type``, and with a base type ``baseDefinition`` and ``derivation`` ``specialization``.

    >>> import engine
    >>> sd = engine.load_definitions("definitions")["ImagingSelection"]
    >>> fhir = structure_definition_to_fhir(sd)
    >>> fhir["baseDefinition"], fhir["differential"]["element"][6]["type"][0]["code"]
    ('http://hl7.org/fhir/StructureDefinition/DomainResource', 'Reference')
"""

from __future__ import annotations

from typing import Any

from engine.model.structure import (
    STRUCTURE_DEFINITION_BASE,
    Constraint,
    ElementDefinition,
    StructureDefinition,
    TypeRef,
)

__all__ = ["FHIR_VERSION", "REGEX_EXTENSION", "structure_definition_to_fhir"]

FHIR_VERSION = "5.0.0"
REGEX_EXTENSION = "http://hl7.org/fhir/StructureDefinition/regex"


def structure_definition_to_fhir(sd: StructureDefinition) -> dict[str, Any]:
    """``sd`` as a FHIR StructureDefinition resource; see the module docstring."""
    resource: dict[str, Any] = {
        "resourceType": "StructureDefinition",
        "id": sd.name,
        "url": sd.url,
        "name": sd.name,
    }
    if sd.title:
        resource["title"] = sd.title
    resource["status"] = "draft"
    resource["fhirVersion"] = FHIR_VERSION
    identities = dict.fromkeys(m.identity for e in sd.elements for m in e.mappings)
    if identities:
        resource["mapping"] = [{"identity": identity} for identity in identities]
    resource["kind"] = sd.kind
    resource["abstract"] = sd.abstract
    resource["type"] = sd.name
    if sd.base is not None:
        resource["baseDefinition"] = STRUCTURE_DEFINITION_BASE + sd.base
        resource["derivation"] = "specialization"
    resource["differential"] = {"element": [_element(e, sd.url) for e in sd.elements]}
    return resource


def _element(element: ElementDefinition, url: str) -> dict[str, Any]:
    result: dict[str, Any] = {"id": element.path, "path": element.path}
    _put(result, "short", element.short)
    _put(result, "definition", element.definition)
    _put(result, "comment", element.comments)
    _put(result, "requirements", element.requirements)
    _put(result, "alias", list(element.aliases))
    result["min"] = element.cardinality.min
    result["max"] = element.cardinality.max_text
    if element.content_reference is not None:
        result["contentReference"] = "#" + element.content_reference
    _put(result, "type", [_type(t, element.regex) for t in element.types])
    for prefix, bound in (("minValue", element.min_value), ("maxValue", element.max_value)):
        if bound is None:
            continue
        if -(2**31) <= bound < 2**31:
            result[prefix + "Integer"] = bound
        else:  # only an integer64 holds it, and FHIR JSON writes integer64 as a string
            result[prefix + "Integer64"] = str(bound)
    _put(result, "condition", list(element.conditions))
    _put(result, "constraint", [_constraint(c, url) for c in element.constraints])
    if element.is_modifier is not None:
        result["isModifier"] = element.is_modifier
    _put(result, "isModifierReason", element.is_modifier_reason)
    if element.is_summary is not None:
        result["isSummary"] = element.is_summary
    if element.binding is not None:
        result["binding"] = {
            "strength": element.binding.strength,
            "valueSet": element.binding.value_set,
        }
    _put(result, "mapping", [{"identity": m.identity, "map": m.map} for m in element.mappings])
    return result


def _type(type_ref: TypeRef, regex: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if regex is not None:
        result["extension"] = [{"url": REGEX_EXTENSION, "valueString": regex}]
    result["code"] = type_ref.code
    _put(result, "profile", list(type_ref.profiles))
    _put(result, "targetProfile", list(type_ref.target_profiles))
    return result


def _constraint(constraint: Constraint, url: str) -> dict[str, Any]:
    return {
        "key": constraint.key,
        "severity": constraint.severity,
        "human": constraint.human,
        "expression": constraint.expression,
        "source": url,
    }


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` unless ``value`` is empty: FHIR JSON has no empty strings or arrays."""
    if value:
        target[key] = value
