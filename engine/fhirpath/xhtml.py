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
import pyexpat
import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Reading:
    """What the narrative rules ask of one well-formed narrative, read in one pass."""

    #: The tag (``{namespace}name``, as ElementTree writes it) of the text's one element,
    #: or ``None`` when the text is mixed content.
    root: str | None
    problems: tuple[str, ...]
    content: bool
    attributes: dict[str, tuple[str, ...]]


def html_problems(text: str) -> list[str]:
    """What makes ``text`` unacceptable as FHIR narrative XHTML (txt-1: well-formed, and
    only the allowed elements and attributes); empty when it is fine. Whether it has
    content is :func:`has_content`'s question (txt-2).

    ``text`` is either a whole ``<div>`` or a fragment of mixed content.
    """
    reading = _read(text)
    return [reading] if isinstance(reading, str) else list(reading.problems)


def narrative_problems(text: str) -> list[str]:
    """What makes ``text`` unacceptable as the value of ``Narrative.div``: it must be a
    single ``<div xmlns="http://www.w3.org/1999/xhtml">`` element, whose content follows
    :func:`html_problems`."""
    root_problem = _root_problem(text)
    return [root_problem] if root_problem else html_problems(text)


def _root_problem(text: str) -> str | None:
    if _DOCTYPE.search(text):
        return None  # html_problems says why
    reading = _read(text)
    root = None if isinstance(reading, str) else reading.root
    if root is None:
        if not text.lstrip().startswith("<"):
            return "the narrative must be a <div> element, found text"
        if isinstance(reading, str):
            return None  # malformed markup: html_problems says where
        return "the narrative must be a single <div> element, with nothing around it"
    namespace, name = _split(root)
    if name != "div":
        return f"the narrative's root element must be a <div>, found <{name}>"
    if namespace != XHTML_NAMESPACE:
        found = f"'{namespace}'" if namespace else "no namespace"
        return (
            f"the narrative's root element must be in the XHTML namespace "
            f"('{XHTML_NAMESPACE}'), found {found}"
        )
    return None


def has_content(text: str) -> bool:
    """Whether narrative ``text`` shows something (txt-2): text that is not only
    whitespace, or an image. False for text that is not well-formed XHTML (it has no
    readable content), as in the HL7 validator.

    Whitespace is what Java's ``String.trim()`` removes (the control characters and the
    space), so a no-break space (``&nbsp;``) is content, as it is for the HL7 validator.
    """
    reading = _read(text)
    return not isinstance(reading, str) and reading.content


def html_attribute(text: str, name: str) -> list[str]:
    """The values of every ``name`` attribute in narrative ``text``, in document order
    (``href`` of links, ``src`` of images, ``id`` of targets); empty when ``text`` is not
    well-formed XHTML. ``xml:lang`` and other prefixed names are written with ``xml:``.

        >>> html_attribute('<p><a href="#a">x</a><a name="b" href="http://x.org">y</a></p>',
        ...                "href")
        ['#a', 'http://x.org']
    """
    reading = _read(text)
    return [] if isinstance(reading, str) else list(reading.attributes.get(name, ()))


@lru_cache(maxsize=_CACHED_TEXTS)
def _read(text: str) -> _Reading | str:
    """The narrative read, or why it is not XHTML.

    Shared, read only: the narrative constraints (txt-1, txt-2 and the built-in link
    checks) all read the same narrative, which is parsed once, as one element when it is
    one (a narrative's ``<div>``), else as mixed content in a ``<div>``. One expat pass
    with handlers does all the work: building an element tree and walking it three times
    cost three times as much, and narrative is most of what many resources hold."""
    if _DOCTYPE.search(text):
        return "a DOCTYPE is not allowed"
    substituted = _ENTITY.sub(_numeric_entity, text)
    stripped = substituted.strip()
    if stripped.startswith("<"):
        try:
            return _Reader(in_wrapper=False).read(stripped)
        except pyexpat.ExpatError:
            pass
    try:
        return _Reader(in_wrapper=True).read(f'<div xmlns="{XHTML_NAMESPACE}">{substituted}</div>')
    except pyexpat.ExpatError as error:
        return f"not well-formed XHTML: {error}"


