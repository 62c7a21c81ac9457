"""FHIR XML → FHIR JSON, driven by the loaded definitions.

FHIR XML and FHIR JSON carry the same content, but XML does not say what JSON must:
whether an element repeats (a JSON array even with one occurrence), whether a value is
a string, a number or a boolean, and where a primitive's ``id`` and extensions go
(``_name``). The definitions know, so :func:`xml_to_json` asks them
(:meth:`engine.model.Definitions.children_of`) for every element it meets.

Elements the definitions do not know are still converted, by the shape of the XML
(repeated siblings become an array, a ``value`` attribute a string), so that the
validator sees them and reports them, exactly as it would for the same JSON.

    >>> import engine
    >>> defs = engine.load_definitions("definitions")
    >>> xml_to_json(b'<ImagingSelection xmlns="http://hl7.org/fhir">'
    ...             b'<status value="available"/></ImagingSelection>', defs)
    {'resourceType': 'ImagingSelection', 'status': 'available'}

The XML is parsed with the standard library's expat, without any DTD: a document with
a ``<!DOCTYPE`` is refused (FHIR XML never has one), so no entity can be declared and
neither entity-expansion bombs nor external entities can reach the parser. That is why
no extra dependency (``defusedxml``) is needed.
"""

from __future__ import annotations

import json
import re
import weakref
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from engine.model import Definitions, ElementDefinition, StructureDefinition

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
#: XHTML elements that never have content: written ``<br/>``; every other empty element
#: gets an end tag (``<td></td>``), which HTML parsers read the same way.
_VOID_ELEMENTS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)
#: Joins namespace and local name in expat's tag names: a character no XML name or
#: namespace URI can contain.
_SEP = "\x1f"

#: FHIR primitive types whose JSON form is a number or a boolean; every other
#: primitive (integer64 included, since R5) is a JSON string.
_NUMBER_TYPES = frozenset({"integer", "positiveInt", "unsignedInt", "decimal"})
_BOOLEAN_TYPES = frozenset({"boolean"})
#: FHIRPath system types, used for the few elements (``Resource.id``, ``Element.id``,
#: ``Extension.url``) whose type is given that way.
_SYSTEM_TYPES = {
    "String": "string",
    "Boolean": "boolean",
    "Integer": "integer",
    "Decimal": "decimal",
    "Date": "date",
    "DateTime": "dateTime",
    "Time": "time",
}
_SYSTEM_PREFIX = "http://hl7.org/fhirpath/System."
#: Names that repeat wherever they appear (a FHIR rule), for elements the definitions
#: do not describe.
_ALWAYS_REPEATS = frozenset({"extension", "modifierExtension"})
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")


