"""The structure-definition model → resource-definition markdown (the loader's inverse).

:func:`to_markdown` writes the format that :mod:`engine.definitions.markdown` reads, so that loading
the text gives back an equal model (sources aside), and a file the loader read is written
back byte for byte when it follows the writer's conventions, as the seed does:

- front matter keys in the order ``type``, ``title``, ``resource``, ``kind``, ``base``,
  ``abstract``, ``generated-by``, strings double-quoted; ``kind`` is left out when it is
  ``resource``, ``base`` when it is the default ``DomainResource`` of a resource,
  ``abstract`` when false; a type without a base says ``base: "none"``;
- section fields in the order of :data:`engine.definitions.markdown.FIELDS`, empty ones left out;
- plain types as ``[code](/code)`` (``[System.String](http://…/System.String)`` for a URL
  code), profiled types as ``Quantity([SimpleQuantity](/SimpleQuantity))`` and references
  as ``Reference([Patient](/Patient), …)``; a core canonical URL
  ``http://hl7.org/fhir/StructureDefinition/X`` as ``[X](/X)``, any other URL as
  ``[last-segment](url)``;
- no newline after the last line.

A model the format cannot express (a text line that would read as a field or a section
heading, a human text whose `` | `` makes the constraint ambiguous, …) raises
``ValueError`` naming the element and field rather than writing text that would load
differently.

    >>> from engine.definitions.markdown import load_markdown
    >>> sd = load_markdown("definitions/ImagingSelection.md")["ImagingSelection"]
    >>> to_markdown(sd) == open("definitions/ImagingSelection.md").read()
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from engine.definitions.fields import (
    parse_aliases,
    parse_binding,
    parse_conditions,
    parse_constraints,
    parse_mappings,
    parse_types,
)
from engine.definitions.markdown import DEFINITIONS_TYPE, FIELDS, NO_BASE, is_structural_line
from engine.model import (
    REFERENCE_TYPES,
    STRUCTURE_DEFINITION_BASE,
    DefinitionError,
    ElementDefinition,
    Source,
    StructureDefinition,
    TypeRef,
)

__all__ = ["to_markdown"]

_CODE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NOWHERE = Source("<to_markdown>", 1)


def to_markdown(sd: StructureDefinition) -> str:
    """The definitions-file text for ``sd``; see the module docstring for the conventions."""
    title = sd.title or f"{sd.name} Definitions"
    lines = ["---", *_front_matter(sd, title), "---", f"# {title}"]
    for element in sd.elements:
        lines.extend(_section(element))
    return "\n".join(lines)


def _front_matter(sd: StructureDefinition, title: str) -> list[str]:
    lines = [
        f"type: {_quote(DEFINITIONS_TYPE)}",
        f"title: {_quote(title)}",
        f"resource: {_quote(sd.name)}",
    ]
    if sd.kind != "resource":
        lines.append(f"kind: {_quote(sd.kind)}")
    if sd.kind != "resource" or sd.base != "DomainResource":
        lines.append(f"base: {_quote(sd.base or NO_BASE)}")
    if sd.abstract:
        lines.append("abstract: true")
    for key, value in sd.front_matter.items():
        if key != "generated-by" or not isinstance(value, str):
            raise ValueError(
                f"{sd.name}: front matter {key}={value!r} cannot be written (only a "
                "'generated-by' string is kept besides the modelled keys)"
            )
        lines.append(f"generated-by: {_quote(value)}")
    return lines


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's; YAML rejects raw controls)."""
    return json.dumps(text, ensure_ascii=not text.isprintable())


def _section(element: ElementDefinition) -> list[str]:
    path = element.path
    lines = [f"## {path}"]
    if element.short:
        if "\n" in element.short or not element.short.strip():
            raise ValueError(f"{path}: the short description must be one non-blank line")
        _check_line(path, "short description", element.short)
        lines.append(element.short)
    values = _field_values(element)
    for name in FIELDS:
        value = values.get(name)
        if value is None:
            continue
        first, *rest = value.split("\n")
        for line in rest:
            _check_line(path, name, line)
        lines.append(f"**{name}:** {first}")
        lines.extend(rest)
    if lines[-1] == "":
        raise ValueError(f"{path}: the last field of a section cannot end with a newline")
    return lines


def _check_line(path: str, field: str, line: str) -> None:
    if is_structural_line(line):
        raise ValueError(
            f"{path}: a line of {field} would read as a section heading or a field: {line!r}"
        )