class _Reader:
    """The expat handlers that check the elements and attributes (txt-1), look for
    content (txt-2) and collect the attributes of one document.

    ``in_wrapper``: the document is mixed content wrapped in a ``<div>`` of ours, which
    is neither checked nor a source of attributes."""

    def __init__(self, *, in_wrapper: bool) -> None:
        self._skip = in_wrapper
        self._root: str | None = None
        self._problems: list[str] = []
        self._content = False
        self._attributes: dict[str, list[str]] = {}
        # How many elements are open from the outermost open paragraph down (block
        # elements are not allowed in a paragraph); 0 outside paragraphs.
        self._paragraph_depth = 0
        self._parser = pyexpat.ParserCreate(namespace_separator="}")

    def read(self, document: str) -> _Reading:
        # Handlers are set only while their answer is open: the first element is the
        # root, end tags matter inside paragraphs only, text until some content is found.
        parser = self._parser
        parser.ordered_attributes = True
        parser.StartElementHandler = self._first
        parser.CharacterDataHandler = self._data
        parser.Parse(document, True)
        return _Reading(
            None if self._skip else self._root,
            tuple(self._problems),
            self._content,
            {name: tuple(values) for name, values in self._attributes.items()},
        )

    def _first(self, expat_name: str, attributes: list[str]) -> None:
        self._root = _tag(expat_name)
        self._parser.StartElementHandler = self._start
        if not self._skip:
            self._start(expat_name, attributes)

    def _start(self, expat_name: str, attributes: list[str]) -> None:
        depth = self._paragraph_depth
        if depth:
            self._paragraph_depth = depth + 1
            name, problems, _ = _element_problems(expat_name, True)
        else:
            name, problems, is_paragraph = _element_problems(expat_name, False)
            if is_paragraph:
                self._paragraph_depth = 1
                self._parser.EndElementHandler = self._end
        if problems:
            self._problems.extend(problems)
        if name == "img" and not self._content:
            self._found_content()
        if attributes:
            self._attributes_of(name, attributes)

    def _attributes_of(self, element: str, attributes: list[str]) -> None:
        found = self._attributes
        for index in range(0, len(attributes), 2):
            name, problem = _attribute_problem(element, attributes[index])
            if name in found:
                found[name].append(attributes[index + 1])
            else:
                found[name] = [attributes[index + 1]]
            if problem:
                self._problems.append(problem)

    def _end(self, expat_name: str) -> None:
        self._paragraph_depth -= 1
        if not self._paragraph_depth:
            self._parser.EndElementHandler = None

    def _data(self, data: str) -> None:
        if data.strip(_JAVA_TRIMMED):
            self._found_content()

    def _found_content(self) -> None:
        self._content = True
        self._parser.CharacterDataHandler = None


@lru_cache(maxsize=1024)
def _element_problems(expat_name: str, in_paragraph: bool) -> tuple[str, tuple[str, ...], bool]:
    """An element's local name, what is wrong with it where it stands, and whether it is
    a paragraph: the same few elements make up every narrative."""
    namespace, name = _split(_tag(expat_name))
    problems = []
    if namespace not in (None, XHTML_NAMESPACE):
        problems.append(f"element '{name}' is not in the XHTML namespace")
    if name not in _ELEMENTS:
        problems.append(f"element '{name}' is not allowed")
    elif in_paragraph and name in _BLOCKS:
        problems.append(f"block element '{name}' is not allowed inside a paragraph")
    return name, tuple(problems), name == "p"


@lru_cache(maxsize=1024)
def _attribute_problem(element: str, expat_name: str) -> tuple[str, str | None]:
    """An attribute's name, and why it is not allowed on ``element`` if it is not."""
    name = _attribute_name(_tag(expat_name))
    allowed = (
        name.startswith("xmlns")
        or name in _ATTRIBUTES
        or f"{element}.{name}" in _ELEMENT_ATTRIBUTES
    )
    return name, None if allowed else f"attribute '{name}' is not allowed on '{element}'"


def _tag(expat_name: str) -> str:
    """ElementTree's form of a name expat reports as ``namespace}name``."""
    return "{" + expat_name if "}" in expat_name else expat_name


def _numeric_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES or name not in html.entities.name2codepoint:
        return match.group(0)
    return f"&#{html.entities.name2codepoint[name]};"


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