class XmlInputError(ValueError):
    """The XML cannot be read as a FHIR resource: malformed, or not FHIR XML.

    ``line`` and ``column`` (1-based) point at the offending text when known.

        >>> str(XmlInputError("<Patinet> is not a resource type the definitions know", 1, 1))
        'line 1, column 1: <Patinet> is not a resource type the definitions know'
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(where + message)


class _Node:
    """One XML element, with its position for error messages."""

    __slots__ = ("ns", "name", "attrs", "line", "column", "content", "elements")

    def __init__(self, ns: str, name: str, attrs: dict[str, str], line: int, column: int):
        self.ns = ns
        self.name = name
        self.attrs = attrs
        self.line = line
        self.column = column
        #: Mixed content in document order: child nodes and text runs (outside XHTML,
        #: only text that is not whitespace, which is an error there).
        self.content: list[_Node | str] = []
        self.elements: list[_Node] = []


def xml_to_json(data: bytes | str, definitions: Definitions) -> dict[str, Any]:
    """Convert one FHIR XML document to the FHIR JSON form of the same resource.

    ``data`` is the document (bytes are preferred: the XML declaration then chooses
    the encoding). Raises :class:`XmlInputError` with a line number when the XML is
    malformed, is not in the FHIR namespace or its root is not a known resource type.
    """
    root = _parse(data)
    return _Converter(definitions).resource(root)


#: An element of an XML document as :func:`element_tree` gives it: ``ns``, ``name``,
#: ``attrs``, ``line`` and ``column`` (1-based, of the ``<`` of its start tag) and
#: ``elements``, its child elements in document order.
XmlElement = _Node


def element_tree(data: bytes | str) -> XmlElement:
    """The elements of an XML document with their line and column: what
    :mod:`engine.io.positions` follows to place issues (element names are the JSON
    property names :func:`xml_to_json` writes, in the same order). Raises
    :class:`XmlInputError` as :func:`xml_to_json` does."""
    return _parse(data)


def _split(qualified: str) -> tuple[str, str]:
    ns, sep, name = qualified.rpartition(_SEP)
    return (ns, name) if sep else ("", qualified)


def _parse(data: bytes | str) -> _Node:
    parser = expat.ParserCreate(namespace_separator=_SEP)
    parser.buffer_text = True
    stack: list[_Node] = []
    roots: list[_Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        ns, name = _split(tag)
        node = _Node(ns, name, attrs, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        if stack:
            stack[-1].content.append(node)
            stack[-1].elements.append(node)
        else:
            roots.append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def text(chunk: str) -> None:
        if stack and (stack[-1].ns == XHTML_NS or not chunk.isspace()):
            stack[-1].content.append(chunk)

    def doctype(*_args: object) -> None:
        raise XmlInputError(
            "a DOCTYPE declaration is not allowed in FHIR XML",
            parser.CurrentLineNumber,
            parser.CurrentColumnNumber + 1,
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise XmlInputError(
            f"malformed XML: {expat.ErrorString(e.code)}", e.lineno, e.offset + 1
        ) from None
    return roots[0]


def _primitive_code(type_code: str) -> str:
    if type_code.startswith(_SYSTEM_PREFIX):
        return _SYSTEM_TYPES.get(type_code[len(_SYSTEM_PREFIX) :], "string")
    return type_code


def _json_value(text: str, type_code: str) -> Any:
    """The JSON value of a primitive's lexical form; kept as the text when it is not a
    valid JSON form for the type, so the validator reports it as it would in JSON."""
    if type_code in _BOOLEAN_TYPES:
        return {"true": True, "false": False}.get(text, text)
    if type_code in _NUMBER_TYPES and _JSON_NUMBER.match(text):
        # The same parse as for JSON input, so that XML and JSON give equal values.
        return json.loads(text)
    return text


def _capitalized(code: str) -> str:
    return code[:1].upper() + code[1:]


@dataclass(frozen=True, slots=True)
class _Spec:
    """What the definitions say about one child name inside one element."""

    sd: StructureDefinition
    element: ElementDefinition
    type_code: str | None
    repeats: bool


_Children = dict[str, tuple[StructureDefinition, ElementDefinition]]

#: Per loaded definitions (by identity: ``Definitions`` is an unhashable mapping), the
#: resolved children of each element: resolving walks the base types, and a large
#: Bundle asks for the same few elements thousands of times.
_CHILDREN_CACHE: dict[
    int, tuple[weakref.ref[Definitions], dict[tuple[str, str], _Children | None]]
] = {}


def _children_cache(definitions: Definitions) -> dict[tuple[str, str], _Children | None]:
    key = id(definitions)
    entry = _CHILDREN_CACHE.get(key)
    if entry is None or entry[0]() is not definitions:
        entry = (weakref.ref(definitions, lambda _: _CHILDREN_CACHE.pop(key, None)), {})
        _CHILDREN_CACHE[key] = entry
    return entry[1]


class _Converter:
    def __init__(self, definitions: Definitions) -> None:
        self.defs = definitions
        self.cache = _children_cache(definitions)

    # -- resources ----------------------------------------------------------------

    def resource(self, node: _Node) -> dict[str, Any]:
        if node.ns != FHIR_NS:
            where = f"namespace '{node.ns}'" if node.ns else "no namespace"
            raise XmlInputError(
                f"element <{node.name}> is in {where}, not the FHIR namespace '{FHIR_NS}'",
                node.line,
                node.column,
            )
        sd = self.defs.get(node.name)
        if sd is None or sd.kind != "resource":
            raise XmlInputError(
                f"<{node.name}> is not a resource type the definitions know",
                node.line,
                node.column,
            )
        for attr in node.attrs:
            if _SEP not in attr:
                raise XmlInputError(
                    f"attribute '{attr}' is not allowed on the resource element <{node.name}>",
                    node.line,
                    node.column,
                )
        result: dict[str, Any] = {"resourceType": node.name}
        self._fill(result, node, self._known(sd, sd.root))
        return result

    def _nested_resource(self, node: _Node) -> dict[str, Any]:
        self._no_text(node)
        inner = node.elements
        if len(inner) != 1:
            raise XmlInputError(
                f"<{node.name}> must hold exactly one resource element, found {len(inner)}",
                node.line,
                node.column,
            )
        return self.resource(inner[0])

    # -- element content ------------------------------------------------------------

    def _known(self, sd: StructureDefinition, element: ElementDefinition) -> _Children | None:
        """The children the definitions give for ``element``; None when unknown."""
        key = (sd.name, element.path)
        if key not in self.cache:
            self.cache[key] = self.defs.children_of(sd, element) or None
        return self.cache[key]

    def _type_children(self, type_code: str) -> _Children | None:
        sd = self.defs.get(type_code)
        return self._known(sd, sd.root) if sd is not None else None

    def _fill(
        self,
        target: dict[str, Any],
        node: _Node,
        known: _Children | None,
        skip_attrs: frozenset[str] = frozenset(),
    ) -> None:
        """Convert the attributes and child elements of ``node`` into ``target``."""
        self._no_text(node)
        for attr, value in node.attrs.items():
            if _SEP not in attr and attr not in skip_attrs:
                target[attr] = value
        groups: dict[str, list[_Node]] = {}
        for child in node.elements:
            if child.ns == XHTML_NS and child.name == "div":
                target[child.name] = _xhtml(child)
                continue
            if child.ns != FHIR_NS:
                where = f"namespace '{child.ns}'" if child.ns else "no namespace"
                raise XmlInputError(
                    f"element <{child.name}> is in {where}, not the FHIR namespace '{FHIR_NS}'",
                    child.line,
                    child.column,
                )
            groups.setdefault(child.name, []).append(child)
        for name, nodes in groups.items():
            self._convert_group(target, name, nodes, self._spec(known, name))

    def _spec(
        self,
        known: _Children | None,
        name: str,
    ) -> _Spec | None:
        if not known:
            return None
        if name in known and not name.endswith("[x]"):
            sd, element = known[name]
            codes = element.type_codes
            inline = bool(sd.children(element)) or element.content_reference is not None
            type_code = None if inline or len(codes) != 1 else codes[0]
            return _Spec(sd, element, type_code, element.repeats)
        for key, (sd, element) in known.items():
            if not key.endswith("[x]") or not name.startswith(key[:-3]):
                continue
            suffix = name[len(key) - 3 :]
            for code in element.type_codes:
                if _capitalized(code) == suffix:
                    return _Spec(sd, element, code, element.repeats)
        return None

    def _convert_group(
        self, target: dict[str, Any], name: str, nodes: list[_Node], spec: _Spec | None
    ) -> None:
        if spec is not None:
            repeats = spec.repeats or len(nodes) > 1
        else:
            repeats = name in _ALWAYS_REPEATS or len(nodes) > 1
        type_code = spec.type_code if spec is not None else None
        if type_code == "xhtml":
            first = nodes[0]
            raise XmlInputError(
                f"<{name}> must be an XHTML <div> in the namespace '{XHTML_NS}'",
                first.line,
                first.column,
            )
        if type_code == "Resource" or (spec is None and self._wraps_resource(nodes[0])):
            values = [self._nested_resource(n) for n in nodes]
            target[name] = values if repeats else values[0]
        elif self._is_primitive(type_code, nodes):
            self._primitive_group(target, name, nodes, type_code, repeats)
        else:
            complex_values = [self._complex(n, spec) for n in nodes]
            target[name] = complex_values if repeats else complex_values[0]

    def _wraps_resource(self, node: _Node) -> bool:
        inner = node.elements
        return (
            len(inner) == 1
            and not node.attrs
            and inner[0].ns == FHIR_NS
            and inner[0].name[:1].isupper()
        )

    def _is_primitive(self, type_code: str | None, nodes: list[_Node]) -> bool:
        """Whether to write the group as JSON primitives.

        Known types decide, unless the XML has the other shape (a primitive element
        holding child elements, a complex one holding a value): then the XML shape
        wins, so the validator reports the type it finds rather than losing content.
        """
        shaped_primitive = all(_primitive_shaped(n) for n in nodes)
        if type_code is None:
            return shaped_primitive and any("value" in n.attrs for n in nodes)
        sd = self.defs.get(type_code)
        if sd is not None:
            primitive = sd.kind == "primitive-type"
        else:
            primitive = type_code.startswith(_SYSTEM_PREFIX) or type_code[:1].islower()
        if primitive:
            return shaped_primitive
        return shaped_primitive and all("value" in n.attrs for n in nodes)

    def _primitive_group(
        self,
        target: dict[str, Any],
        name: str,
        nodes: list[_Node],
        type_code: str | None,
        repeats: bool,
    ) -> None:
        code = _primitive_code(type_code or "string")
        values: list[Any] = []
        extras: list[dict[str, Any] | None] = []
        known = self._type_children(code)
        for node in nodes:
            text = node.attrs.get("value")
            values.append(None if text is None else _json_value(text, code))
            extra: dict[str, Any] = {}
            self._fill(extra, node, known, skip_attrs=frozenset({"value"}))
            extras.append(extra or None)
        if repeats:
            if any(v is not None for v in values):
                target[name] = values
            if any(e is not None for e in extras):
                target["_" + name] = extras
            return
        if values[0] is not None:
            target[name] = values[0]
        if extras[0] is not None:
            target["_" + name] = extras[0]

    def _complex(self, node: _Node, spec: _Spec | None) -> dict[str, Any]:
        known = None
        if spec is not None:
            if spec.element.is_choice and spec.type_code is not None:
                known = self._type_children(spec.type_code)
            else:
                known = self._known(spec.sd, spec.element)
        value: dict[str, Any] = {}
        self._fill(value, node, known)
        return value

    @staticmethod
    def _no_text(node: _Node) -> None:
        for item in node.content:
            if isinstance(item, str) and item.strip():
                raise XmlInputError(
                    f"text content {item.strip()[:40]!r} is not allowed in <{node.name}>"
                    " (FHIR XML puts values in a 'value' attribute)",
                    node.line,
                    node.column,
                )


def _primitive_shaped(node: _Node) -> bool:
    return all(c.ns == FHIR_NS and c.name == "extension" for c in node.elements)


# -- XHTML ---------------------------------------------------------------------------


def _xhtml(node: _Node) -> str:
    """Serialize a narrative ``<div>`` the way FHIR JSON carries it: one string with
    the XHTML namespace declared on the div.

    Line breaks that only lay out the XML (whitespace-only text holding a newline,
    between elements, outside ``<pre>`` and outside text) are left out, as FHIR JSON
    renderings do; a space between two inline elements is kept since it shows.
    """
    parts: list[str] = []
    _write_xhtml(node, parts, parent_ns=None)
    return "".join(parts)


def canonical_xhtml(div: str) -> str:
    """A narrative ``div`` string written the way this converter writes one.

    Two divs that differ only in how the XML is written (layout line breaks, entities,
    ``<td/>`` or ``<td></td>``) give the same canonical string::

        >>> canonical_xhtml('<div xmlns="http://www.w3.org/1999/xhtml">\\n'
        ...                 '  <p>&quot;a&quot;<td/></p></div>')
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>"a"<td></td></p></div>'
    """
    return _xhtml(_parse(div.encode("utf-8")))


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text: str) -> str:
    return _escape_text(text).replace('"', "&quot;")


def _write_xhtml(node: _Node, parts: list[str], parent_ns: str | None) -> None:
    attrs: list[str] = []
    if node.ns != parent_ns:
        attrs.append(f' xmlns="{_escape_attr(node.ns)}"')
    prefixes: dict[str, str] = {_XML_NS: "xml"}
    for qualified, value in node.attrs.items():
        ns, name = _split(qualified)
        if ns:
            if ns not in prefixes:
                prefixes[ns] = f"ns{len(prefixes)}"
                attrs.append(f' xmlns:{prefixes[ns]}="{_escape_attr(ns)}"')
            name = f"{prefixes[ns]}:{name}"
        attrs.append(f' {name}="{_escape_attr(value)}"')
    parts.append(f"<{node.name}{''.join(attrs)}")
    if not node.content and node.name in _VOID_ELEMENTS:
        parts.append("/>")
        return
    parts.append(">")
    keep_layout = node.name == "pre" or any(isinstance(c, str) and c.strip() for c in node.content)
    for item in node.content:
        if isinstance(item, _Node):
            _write_xhtml(item, parts, node.ns)
        elif keep_layout or item.strip() or "\n" not in item:
            parts.append(_escape_text(item))
    parts.append(f"</{node.name}>")
