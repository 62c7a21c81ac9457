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

What only XML can get wrong is reported by :func:`read_xml` alongside the JSON, as
issues with a FHIRPath location: an element out of the order the definitions give
(FHIR XML is ordered, JSON is not), and an attribute FHIR does not define (only ``id``,
an extension's ``url`` and a primitive's ``value`` are attributes).

The XML is parsed with the standard library's expat, without any DTD: a document with
a ``<!DOCTYPE`` is refused (FHIR XML never has one), so no entity can be declared and
neither entity-expansion bombs nor external entities can reach the parser. That is why
no extra dependency (``defusedxml``) is needed. FHIR XML is UTF-8 and XML 1.0: a
document in another encoding (a UTF-16 byte order mark or byte pattern, another
encoding in the XML declaration) or declared XML 1.1 is refused with a message saying so.
"""

from __future__ import annotations

import codecs
import re
import weakref
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from engine.model import Definitions, ElementDefinition, StructureDefinition
from engine.model.numbers import parse_json_number
from engine.validation.report import Issue

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


@dataclass(frozen=True, slots=True)
class XmlDocument:
    """One FHIR XML document read: the FHIR JSON of its resource, and the problems only
    its XML form can have (elements out of order, attributes FHIR does not define)."""

    resource: dict[str, Any]
    issues: tuple[Issue, ...] = ()


def read_xml(data: bytes | str, definitions: Definitions) -> XmlDocument:
    """Read one FHIR XML document: its resource as FHIR JSON, and the issues of its XML.

    ``data`` is the document (bytes as read from a file, or text). Raises
    :class:`XmlInputError` with a line number when the XML is malformed, not UTF-8 or
    not XML 1.0, is not in the FHIR namespace or its root is not a known resource type.

        >>> doc = read_xml(b'<Patient xmlns="http://hl7.org/fhir"><gender value="male"/>'
        ...                b'<active value="true"/></Patient>', engine.bundled_definitions())
        >>> doc.resource
        {'resourceType': 'Patient', 'gender': 'male', 'active': True}
        >>> [(i.location, i.message) for i in doc.issues]
        [('Patient.active', "Element 'active' is out of order: found after 'gender'")]
    """
    root = _parse(data)
    converter = _Converter(definitions)
    resource = converter.resource(root, None)
    return XmlDocument(resource, tuple(converter.issues))


def xml_to_json(data: bytes | str, definitions: Definitions) -> dict[str, Any]:
    """The FHIR JSON form of one FHIR XML document's resource (:func:`read_xml` without
    the issues of the XML itself: use that to validate XML)."""
    return read_xml(data, definitions).resource


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


_DECLARATION = re.compile(
    rb"<\?xml(?P<attrs>[^>]*?)\?>",
)
_DECLARED = re.compile(rb"""\b(version|encoding)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_UTF8_NAMES = frozenset({"utf-8", "utf8"})


