"""Resource-definition markdown → the structure-definition model.

A definitions file looks like ``definitions/ImagingSelection.md``::

    ---
    type: "resource-definitions"
    title: "ImagingSelection Definitions"
    resource: "ImagingSelection"
    ---
    # ImagingSelection Definitions
    ## ImagingSelection
    A selection of DICOM SOP instances
    **Definition:** A selection of DICOM SOP instances within a single Study and Series.
    **Cardinality:** 0..*
    **Constraints:** isl-1 | error | At least one of … | seriesUid.exists() or …
    ## ImagingSelection.identifier
    …

**Front matter** (YAML between ``---`` lines; any other key is an error):

- ``type``: always ``resource-definitions``; ``resource``: the name of the type defined
  (for data types too); ``title``: optional, and equal to the ``# Title`` heading.
- ``kind``: ``resource`` (the default), ``complex-type``, ``primitive-type`` or ``logical``.
- ``base``: the base type's name. It defaults to ``DomainResource`` for a resource and is
  required for other kinds; a type with no base at all (``Base``) says ``base: "none"``.
- ``abstract``: ``true`` or ``false`` (the default).
- ``generated-by``: the command that generated the file; it is kept in
  ``StructureDefinition.front_matter``, which holds exactly the front-matter keys the
  model has no field for.

**Sections**: a ``# Title`` line, then one ``## <path>`` section per element, the root
(the type name) first and every parent before its children. A section's first line is the
element's short description, unless it starts a field (the element has no short). Fields
are ``**<Field>:** <value>`` lines, in any order, each at most once:

===============  ==========================================================================
Definition       free text
Comments         free text
Requirements     free text
Aliases          ``Description, AccessionNumber``
Conditions       constraint keys: ``isl-1, isl-2``
Cardinality      ``0..1``, ``1..*`` (required)
Type             see :func:`engine.definitions.fields.parse_types`; ``See [X.y](#X.y)`` for an
                 element defined by another one (FHIR ``contentReference``)
Regex            the regular expression of a primitive type's value, to the end of the line;
                 it must compile on RE2 (:mod:`engine.fhirpath.regex`)
Min Value        the smallest value of an integer element: ``-2147483648``
Max Value        the largest value of an integer element: ``2147483647``
Binding          ``required:[name](/valueset-name)``
Summary          ``true`` / ``false``
Is Modifier      ``false``, ``true`` or ``true (Reason: …)``
Constraints      ``key | severity | human | expression; …``
Mappings         ``identity=map; identity=map``
===============  ==========================================================================

A line that does not start a field continues the previous field's value (joined with a
newline, exactly as written: blank lines inside a value are kept). Blank lines at the end
of a section are layout, not content. Lines are separated by ``\\n``; a file whose first
line ends in ``\\r\\n`` is read as a CRLF file.

Every problem is a :class:`~engine.model.DefinitionError` naming the file and line.

    >>> defs = load_markdown("definitions/ImagingSelection.md")
    >>> defs["ImagingSelection"].element("ImagingSelection.subject").types[0].target_types[:2]
    ('Patient', 'Group')
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, get_args

import yaml

from engine.definitions.fields import (
    ContentReference,
    parse_aliases,
    parse_binding,
    parse_cardinality,
    parse_conditions,
    parse_constraints,
    parse_flag,
    parse_integer,
    parse_mappings,
    parse_modifier,
    parse_regex,
    parse_types,
)
from engine.fhirpath.analysis import unknown_elements
from engine.model import (
    Cardinality,
    DefinitionError,
    Definitions,
    ElementDefinition,
    Kind,
    Source,
    StructureDefinition,
    ValueSet,
)

__all__ = [
    "DEFINITIONS_TYPE",
    "FIELDS",
    "FRONT_MATTER_KEYS",
    "NO_BASE",
    "is_structural_line",
    "load_markdown",
    "parse_definitions_text",
]

#: The fields of a section, in the order the writer puts them.
FIELDS = (
    "Definition",
    "Comments",
    "Requirements",
    "Aliases",
    "Conditions",
    "Cardinality",
    "Type",
    "Regex",
    "Min Value",
    "Max Value",
    "Binding",
    "Summary",
    "Is Modifier",
    "Constraints",
    "Mappings",
)
#: The front-matter keys, in the order the writer puts them.
FRONT_MATTER_KEYS = ("type", "title", "resource", "kind", "base", "abstract", "generated-by")
#: The value of the front matter's ``type``.
DEFINITIONS_TYPE = "resource-definitions"
#: The front matter's ``base`` for a type with no base type.
NO_BASE = "none"

_MODELLED_KEYS = frozenset({"type", "title", "resource", "kind", "base", "abstract"})
_KINDS = get_args(Kind)
_FIELD_LINE = re.compile(r"\*\*([^*\n]+?):\*\*")
_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*(?:\[x\])?)*")
_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_markdown(*paths: str | os.PathLike[str]) -> Definitions:
    """Load definition files and folders into :class:`~engine.model.Definitions`.

    A folder contributes every ``*.md`` file below it (``README.md`` excepted, and
    nothing under a ``rules`` folder, where generated rule files live) and every
    ``*.valuesets.yaml`` value-set data file. Once all files are read, the checks that
    span files run against everything loaded: each ``Conditions`` key must name a loaded
    constraint (``ele-1`` may come from ``Element.md``), and every constraint expression
    may only name elements that exist (:func:`engine.fhirpath.analysis.unknown_elements`).

    Constraint keys must be unique within a type. The same key may appear in several
    types, as FHIR scopes keys by StructureDefinition: R5 itself repeats ``cnl-0`` in 32
    canonical resources and uses ``inv-1`` for three different rules.

        >>> defs = load_markdown("definitions")
        >>> len(defs["ImagingSelection"].constraints)
        11
    """
    if not paths:
        raise DefinitionError("no definition files or folders given")
    markdown_files: list[str] = []
    value_set_files: list[str] = []
    for path in paths:
        _collect(os.fspath(path), markdown_files, value_set_files)
    parsed = [_parse_file(file) for file in markdown_files]
    types: dict[str, StructureDefinition] = {}
    for document in parsed:
        sd = document.structure
        if sd.name in types:
            raise DefinitionError(
                f"type '{sd.name}' is defined twice (first in {types[sd.name].source})", sd.source
            )
        types[sd.name] = sd
    definitions = Definitions(types, _load_value_sets(value_set_files))
    known_keys = {c.key for sd in types.values() for c in sd.constraints}
    for document in parsed:
        _check_references(document, definitions, known_keys)
    return definitions


def parse_definitions_text(text: str, file: str) -> StructureDefinition:
    """Parse one definitions file's text; ``file`` names it in sources and errors.

    Checks everything that needs only this file (fields, structure, FHIRPath syntax,
    duplicate keys); :func:`load_markdown` adds the checks that span files.
    """
    return _Document.parse(text, file).structure


# ---- files and folders


def _collect(path: str, markdown_files: list[str], value_set_files: list[str]) -> None:
    if os.path.isdir(path):
        found_markdown = False
        for directory, subdirectories, files in os.walk(path):
            subdirectories[:] = sorted(
                d for d in subdirectories if d != "rules" and not d.startswith(".")
            )
            for name in sorted(files):
                full = os.path.join(directory, name)
                if name.endswith(".valuesets.yaml"):
                    value_set_files.append(full)
                elif name.endswith(".md") and name.lower() != "readme.md":
                    markdown_files.append(full)
                    found_markdown = True
        if not found_markdown:
            raise DefinitionError(f"no definition files (*.md) in folder '{path}'")
    elif path.endswith(".valuesets.yaml"):
        value_set_files.append(path)
    elif path.endswith(".md"):
        markdown_files.append(path)
    elif not os.path.exists(path):
        raise DefinitionError(f"definitions file or folder not found: '{path}'")
    else:
        raise DefinitionError(
            f"'{path}' is not a definitions file (expected *.md or *.valuesets.yaml)"
        )


def _read(file: str) -> str:
    try:
        data = Path(file).read_bytes()
    except FileNotFoundError:
        raise DefinitionError(f"definitions file not found: '{file}'") from None
    except OSError as error:
        raise DefinitionError(f"cannot read '{file}': {error.strerror or error}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DefinitionError(
            f"not UTF-8 text (byte 0x{data[error.start]:02x} cannot be decoded)",
            Source(file, line),
        ) from None


def _parse_file(file: str) -> _Document:
    return _Document.parse(_read(file), file)


def _load_value_sets(files: list[str]) -> dict[str, ValueSet]:
    if not files:
        return {}
    # Imported here: most loads have no value-set files and need not pay for the module.
    from engine.definitions.terminology import load_value_set_files

    return load_value_set_files(files)


# ---- cross-file checks


def _check_references(document: _Document, definitions: Definitions, known_keys: set[str]) -> None:
    sd = document.structure
    for element in sd.elements:
        for key in element.conditions:
            if key not in known_keys:
                raise DefinitionError(
                    f"Conditions names unknown constraint '{key}'",
                    document.field_sources[element.path, "Conditions"],
                )
        for constraint in element.constraints:
            problems = unknown_elements(constraint.expression, constraint.context, definitions)
            if problems:
                raise DefinitionError(
                    f"constraint {constraint.key}: {problems[0]}", constraint.source
                )


# ---- one file


@dataclass
class _Section:
    path: str
    source: Source
    short: str = ""
    fields: dict[str, tuple[str, Source]] = field(default_factory=dict)


@dataclass
class _Document:
    """One parsed file: the model, plus where each field was written (for later checks)."""

    structure: StructureDefinition
    field_sources: dict[tuple[str, str], Source]

    @classmethod
    def parse(cls, text: str, file: str) -> _Document:
        text = text.removeprefix("\ufeff")
        if text.startswith("---\r\n"):
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        front, body_start = _front_matter(lines, file)
        title, sections_start = _title(lines, body_start, file, front)
        sections = list(_sections(lines, sections_start, file))
        elements = _elements(sections, front.resource, file)
        _check_unique_keys(elements)
        structure = StructureDefinition(
            name=front.resource,
            kind=front.kind,
            base=front.base,
            elements=elements,
            source=Source(file, 1),
            title=title,
            abstract=front.abstract,
            front_matter=front.unmodelled,
        )
        field_sources = {
            (section.path, name): source
            for section in sections
            for name, (_, source) in section.fields.items()
        }
        return cls(structure, field_sources)


@dataclass(frozen=True)
class _FrontMatter:
    """The front matter's values, defaults applied."""

    resource: str
    title: str | None
    kind: Kind
    base: str | None
    abstract: bool
    #: The keys the model has no field for (``generated-by``).
    unmodelled: dict[str, Any]


