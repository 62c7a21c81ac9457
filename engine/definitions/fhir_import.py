"""FHIR StructureDefinition JSON → the structure-definition model (the inverse of ``to_fhir()``).

Reads what a type *itself* defines, from the ``differential``: inherited elements and
constraints live in the base types' own definitions, so nothing is duplicated (the R5
snapshot of MetadataResource, for one, re-labels CanonicalResource's ``cnl-1`` as its own).
Where a differential element omits ``min`` or ``max`` (R5 ``xhtml.extension`` has only
``max``), the snapshot supplies it.

Conventions, chosen to match how the seed definitions read:

- ``isModifier: false`` is the FHIR default and is not carried (``is_modifier`` stays
  ``None``); ``isSummary`` is carried as given, ``true`` or ``false``.
- A binding's value set loses its ``|version`` suffix; a binding without a value set (FHIR
  allows a bare ``example`` strength with a description) cannot be expressed in the
  definitions format and is left out.
- The regex extension on a primitive's ``value`` type becomes ``ElementDefinition.regex``;
  integer ``minValue[x]``/``maxValue[x]`` (the 32-bit and 64-bit ranges of ``integer`` and
  ``integer64``) become ``min_value``/``max_value``.
- JSON carries no line numbers: every :class:`~engine.model.Source` points at line 1 of
  ``source_file``.

Example, with the official R5 definition of ``id`` (a copy is in the project's tests)::

    >>> import json
    >>> path = "tests/fixtures/r5/structuredefinitions/StructureDefinition-id.json"
    >>> with open(path, encoding="utf-8") as file:
    ...     sd_json = json.load(file)
    >>> sd = structure_definition_from_fhir(sd_json, "StructureDefinition-id.json")
    >>> sd.name, sd.base, sd.kind
    ('id', 'string', 'primitive-type')
    >>> sd.element("id.value").regex
    '[A-Za-z0-9\\\\-\\\\.]{1,64}'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast, get_args

from engine.model import (
    STRUCTURE_DEFINITION_BASE,
    VALUE_SET_BASE,
    Binding,
    BindingStrength,
    Cardinality,
    Constraint,
    DefinitionError,
    ElementDefinition,
    Kind,
    Mapping_,
    Severity,
    Source,
    StructureDefinition,
    TypeRef,
)

REGEX_EXTENSION = "http://hl7.org/fhir/StructureDefinition/regex"
FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
SYSTEM_TYPE_PREFIX = "http://hl7.org/fhirpath/System."

_KINDS = frozenset(get_args(Kind))
_SEVERITIES = frozenset(get_args(Severity))
_STRENGTHS = frozenset(get_args(BindingStrength))


def structure_definition_from_fhir(
    sd_json: Mapping[str, Any], source_file: str
) -> StructureDefinition:
    """Convert a FHIR StructureDefinition resource (parsed JSON) into the model.

    Accepts type definitions: ``derivation`` ``specialization``, or none at all (``Base``
    and logical models). Profiles (``derivation: constraint``) restrict another type rather
    than define one and are rejected. Malformed input raises
    :class:`~engine.model.DefinitionError` naming ``source_file`` and the element at fault.
    """
    source = Source(source_file, 1)
    if sd_json.get("resourceType") != "StructureDefinition":
        raise DefinitionError("not a StructureDefinition resource", source)
    name = _text(sd_json, "type", source) if "type" in sd_json else _text(sd_json, "name", source)
    if sd_json.get("derivation") == "constraint":
        raise DefinitionError(
            f"{name}: profiles (derivation 'constraint') are not type definitions", source
        )
    kind = sd_json.get("kind")
    if kind not in _KINDS:
        raise DefinitionError(f"{name}: unknown kind {kind!r}", source)
    differential = _element_list(sd_json, "differential", name, source)
    if not differential:
        raise DefinitionError(f"{name}: the differential has no elements", source)
    snapshot = {
        e.get("path"): e
        for e in _element_list(sd_json, "snapshot", name, source, required=False)
        if isinstance(e, Mapping)
    }
    elements = tuple(_element(raw, snapshot.get(raw.get("path")), source) for raw in differential)
    if elements[0].path != name:
        raise DefinitionError(
            f"{name}: the first differential element is {elements[0].path!r}, not the root",
            source,
        )
    return StructureDefinition(
        name=name,
        kind=cast(Kind, kind),
        base=_base_name(sd_json.get("baseDefinition"), name, source),
        elements=elements,
        source=source,
        title=f"{name} Definitions",
        abstract=bool(sd_json.get("abstract", False)),
    )


def _element_list(
    sd_json: Mapping[str, Any],
    key: str,
    name: str,
    source: Source,
    *,
    required: bool = True,
) -> list[Any]:
    container = sd_json.get(key)
    if container is None and not required:
        return []
    elements = container.get("element") if isinstance(container, Mapping) else None
    if not isinstance(elements, list):
        raise DefinitionError(f"{name}: {key}.element is missing or not a list", source)
    return elements


def _base_name(base_url: Any, name: str, source: Source) -> str | None:
    if base_url is None:
        return None
    if not isinstance(base_url, str) or not base_url.startswith(STRUCTURE_DEFINITION_BASE):
        raise DefinitionError(f"{name}: unsupported baseDefinition {base_url!r}", source)
    return base_url[len(STRUCTURE_DEFINITION_BASE) :]


def _element(raw: Any, snapshot: Mapping[str, Any] | None, source: Source) -> ElementDefinition:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("path"), str):
        raise DefinitionError(f"differential element without a path: {raw!r:.80}", source)
    path: str = raw["path"]
    is_modifier = raw.get("isModifier") is True
    return ElementDefinition(
        path=path,
        short=_optional_text(raw, "short", path, source),
        cardinality=_cardinality(raw, snapshot, path, source),
        source=source,
        definition=_optional_text(raw, "definition", path, source),
        comments=_optional_text(raw, "comment", path, source),
        requirements=_optional_text(raw, "requirements", path, source),
        aliases=_text_list(raw, "alias", path, source),
        conditions=_text_list(raw, "condition", path, source),
        types=tuple(_type_ref(t, path, source) for t in _list(raw, "type", path, source)),
        binding=_binding(raw.get("binding"), path, source),
        is_summary=_optional_bool(raw, "isSummary", path, source),
        is_modifier=True if is_modifier else None,
        is_modifier_reason=(
            _optional_text(raw, "isModifierReason", path, source) if is_modifier else ""
        ),
        constraints=tuple(
            _constraint(c, path, source) for c in _list(raw, "constraint", path, source)
        ),
        mappings=tuple(_mapping(m, path, source) for m in _list(raw, "mapping", path, source)),
        content_reference=_content_reference(raw.get("contentReference"), path, source),
        regex=_regex(raw, path, source),
        min_value=_integer_bound(raw, "minValue", path, source),
        max_value=_integer_bound(raw, "maxValue", path, source),
    )


def _cardinality(
    raw: Mapping[str, Any], snapshot: Mapping[str, Any] | None, path: str, source: Source
) -> Cardinality:
    fallback = snapshot or {}
    low = raw.get("min", fallback.get("min"))
    high = raw.get("max", fallback.get("max"))
    if not isinstance(low, int) or isinstance(low, bool) or low < 0:
        raise DefinitionError(f"{path}: missing or invalid min {low!r}", source)
    if high == "*":
        return Cardinality(low, None)
    if not isinstance(high, str) or not high.isdigit():
        raise DefinitionError(f"{path}: missing or invalid max {high!r}", source)
    if int(high) < low:
        raise DefinitionError(f"{path}: max {high} is below min {low}", source)
    return Cardinality(low, int(high))


def _type_ref(raw: Any, path: str, source: Source) -> TypeRef:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("code"), str):
        raise DefinitionError(f"{path}: a type without a code", source)
    return TypeRef(
        code=fhir_type_code(raw, path),
        target_profiles=_text_list(raw, "targetProfile", path, source),
        profiles=_text_list(raw, "profile", path, source),
    )


def fhir_type_code(raw_type: Mapping[str, Any], path: str) -> str:
    """The FHIR type of an element type: its code, or, for ``Resource.id``, ``Element.id``
    and ``Extension.url`` (coded as FHIRPath system types), the FHIR type their
    ``structuredefinition-fhir-type`` extension names (``id``, ``string``, ``uri``), as the
    specification's own pages show them. A primitive's ``value`` keeps its system type:
    it is the value itself.
    """
    code: str = raw_type["code"]
    if not code.startswith(SYSTEM_TYPE_PREFIX) or path.endswith(".value"):
        return code
    for extension in raw_type.get("extension", []):
        if isinstance(extension, Mapping) and extension.get("url") == FHIR_TYPE_EXTENSION:
            value = extension.get("valueUrl") or extension.get("valueUri")
            if isinstance(value, str) and value:
                return value
    return code


def _binding(raw: Any, path: str, source: Source) -> Binding | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or raw.get("strength") not in _STRENGTHS:
        raise DefinitionError(f"{path}: binding without a valid strength", source)
    value_set = raw.get("valueSet")
    if value_set is None:
        return None
    if not isinstance(value_set, str) or not value_set:
        raise DefinitionError(f"{path}: binding valueSet is not a URL: {value_set!r}", source)
    url = value_set.split("|", 1)[0]
    name = url.rstrip("/").rsplit("/", 1)[-1]
    local = url[len(VALUE_SET_BASE) :] if url.startswith(VALUE_SET_BASE) else None
    link = f"/valueset-{local}" if local and "/" not in local else url
    return Binding(strength=raw["strength"], value_set_name=name, link=link)


def _constraint(raw: Any, path: str, source: Source) -> Constraint:
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{path}: a constraint is not an object", source)
    key = _text(raw, "key", source, where=path)
    severity = raw.get("severity")
    if severity not in _SEVERITIES:
        raise DefinitionError(f"{path}: constraint {key}: unknown severity {severity!r}", source)
    return Constraint(
        key=key,
        severity=cast(Severity, severity),
        human=_text(raw, "human", source, where=f"{path}: constraint {key}"),
        expression=_text(raw, "expression", source, where=f"{path}: constraint {key}"),
        context=path,
        source=source,
    )


def _mapping(raw: Any, path: str, source: Source) -> Mapping_:
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{path}: a mapping is not an object", source)
    return Mapping_(
        identity=_text(raw, "identity", source, where=path),
        map=_text(raw, "map", source, where=path),
    )


def _content_reference(raw: Any, path: str, source: Source) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.startswith("#"):
        raise DefinitionError(
            f"{path}: only local contentReference ('#Path') is supported, got {raw!r}", source
        )
    return raw[1:]


def _regex(raw: Mapping[str, Any], path: str, source: Source) -> str | None:
    found = [
        ext.get("valueString")
        for t in _list(raw, "type", path, source)
        if isinstance(t, Mapping)
        for ext in _list(t, "extension", path, source)
        if isinstance(ext, Mapping) and ext.get("url") == REGEX_EXTENSION
    ]
    if not found:
        return None
    if len(set(found)) > 1 or not isinstance(found[0], str):
        raise DefinitionError(f"{path}: conflicting or invalid regex extensions", source)
    return found[0]


#: The integer forms of ``minValue[x]``/``maxValue[x]`` (integer64 is a JSON string); the
#: other forms (decimal, date, Quantity…) appear only in profiles and are not imported.
_INTEGER_BOUNDS = ("Integer", "Integer64", "PositiveInt", "UnsignedInt")


def _integer_bound(raw: Mapping[str, Any], prefix: str, path: str, source: Source) -> int | None:
    for suffix in _INTEGER_BOUNDS:
        value = raw.get(prefix + suffix)
        if value is None:
            continue
        if isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]+", value):
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise DefinitionError(f"{path}: invalid {prefix}{suffix} {value!r}", source)
    return None


def _list(raw: Mapping[str, Any], key: str, path: str, source: Source) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise DefinitionError(f"{path}: {key} is not a list", source)
    return value


def _text_list(raw: Mapping[str, Any], key: str, path: str, source: Source) -> tuple[str, ...]:
    values = _list(raw, key, path, source)
    if not all(isinstance(v, str) for v in values):
        raise DefinitionError(f"{path}: {key} holds a value that is not a string", source)
    return tuple(values)


def _optional_text(raw: Mapping[str, Any], key: str, path: str, source: Source) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise DefinitionError(f"{path}: {key} is not a string", source)
    return value


def _optional_bool(raw: Mapping[str, Any], key: str, path: str, source: Source) -> bool | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, bool):
        raise DefinitionError(f"{path}: {key} is not a boolean", source)
    return value


def _text(raw: Mapping[str, Any], key: str, source: Source, *, where: str = "") -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        prefix = f"{where}: " if where else ""
        raise DefinitionError(f"{prefix}{key} is missing or not a string", source)
    return value