def _field_values(element: ElementDefinition) -> dict[str, str]:
    path = element.path
    values = {
        "Definition": element.definition,
        "Comments": element.comments,
        "Requirements": element.requirements,
        "Cardinality": str(element.cardinality),
    }
    if element.regex is not None:
        if "\n" in element.regex:
            raise ValueError(f"{path}: a regex must be one line")
        values["Regex"] = element.regex
    if element.min_value is not None:
        values["Min Value"] = str(element.min_value)
    if element.max_value is not None:
        values["Max Value"] = str(element.max_value)
    if element.aliases:
        values["Aliases"] = _checked(
            path, "Aliases", ", ".join(element.aliases), parse_aliases, element.aliases
        )
    if element.conditions:
        values["Conditions"] = _checked(
            path,
            "Conditions",
            ", ".join(element.conditions),
            parse_conditions,
            element.conditions,
        )
    if element.content_reference is not None:
        if element.types:
            raise ValueError(f"{path}: an element with a content reference has no types")
        reference = element.content_reference
        values["Type"] = f"See [{reference}](#{reference})"
    elif element.types:
        values["Type"] = _checked(
            path,
            "Type",
            ", ".join(_type_text(path, t) for t in element.types),
            parse_types,
            element.types,
        )
    if element.binding is not None:
        binding = element.binding
        values["Binding"] = _checked(
            path,
            "Binding",
            f"{binding.strength}:[{binding.value_set_name}]({binding.link})",
            parse_binding,
            binding,
        )
    if element.is_summary is not None:
        values["Summary"] = "true" if element.is_summary else "false"
    values.update(_modifier(element))
    if element.constraints:
        values["Constraints"] = _constraints(element)
    if element.mappings:
        values["Mappings"] = _checked(
            path,
            "Mappings",
            "; ".join(f"{m.identity}={m.map}" for m in element.mappings),
            parse_mappings,
            element.mappings,
        )
    return {name: value for name, value in values.items() if value}


def _modifier(element: ElementDefinition) -> dict[str, str]:
    reason = element.is_modifier_reason
    if element.is_modifier is None or element.is_modifier is False:
        if reason:
            raise ValueError(f"{element.path}: a modifier reason needs is_modifier True")
        return {} if element.is_modifier is None else {"Is Modifier": "false"}
    return {"Is Modifier": f"true (Reason: {reason})" if reason else "true"}


def _constraints(element: ElementDefinition) -> str:
    path = element.path
    for constraint in element.constraints:
        if constraint.context != path:
            raise ValueError(
                f"{path}: constraint {constraint.key} has context {constraint.context!r}; "
                "a section can only hold constraints on its own element"
            )
    text = "; ".join(
        f"{c.key} | {c.severity} | {c.human} | {c.expression}" for c in element.constraints
    )
    expected = [(c.key, c.severity, c.human, c.expression) for c in element.constraints]
    try:
        read = [
            (c.key, c.severity, c.human, c.expression)
            for c in parse_constraints(text, path, _NOWHERE)
        ]
    except DefinitionError as error:
        raise ValueError(f"{path}: Constraints cannot be written: {error.message}") from None
    if read != expected:
        pairs = zip(expected, read, strict=False)
        wrong = next((want for want, got in pairs if want != got), expected[-1])
        raise ValueError(
            f"{path}: constraint {wrong[0]} would read back differently (a ' | ' or '; ' in "
            "its human text is ambiguous)"
        )
    return text


def _type_text(path: str, type_ref: TypeRef) -> str:
    code = type_ref.code
    if type_ref.target_profiles or type_ref.profiles:
        if type_ref.target_profiles and type_ref.profiles:
            raise ValueError(f"{path}: type {code} has both profiles and target profiles")
        if not _CODE_NAME.fullmatch(code):
            raise ValueError(f"{path}: type {code} with profiles must have a plain code")
        links = type_ref.target_profiles or type_ref.profiles
        if bool(type_ref.target_profiles) != (code in REFERENCE_TYPES):
            kind = "target profiles" if type_ref.target_profiles else "profiles"
            raise ValueError(f"{path}: type {code} cannot have {kind} in this format")
        return f"{code}({', '.join(_link(url) for url in links)})"
    if "/" in code:
        return f"[{_last_segment(code)}]({code})"
    return f"[{code}](/{code})"


def _link(url: str) -> str:
    name = url[len(STRUCTURE_DEFINITION_BASE) :]
    if url.startswith(STRUCTURE_DEFINITION_BASE) and name and "/" not in name:
        return f"[{name}](/{name})"
    return f"[{_last_segment(url)}]({url})"


def _last_segment(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _checked(
    path: str, field: str, text: str, parse: Callable[[str, Source], Any], expected: Any
) -> str:
    """``text``, once the loader's parser gives ``expected`` back from it."""
    try:
        read = parse(text, _NOWHERE)
    except DefinitionError as error:
        raise ValueError(f"{path}: {field} cannot be written: {error.message}") from None
    if read != expected:
        raise ValueError(f"{path}: {field} {text!r} would read back as {read!r}")
    return text