def _utf8_text(data: bytes | str) -> str:
    """The document as text, after refusing what FHIR XML does not allow: an encoding
    other than UTF-8 (by byte order mark, byte pattern or declaration) or XML 1.1."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32")):
        if raw.startswith(bom):
            raise XmlInputError(f"the document is {name} (byte order mark): {_MUST_BE_UTF8}", 1, 1)
    for bom in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if raw.startswith(bom):
            raise XmlInputError(f"the document is UTF-16 (byte order mark): {_MUST_BE_UTF8}", 1, 1)
    if raw[:4] in (b"<\x00?\x00", b"\x00<\x00?", b"<\x00\x00\x00", b"\x00\x00\x00<") or (
        len(raw) >= 2 and (raw[0] == 0) != (raw[1] == 0)
    ):
        raise XmlInputError(
            f"the document is UTF-16 or UTF-32 (no byte order mark): {_MUST_BE_UTF8}", 1, 1
        )
    body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    declaration = _DECLARATION.match(body)
    if declaration is not None:
        for match in _DECLARED.finditer(declaration.group("attrs")):
            value = (match.group(2) or match.group(3) or b"").decode("ascii", "replace")
            if match.group(1) == b"encoding" and value.lower() not in _UTF8_NAMES:
                raise XmlInputError(
                    f"the XML declaration states the encoding '{value}': {_MUST_BE_UTF8}", 1, 1
                )
            if match.group(1) == b"version" and value != "1.0":
                raise XmlInputError(
                    f"the document is XML {value}: FHIR XML is read as XML 1.0 only "
                    "(XML 1.1 changes which characters and line ends are allowed)",
                    1,
                    1,
                )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        column = error.start - (body.rfind(b"\n", 0, error.start) + 1) + 1
        raise XmlInputError(
            f"not UTF-8 text (byte 0x{body[error.start]:02x} cannot be decoded): {_MUST_BE_UTF8}",
            line,
            column,
        ) from None


_MUST_BE_UTF8 = "FHIR XML must be UTF-8"
_VALUE = frozenset({"value"})


def _parse(data: bytes | str) -> _Node:
    document = _utf8_text(data)
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
        parser.Parse(document, True)
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
        return parse_json_number(text)
    return text


def _capitalized(code: str) -> str:
    return code[:1].upper() + code[1:]


@dataclass(frozen=True, slots=True)
class _Spec:
    """What the definitions say about one child name inside one element."""

    #: The child's name in the definitions (``value[x]`` for ``valueQuantity``).
    key: str
    sd: StructureDefinition
    element: ElementDefinition
    type_code: str | None
    repeats: bool


_Children = dict[str, tuple[StructureDefinition, ElementDefinition]]

#: Per loaded definitions (by identity: ``Definitions`` is an unhashable mapping), the
#: resolved children of each element: resolving walks the base types, and a large
#: Bundle asks for the same few elements thousands of times.
_CHILDREN_CACHE: dict[
    int, tuple[weakref.ref[Definitions], dict[tuple[str, str], _Known | None]]
] = {}


def _children_cache(definitions: Definitions) -> dict[tuple[str, str], _Known | None]:
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
        self.issues: list[Issue] = []

    # -- resources ----------------------------------------------------------------

    def resource(self, node: _Node, location: str | None) -> dict[str, Any]:
        """The resource ``node`` holds; ``location`` is where it is nested (``None`` at
        the top: its locations then start with its type, as the validator's do)."""
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
        self._fill(result, node, self._known(sd, sd.root), location or node.name, frozenset())
        return result

    def _nested_resource(self, node: _Node, location: str) -> dict[str, Any]:
        self._no_text(node)
        inner = node.elements
        if len(inner) != 1:
            raise XmlInputError(
                f"<{node.name}> must hold exactly one resource element, found {len(inner)}",
                node.line,
                node.column,
            )
        return self.resource(inner[0], location)

    # -- element content ------------------------------------------------------------

    def _known(self, sd: StructureDefinition, element: ElementDefinition) -> _Known | None:
        """The children the definitions give for ``element``; None when unknown."""
        key = (sd.name, element.path)
        if key not in self.cache:
            children = self.defs.children_of(sd, element)
            self.cache[key] = _Known(children, _order(children)) if children else None
        return self.cache[key]

    def _type_children(self, type_code: str) -> _Known | None:
        sd = self.defs.get(type_code)
        return self._known(sd, sd.root) if sd is not None else None

    def _fill(
        self,
        target: dict[str, Any],
        node: _Node,
        known: _Known | None,
        location: str,
        attributes: frozenset[str],
        read_apart: frozenset[str] = frozenset(),
    ) -> None:
        """Convert the attributes and child elements of ``node`` into ``target``.

        ``attributes`` are the names FHIR XML carries as attributes here (``id``, an
        extension's ``url``), ``read_apart`` those the caller reads itself (a
        primitive's ``value``); any other attribute of a known element is reported.
        """
        self._no_text(node)
        for attr, value in node.attrs.items():
            if _SEP in attr or attr in read_apart:
                continue
            if known is None or attr in attributes:
                target[attr] = value
            else:
                self._issue(
                    location,
                    f"Undefined attribute '@{attr}' on <{node.name}>: FHIR XML has no such "
                    "attribute here (only element ids, extension urls and primitive values "
                    "are attributes)",
                )
        groups: dict[str, list[_Node]] = {}
        specs: dict[str, _Spec | None] = {}
        highest: tuple[int, str] | None = None
        for child in node.elements:
            if child.ns == XHTML_NS and child.name == "div":
                target[child.name] = _xhtml(child)
            elif child.ns != FHIR_NS:
                where = f"namespace '{child.ns}'" if child.ns else "no namespace"
                raise XmlInputError(
                    f"element <{child.name}> is in {where}, not the FHIR namespace '{FHIR_NS}'",
                    child.line,
                    child.column,
                )
            else:
                groups.setdefault(child.name, []).append(child)
            if child.name not in specs:
                specs[child.name] = self._spec(known, child.name)
            rank = _rank(known, specs[child.name])
            if rank is None:
                continue
            if highest is not None and rank < highest[0]:
                index = len(groups.get(child.name, [])) - 1
                where = self._child_location(location, child.name, specs[child.name], index)
                self._issue(
                    where,
                    f"Element '{child.name}' is out of order: found after '{highest[1]}'",
                )
            elif highest is None or rank > highest[0]:
                highest = (rank, child.name)
        for name, nodes in groups.items():
            self._convert_group(target, name, nodes, specs[name], location)

    def _child_location(self, location: str, name: str, spec: _Spec | None, index: int) -> str:
        """The FHIRPath location of the ``index``-th ``name`` child, as the validator
        writes it (``Observation.value.ofType(Quantity)``, ``Patient.name[1]``)."""
        if spec is not None and spec.element.is_choice and spec.type_code is not None:
            stem = spec.element.name.removesuffix("[x]")
            return f"{location}.{stem}.ofType({spec.type_code})"
        repeats = spec.repeats if spec is not None else name in _ALWAYS_REPEATS
        return f"{location}.{name}[{index}]" if repeats else f"{location}.{name}"

    def _issue(self, location: str, message: str) -> None:
        self.issues.append(Issue("error", "structure", location, message))

    def _spec(self, known: _Known | None, name: str) -> _Spec | None:
        if known is None:
            return None
        children = known.children
        if name in children and not name.endswith("[x]"):
            sd, element = children[name]
            codes = element.type_codes
            inline = bool(sd.children(element)) or element.content_reference is not None
            type_code = None if inline or len(codes) != 1 else codes[0]
            return _Spec(name, sd, element, type_code, element.repeats)
        for key, (sd, element) in children.items():
            if not key.endswith("[x]") or not name.startswith(key[:-3]):
                continue
            suffix = name[len(key) - 3 :]
            for code in element.type_codes:
                if _capitalized(code) == suffix:
                    return _Spec(key, sd, element, code, element.repeats)
        return None

    def _convert_group(
        self,
        target: dict[str, Any],
        name: str,
        nodes: list[_Node],
        spec: _Spec | None,
        location: str,
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
        where = [self._child_location(location, name, spec, i) for i in range(len(nodes))]
        if type_code == "Resource" or (spec is None and self._wraps_resource(nodes[0])):
            values = [self._nested_resource(n, at) for n, at in zip(nodes, where, strict=True)]
            target[name] = values if repeats else values[0]
        elif self._is_primitive(type_code, nodes):
            self._primitive_group(target, name, nodes, type_code, repeats, where)
        else:
            complex_values = [
                self._complex(n, spec, at) for n, at in zip(nodes, where, strict=True)
            ]
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

        A primitive type whose XML holds child elements other than extensions is
        written as an object, so the validator reports the type it finds rather than
        losing content; a complex type is never a primitive (a ``value`` attribute on
        it is reported as an attribute FHIR does not define). Elements the definitions
        do not know take the shape of their XML.
        """
        shaped_primitive = all(_primitive_shaped(n) for n in nodes)
        if type_code is None:
            return shaped_primitive and any("value" in n.attrs for n in nodes)
        sd = self.defs.get(type_code)
        if sd is not None:
            primitive = sd.kind == "primitive-type"
        else:
            primitive = type_code.startswith(_SYSTEM_PREFIX) or type_code[:1].islower()
        return primitive and shaped_primitive

    def _primitive_group(
        self,
        target: dict[str, Any],
        name: str,
        nodes: list[_Node],
        type_code: str | None,
        repeats: bool,
        where: list[str],
    ) -> None:
        code = _primitive_code(type_code or "string")
        values: list[Any] = []
        extras: list[dict[str, Any] | None] = []
        known = self._type_children(code)
        for node, at in zip(nodes, where, strict=True):
            text = node.attrs.get("value")
            values.append(None if text is None else _json_value(text, code))
            extra: dict[str, Any] = {}
            self._fill(extra, node, known, at, frozenset({"id"}), read_apart=_VALUE)
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

    def _complex(self, node: _Node, spec: _Spec | None, location: str) -> dict[str, Any]:
        known = None
        attributes = frozenset({"id"})
        if spec is not None:
            if spec.element.is_choice and spec.type_code is not None:
                known = self._type_children(spec.type_code)
            else:
                known = self._known(spec.sd, spec.element)
            if spec.type_code == "Extension":
                attributes = frozenset({"id", "url"})
        value: dict[str, Any] = {}
        self._fill(value, node, known, location, attributes)
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


@dataclass(frozen=True, slots=True)
class _Known:
    """The children the definitions give for one element, and their XML order."""

    children: _Children
    #: Child name (``value[x]`` for a choice) → its place in FHIR XML order.
    order: dict[str, int]


def _order(children: _Children) -> dict[str, int]:
    """The order FHIR XML gives ``children``: the elements of the most basic type first
    (``Element.id``, ``Element.extension``, then ``BackboneElement.modifierExtension``,
    ``Resource.meta``…), then each more specific type's own, each in definition order.

    :meth:`~engine.model.Definitions.children_of` lists the element's own children
    first and then those of its base types, most specific first: reversing the order
    of the definitions they come from gives the XML order.
    """
    sources: list[int] = []
    for sd, _ in children.values():
        if id(sd) not in sources:
            sources.append(id(sd))
    level = {source: len(sources) - i for i, source in enumerate(sources)}
    positions: dict[int, dict[str, int]] = {}
    order: dict[str, int] = {}
    for name, (sd, element) in children.items():
        place = positions.get(id(sd))
        if place is None:
            place = positions[id(sd)] = {e.path: i for i, e in enumerate(sd.elements)}
        order[name] = level[id(sd)] * 100_000 + place.get(element.path, 0)
    return order


def _rank(known: _Known | None, spec: _Spec | None) -> int | None:
    if known is None or spec is None:
        return None
    return known.order.get(spec.key)


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
