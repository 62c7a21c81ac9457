"""The FHIR rules for narrative XHTML, behind the FHIRPath ``htmlChecks()`` function.

FHIR narrative may use only the basic formatting elements and attributes of HTML 4
(chapters 7-11 and 15, no scripts, forms, frames, objects or event attributes), and must
have some content (constraints txt-1 and txt-2 of ``Narrative.div``). The element and
attribute lists are those of the HL7 Java validator (``XhtmlValidator``)::

    >>> html_problems('<div xmlns="http://www.w3.org/1999/xhtml"><p>Hello</p></div>')
    []
    >>> html_problems('<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></div>')
    ["element 'script' is not allowed"]

A narrative's value (``Narrative.div``, of type ``xhtml``) must moreover be one ``<div>``
element in the XHTML namespace (FHIR R5, Narrative: "The XHTML content SHALL ... have a
single root element div"); :func:`narrative_problems` checks that too::

    >>> narrative_problems('<p>Hello</p>')
    ["the narrative's root element must be a <div>, found <p>"]
"""

from __future__ import annotations

import html.entities
import re
import xml.etree.ElementTree as ET

__all__ = ["html_problems", "narrative_problems"]

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"

_ELEMENTS = frozenset(
    [
        "p",
        "br",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "a",
        "span",
        "b",
        "em",
        "i",
        "strong",
        "small",
        "big",
        "tt",
        "dfn",
        "q",
        "var",
        "abbr",
        "acronym",
        "cite",
        "blockquote",
        "hr",
        "address",
        "bdo",
        "kbd",
        "sub",
        "sup",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "pre",
        "table",
        "caption",
        "colgroup",
        "col",
        "thead",
        "tr",
        "tfoot",
        "tbody",
        "th",
        "td",
        "code",
        "samp",
        "img",
        "map",
        "area",
    ]
)
_ATTRIBUTES = frozenset(
    [
        "title",
        "style",
        "class",
        "id",
        "lang",
        "xml:lang",
        "dir",
        "accesskey",
        "tabindex",
        "span",
        "width",
        "align",
        "valign",
        "char",
        "charoff",
        "abbr",
        "axis",
        "headers",
        "scope",
        "rowspan",
        "colspan",
    ]
)
_ELEMENT_ATTRIBUTES = frozenset(
    [
        "a.href",
        "a.name",
        "img.src",
        "img.border",
        "div.xmlns",
        "blockquote.cite",
        "q.cite",
        "a.charset",
        "a.type",
        "a.hreflang",
        "a.rel",
        "a.rev",
        "a.shape",
        "a.coords",
        "img.alt",
        "img.longdesc",
        "img.height",
        "img.width",
        "img.usemap",
        "img.ismap",
        "map.name",
        "area.shape",
        "area.coords",
        "area.href",
        "area.nohref",
        "area.alt",
        "table.summary",
        "table.width",
        "table.border",
        "table.frame",
        "table.rules",
        "table.cellspacing",
        "table.cellpadding",
        "pre.space",
        "td.nowrap",
    ]
)
_BLOCKS = frozenset({"div", "blockquote", "table", "ol", "ul", "p"})
# XML knows only five named entities; narrative written by hand often uses HTML's others.
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})


def html_problems(text: str) -> list[str]:
    """What makes ``text`` unacceptable as FHIR narrative XHTML; empty when it is fine.

    ``text`` is either a whole ``<div>`` or a fragment of mixed content.
    """
    if re.search(r"<!DOCTYPE", text, re.IGNORECASE):
        return ["a DOCTYPE is not allowed"]
    wrapped = f'<div xmlns="{XHTML_NAMESPACE}">{_ENTITY.sub(_numeric_entity, text)}</div>'
    try:
        root = ET.fromstring(wrapped)
    except ET.ParseError as error:
        return [f"not well-formed XHTML: {error}"]
    problems: list[str] = []
    for child in root:
        _check(child, problems, in_paragraph=False)
    if not _has_content(root):
        problems.append("the narrative has no content")
    return problems


def narrative_problems(text: str) -> list[str]:
    """What makes ``text`` unacceptable as the value of ``Narrative.div``: it must be a
    single ``<div xmlns="http://www.w3.org/1999/xhtml">`` element, whose content follows
    :func:`html_problems`."""
    root_problem = _root_problem(text)
    return [root_problem] if root_problem else html_problems(text)


def _root_problem(text: str) -> str | None:
    if re.search(r"<!DOCTYPE", text, re.IGNORECASE):
        return None  # html_problems says why
    try:
        root = ET.fromstring(_ENTITY.sub(_numeric_entity, text.strip()))
    except ET.ParseError:
        if not text.lstrip().startswith("<"):
            return "the narrative must be a <div> element, found text"
        if _is_well_formed_fragment(text):
            return "the narrative must be a single <div> element, with nothing around it"
        return None  # malformed markup: html_problems says where
    namespace, name = _split(root.tag)
    if name != "div":
        return f"the narrative's root element must be a <div>, found <{name}>"
    if namespace != XHTML_NAMESPACE:
        found = f"'{namespace}'" if namespace else "no namespace"
        return (
            f"the narrative's root element must be in the XHTML namespace "
            f"('{XHTML_NAMESPACE}'), found {found}"
        )
    return None


def _is_well_formed_fragment(text: str) -> bool:
    """True when ``text`` is well-formed as mixed content (then what is wrong is the
    root, not the markup, which :func:`html_problems` reports itself)."""
    try:
        ET.fromstring(f"<x>{_ENTITY.sub(_numeric_entity, text)}</x>")
    except ET.ParseError:
        return False
    return True


def _numeric_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES or name not in html.entities.name2codepoint:
        return match.group(0)
    return f"&#{html.entities.name2codepoint[name]};"


def _check(element: ET.Element, problems: list[str], *, in_paragraph: bool) -> None:
    namespace, name = _split(element.tag)
    if namespace not in (None, XHTML_NAMESPACE):
        problems.append(f"element '{name}' is not in the XHTML namespace")
    if name not in _ELEMENTS:
        problems.append(f"element '{name}' is not allowed")
    elif in_paragraph and name in _BLOCKS:
        problems.append(f"block element '{name}' is not allowed inside a paragraph")
    for attribute in element.attrib:
        attribute_name = _attribute_name(attribute)
        allowed = (
            attribute_name.startswith("xmlns")
            or attribute_name in _ATTRIBUTES
            or f"{name}.{attribute_name}" in _ELEMENT_ATTRIBUTES
        )
        if not allowed:
            problems.append(f"attribute '{attribute_name}' is not allowed on '{name}'")
    for child in element:
        _check(child, problems, in_paragraph=in_paragraph or name == "p")


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, name = tag[1:].split("}", 1)
        return namespace, name
    return None, tag


def _attribute_name(attribute: str) -> str:
    namespace, name = _split(attribute)
    return f"xml:{name}" if namespace == _XML_NAMESPACE else name


def _has_content(root: ET.Element) -> bool:
    if "".join(root.itertext()).strip():
        return True
    return any(_split(element.tag)[1] == "img" for element in root.iter())
