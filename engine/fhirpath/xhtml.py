"""The FHIR rules for narrative XHTML, behind the FHIRPath functions ``htmlChecks()`` and
``htmlChecks2()``: pure functions of the narrative's text, for every evaluator.

FHIR narrative may use only the basic formatting elements and attributes of HTML 4
(chapters 7-11 and 15, no scripts, forms, frames, objects or event attributes: txt-1),
and must have some non-whitespace content (txt-2). R5 publishes both constraints as
``htmlChecks()``; the HL7 Java validator evaluates txt-1's ``htmlChecks()`` as the
element and attribute rules only and txt-2 as ``htmlChecks2()``, the content rule (its
``FHIRPathEngine.funcHtmlChecks1``/``funcHtmlChecks2``), so that each narrative problem
fails the one constraint it breaks. The element and attribute lists are those of the
HL7 Java validator (``XhtmlValidator``)::

    >>> html_problems('<div xmlns="http://www.w3.org/1999/xhtml"><p>Hello</p></div>')
    []
    >>> html_problems('<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></div>')
    ["element 'script' is not allowed"]

A narrative's value (``Narrative.div``, of type ``xhtml``) must moreover be one ``<div>``
element in the XHTML namespace (FHIR R5, Narrative: "The XHTML content SHALL ... have a
single root element div"); :func:`narrative_problems` checks that too::

    >>> narrative_problems('<p>Hello</p>')
    ["the narrative's root element must be a <div>, found <p>"]
    >>> has_content('<div xmlns="http://www.w3.org/1999/xhtml"> <p> </p> </div>')
    False
"""

from __future__ import annotations

import html.entities
import re
import xml.etree.ElementTree as ET
from functools import lru_cache

__all__ = ["has_content", "html_attribute", "html_problems", "narrative_problems"]

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
_JAVA_TRIMMED = "".join(chr(code) for code in range(0x21))
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
#: Narratives whose parse and answers are kept (several constraints read each one).
_CACHED_TEXTS = 64


def html_problems(text: str) -> list[str]:
    """What makes ``text`` unacceptable as FHIR narrative XHTML (txt-1: well-formed, and
    only the allowed elements and attributes); empty when it is fine. Whether it has
    content is :func:`has_content`'s question (txt-2).

    ``text`` is either a whole ``<div>`` or a fragment of mixed content.
    """
    return list(_html_problems(text))


@lru_cache(maxsize=_CACHED_TEXTS)
def _html_problems(text: str) -> tuple[str, ...]:
    root = _parse(text)
    if isinstance(root, str):
        return (root,)
    problems: list[str] = []
    for child in root:
        _check(child, problems, in_paragraph=False)
    return tuple(problems)


def narrative_problems(text: str) -> list[str]:
    """What makes ``text`` unacceptable as the value of ``Narrative.div``: it must be a
    single ``<div xmlns="http://www.w3.org/1999/xhtml">`` element, whose content follows
    :func:`html_problems`."""
    root_problem = _root_problem(text)
    return [root_problem] if root_problem else html_problems(text)


def _root_problem(text: str) -> str | None:
    if _DOCTYPE.search(text):
        return None  # html_problems says why
    root = _single_root(text)
    if root is None:
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


def has_content(text: str) -> bool:
    """Whether narrative ``text`` shows something (txt-2): text that is not only
    whitespace, or an image. False for text that is not well-formed XHTML (it has no
    readable content), as in the HL7 validator.

    Whitespace is what Java's ``String.trim()`` removes (the control characters and the
    space), so a no-break space (``&nbsp;``) is content, as it is for the HL7 validator.
    """
    root = _parse(text)
    if isinstance(root, str):
        return False
    if "".join(root.itertext()).strip(_JAVA_TRIMMED):
        return True
    return any(_split(element.tag)[1] == "img" for element in root.iter())


def html_attribute(text: str, name: str) -> list[str]:
    """The values of every ``name`` attribute in narrative ``text``, in document order
    (``href`` of links, ``src`` of images, ``id`` of targets); empty when ``text`` is not
    well-formed XHTML. ``xml:lang`` and other prefixed names are written with ``xml:``.

        >>> html_attribute('<p><a href="#a">x</a><a name="b" href="http://x.org">y</a></p>',
        ...                "href")
        ['#a', 'http://x.org']
    """
    return list(_attributes(text).get(name, ()))


@lru_cache(maxsize=_CACHED_TEXTS)
def _attributes(text: str) -> dict[str, tuple[str, ...]]:
    """Every attribute of the narrative's elements, by name, values in document order:
    several constraints ask for ``href``, ``src``, ``id`` and ``name`` of the same text."""
    root = _parse(text)
    if isinstance(root, str):
        return {}
    found: dict[str, list[str]] = {}
    for element in root.iter():
        attributes = element.attrib
        if attributes and element is not root:
            for attribute, value in attributes.items():
                found.setdefault(_attribute_name(attribute), []).append(value)
    return {name: tuple(values) for name, values in found.items()}


@lru_cache(maxsize=_CACHED_TEXTS)
def _parse(text: str) -> ET.Element | str:
    """The narrative as an element tree (wrapped in a ``div``), or why it is not XHTML.

    Shared, read only: the narrative constraints (txt-1, txt-2 and the built-in link
    checks) all read the same narrative, which is parsed once: as one element when it is
    one (a narrative's ``<div>``), else as mixed content."""
    if _DOCTYPE.search(text):
        return "a DOCTYPE is not allowed"
    root = _single_root(text)
    if root is not None:
        wrapper = ET.Element(f"{{{XHTML_NAMESPACE}}}div")
        wrapper.append(root)
        return wrapper
    wrapped = f'<div xmlns="{XHTML_NAMESPACE}">{_ENTITY.sub(_numeric_entity, text)}</div>'
    try:
        return ET.fromstring(wrapped)
    except ET.ParseError as error:
        return f"not well-formed XHTML: {error}"


@lru_cache(maxsize=_CACHED_TEXTS)
def _single_root(text: str) -> ET.Element | None:
    """The narrative's one element, when the text is exactly one well-formed element."""
    stripped = text.strip()
    if not stripped.startswith("<") or _DOCTYPE.search(stripped):
        return None
    try:
        return ET.fromstring(_ENTITY.sub(_numeric_entity, stripped))
    except ET.ParseError:
        return None


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


@lru_cache(maxsize=1024)
def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        namespace, name = tag[1:].split("}", 1)
        return namespace, name
    return None, tag


@lru_cache(maxsize=1024)
def _attribute_name(attribute: str) -> str:
    namespace, name = _split(attribute)
    return f"xml:{name}" if namespace == _XML_NAMESPACE else name