def _front_matter(lines: list[str], file: str) -> tuple[_FrontMatter, int]:
    """The front matter and the index of the line after it."""
    if lines[0] != "---":
        raise DefinitionError(
            "missing front matter: the file must start with a '---' line", Source(file, 1)
        )
    try:
        end = lines.index("---", 1)
    except ValueError:
        raise DefinitionError(
            "front matter is not closed by a '---' line", Source(file, 1)
        ) from None
    raw, key_lines = _yaml_mapping("\n".join(lines[1:end]), file)
    for key, line in key_lines.items():
        if key not in FRONT_MATTER_KEYS:
            raise DefinitionError(
                f"unknown front matter key '{key}' (expected {', '.join(FRONT_MATTER_KEYS)})",
                Source(file, line),
            )

    def where(key: str) -> Source:
        return Source(file, key_lines.get(key, 1))

    def text(key: str) -> str | None:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise DefinitionError(f"front matter '{key}' must be a string", where(key))
        return value

    if raw.get("type") != DEFINITIONS_TYPE:
        raise DefinitionError(f"front matter 'type' must be '{DEFINITIONS_TYPE}'", where("type"))
    resource = text("resource")
    if resource is None:
        raise DefinitionError("front matter has no 'resource' (the type's name)", Source(file, 1))
    if not _TYPE_NAME.fullmatch(resource):
        raise DefinitionError(
            f"front matter 'resource' is not a type name: '{resource}'", where("resource")
        )
    kind = text("kind") or "resource"
    if kind not in _KINDS:
        raise DefinitionError(
            f"front matter 'kind' must be one of {', '.join(_KINDS)}, not '{kind}'", where("kind")
        )
    base = text("base")
    if base is None and kind != "resource":
        raise DefinitionError(
            f"front matter needs a 'base' for kind '{kind}' ('{NO_BASE}' when it has none)",
            Source(file, 1),
        )
    if base is not None and base != NO_BASE and not _TYPE_NAME.fullmatch(base):
        raise DefinitionError(f"front matter 'base' is not a type name: '{base}'", where("base"))
    abstract = raw.get("abstract", False)
    if not isinstance(abstract, bool):
        raise DefinitionError("front matter 'abstract' must be true or false", where("abstract"))
    text("generated-by")
    front = _FrontMatter(
        resource=resource,
        title=text("title"),
        kind=cast(Kind, kind),
        base=None if base == NO_BASE else (base or "DomainResource"),
        abstract=abstract,
        unmodelled={k: v for k, v in raw.items() if k not in _MODELLED_KEYS},
    )
    return front, end + 1


def _yaml_mapping(text: str, file: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The YAML mapping and the file line of each key (the front matter starts on line 2)."""
    loader = _YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(error, "problem", None) or str(error)
        raise DefinitionError(
            f"malformed YAML in front matter: {problem}", Source(file, line)
        ) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise DefinitionError(
            "front matter must be a YAML mapping of keys to values", Source(file, 2)
        )
    key_lines: dict[str, int] = {}
    for key_node, _ in node.value:
        key, line = key_node.value, key_node.start_mark.line + 2
        if key in key_lines:
            raise DefinitionError(f"duplicate front matter key '{key}'", Source(file, line))
        key_lines[key] = line
    return data, key_lines


def _title(lines: list[str], start: int, file: str, front: _FrontMatter) -> tuple[str, int]:
    index = _skip_blank(lines, start)
    if index >= len(lines) or not lines[index].startswith("# "):
        raise DefinitionError(
            "expected a '# <title>' line after the front matter",
            Source(file, min(index, len(lines) - 1) + 1),
        )
    title = lines[index][2:]
    if front.title is not None and front.title != title:
        raise DefinitionError(
            f"the heading '# {title}' differs from the front matter title '{front.title}'",
            Source(file, index + 1),
        )
    return title, index + 1


def _sections(lines: list[str], start: int, file: str) -> Iterator[_Section]:
    index = _skip_blank(lines, start)
    if index < len(lines) and not lines[index].startswith("## "):
        raise DefinitionError("expected a '## <path>' section heading", Source(file, index + 1))
    while index < len(lines):
        heading = index
        index += 1
        while index < len(lines) and not lines[index].startswith("## "):
            index += 1
        yield _section(lines, heading, index, file)


def _section(lines: list[str], heading: int, end: int, file: str) -> _Section:
    path = lines[heading][3:]
    section = _Section(path, Source(file, heading + 1))
    if not _PATH.fullmatch(path):
        raise DefinitionError(f"malformed section path '{path}'", section.source)
    while end > heading + 1 and lines[end - 1] == "":
        end -= 1
    index = _skip_blank(lines, heading + 1)
    if index < end and not _FIELD_LINE.match(lines[index]):
        section.short = lines[index]
        index = _skip_blank(lines, index + 1)
        if index < end and not _FIELD_LINE.match(lines[index]):
            raise DefinitionError(
                f"section '{path}': the short description must be one line; expected a "
                "'**Field:**' line",
                Source(file, index + 1),
            )
    current: str | None = None
    for number in range(index, end):
        line = lines[number]
        match = _FIELD_LINE.match(line)
        if match is None:
            value, source = section.fields[cast(str, current)]
            section.fields[cast(str, current)] = (value + "\n" + line, source)
            continue
        current = match.group(1)
        source = Source(file, number + 1)
        if current not in FIELDS:
            raise DefinitionError(f"unknown field '{current}'{_suggest(current)}", source)
        if current in section.fields:
            raise DefinitionError(f"section '{path}': duplicate field '{current}'", source)
        value = line[match.end() :]
        section.fields[current] = (value.removeprefix(" "), source)
    return section


def is_structural_line(line: str) -> bool:
    """True when the loader reads ``line`` as a section heading or a field, never as text.

    >>> is_structural_line("**Note:** x"), is_structural_line("Note: x")
    (True, False)
    """
    return line.startswith("## ") or _FIELD_LINE.match(line) is not None


def _suggest(name: str) -> str:
    close = difflib.get_close_matches(name, FIELDS, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _skip_blank(lines: list[str], index: int) -> int:
    while index < len(lines) and lines[index].strip() == "":
        index += 1
    return index


# ---- sections → elements


def _elements(sections: list[_Section], name: str, file: str) -> tuple[ElementDefinition, ...]:
    if not sections:
        raise DefinitionError(
            f"no '## {name}' section: the root element is missing", Source(file, 1)
        )
    if sections[0].path != name:
        raise DefinitionError(
            f"the first section must be the root '{name}', found '{sections[0].path}'",
            sections[0].source,
        )
    seen: dict[str, Source] = {}
    elements = []
    for section in sections:
        path = section.path
        if path in seen:
            raise DefinitionError(
                f"duplicate section '{path}' (first defined at line {seen[path].line})",
                section.source,
            )
        parent = path.rsplit(".", 1)[0] if "." in path else None
        if path != name and not path.startswith(name + "."):
            raise DefinitionError(f"section '{path}' is not an element of '{name}'", section.source)
        if parent is not None and parent not in seen:
            raise DefinitionError(
                f"section '{path}': parent '{parent}' is not defined", section.source
            )
        seen[path] = section.source
        elements.append(_element(section))
    return tuple(elements)


def _element(section: _Section) -> ElementDefinition:
    fields = section.fields
    path = section.path
    if "Cardinality" not in fields:
        raise DefinitionError(f"section '{path}': missing field 'Cardinality'", section.source)
    values: dict[str, Any] = {}
    for name, (text, source) in fields.items():
        values.update(_field_values(name, text, source, path))
    element = ElementDefinition(path=path, short=section.short, source=section.source, **values)
    if len(element.types) > 1 and not element.is_choice:
        raise DefinitionError(
            f"section '{path}': {len(element.types)} types, but only a choice element "
            "(a name ending in [x]) may have several",
            fields["Type"][1],
        )
    return element


_TEXT_FIELDS = {
    "Definition": "definition",
    "Comments": "comments",
    "Requirements": "requirements",
}


_BOUND_FIELDS = {"Min Value": "min_value", "Max Value": "max_value"}


def _field_values(name: str, text: str, source: Source, path: str) -> Mapping[str, Any]:
    """The ElementDefinition keyword arguments one field gives."""
    if name in _TEXT_FIELDS:
        return {_TEXT_FIELDS[name]: text}
    if name == "Cardinality":
        cardinality: Cardinality = parse_cardinality(text, source)
        return {"cardinality": cardinality}
    if name == "Type":
        types = parse_types(text, source)
        if isinstance(types, ContentReference):
            return {"content_reference": types.path}
        return {"types": types}
    if name == "Regex":
        return {"regex": parse_regex(text, source)}
    if name == "Binding":
        return {"binding": parse_binding(text, source)}
    if name in _BOUND_FIELDS:
        return {_BOUND_FIELDS[name]: parse_integer(text, source, name)}
    if name == "Summary":
        return {"is_summary": parse_flag(text, source)}
    if name == "Is Modifier":
        flag, reason = parse_modifier(text, source)
        return {"is_modifier": flag, "is_modifier_reason": reason}
    if name == "Aliases":
        return {"aliases": parse_aliases(text, source)}
    if name == "Conditions":
        return {"conditions": parse_conditions(text, source)}
    if name == "Constraints":
        return {"constraints": parse_constraints(text, path, source)}
    return {"mappings": parse_mappings(text, source)}


def _check_unique_keys(elements: tuple[ElementDefinition, ...]) -> None:
    first: dict[str, Source] = {}
    for element in elements:
        for constraint in element.constraints:
            if constraint.key in first:
                raise DefinitionError(
                    f"duplicate constraint key '{constraint.key}' "
                    f"(first defined at {first[constraint.key]})",
                    constraint.source,
                )
            first[constraint.key] = constraint.source
