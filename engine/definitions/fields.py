"""Field values of resource-definition markdown: text → model values, one parser per field.

The syntax lives in ``fields.lark`` (one LALR parser, built once at import, with
a start rule per field). Two fields need more than a context-free grammar, and their rules
are documented on the functions that apply them: :func:`parse_constraints` (where a
constraint's human text ends is decided by the FHIRPath grammar) and
:func:`parse_mappings` (a map text may contain ``; name=`` inside brackets).

Every parser takes the field's text and the :class:`~engine.model.Source` of the field's
line, and raises :class:`~engine.model.DefinitionError` at that line when the text is
malformed::

    >>> parse_cardinality("1..*", Source("X.md", 9))
    Cardinality(min=1, max=None)
    >>> parse_types("Reference([Patient](/Patient))", Source("X.md", 10))[0].target_types
    ('Patient',)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import cast

import lark
from lark.exceptions import UnexpectedInput, UnexpectedToken

from engine.fhirpath.lint import expression_problems
from engine.fhirpath.private_cache import lark_cache
from engine.fhirpath.regex import PatternError, compile_pattern
from engine.fhirpath.syntax import FhirPathSyntaxError
from engine.fhirpath.syntax import parse as parse_fhirpath
from engine.model import (
    REFERENCE_TYPES,
    Binding,
    BindingStrength,
    Cardinality,
    Constraint,
    DefinitionError,
    Mapping_,
    Severity,
    Source,
    TypeRef,
    canonical_for_link,
)

__all__ = [
    "ContentReference",
    "parse_aliases",
    "parse_binding",
    "parse_cardinality",
    "parse_conditions",
    "parse_constraints",
    "parse_flag",
    "parse_mappings",
    "parse_modifier",
    "parse_regex",
    "parse_types",
]

#: The largest cardinality bound (FHIR's ``unsignedInt``).
MAX_CARDINALITY = 2_147_483_647

_STARTS = [
    "cardinality",
    "types",
    "binding",
    "flag",
    "modifier",
    "aliases",
    "conditions",
    "constraint_item",
    "mapping_identity",
]
_PARSER = lark.Lark(
    resources.files("engine.definitions").joinpath("fields.lark").read_text(encoding="utf-8"),
    parser="lalr",
    lexer="contextual",
    start=_STARTS,
    # Building the LALR tables takes about a second; lark keeps them in a cache file
    # (checked against the grammar's hash, rebuilt when it does not load), so later
    # start-ups load them instead. The file is a pickle: it is kept only in the user's
    # private folder, never in the shared temporary one (lark's default).
    cache=lark_cache("fields.lark"),
)


@dataclass(frozen=True, slots=True)
class ContentReference:
    """A ``Type`` field that says ``See [Questionnaire.item](#Questionnaire.item)``."""

    path: str


def parse_cardinality(text: str, source: Source) -> Cardinality:
    """``0..1``, ``1..*``; min must not exceed max.

    >>> parse_cardinality("2..1", Source("X.md", 3))
    Traceback (most recent call last):
    ...
    engine.model.structure.DefinitionError: X.md:3: cardinality '2..1': min is greater than max
    """
    tree = _parse("cardinality", text, source, f"malformed cardinality '{text}'")
    low, high = (str(token) for token in tree.children)
    for bound in (low, high):
        # FHIR's min is an unsignedInt; a longer number is a typo (and one of thousands
        # of digits would cost Python a quadratic conversion).
        if bound != "*" and (len(bound) > 10 or int(bound) > MAX_CARDINALITY):
            raise DefinitionError(
                f"cardinality '{_shown(text)}': {_shown(bound)} is larger than {MAX_CARDINALITY}",
                source,
            )
    cardinality = Cardinality(int(low), None if high == "*" else int(high))
    if cardinality.max is not None and cardinality.min > cardinality.max:
        raise DefinitionError(f"cardinality '{text}': min is greater than max", source)
    return cardinality


def parse_types(text: str, source: Source) -> tuple[TypeRef, ...] | ContentReference:
    """A comma-separated list of types, or ``See [path](#path)`` for a content reference.

    Each type is ``[code](/code)`` (core types), ``[name](url)`` (the code is the URL, e.g.
    ``http://hl7.org/fhirpath/System.String``), a bare code (``BackboneElement``), or
    ``Code([name](link), …)``: for ``Reference``, ``canonical`` and ``CodeableReference``
    the links are target profiles, for any other code they are profiles of the type
    (``Quantity([SimpleQuantity](/SimpleQuantity))``). Links map to canonical URLs with
    :func:`engine.model.canonical_for_link`.

    >>> parse_types("Quantity([SimpleQuantity](/SimpleQuantity))", Source("X.md", 1))
    (TypeRef(code='Quantity', target_profiles=(), profiles=('http://hl7.org/fhir/StructureDefinition/SimpleQuantity',)),)
    """  # noqa: E501
    tree = _parse("types", text, source, f"malformed type '{text}'")
    if tree.data == "content_reference":
        link_text, target = _link(tree.children[1])
        if not target.startswith("#") or target[1:] != link_text:
            raise DefinitionError(
                f"malformed type '{text}': a content reference is written "
                f"'See [Path](#Path)' with the same path twice",
                source,
            )
        return ContentReference(link_text)
    return tuple(_type_ref(item, text, source) for item in tree.children)


def parse_binding(text: str, source: Source) -> Binding:
    """``strength:[name](link)``; ``link`` is ``/valueset-<name>`` or an absolute URL.

    >>> parse_binding("required:[body-site](/valueset-body-site)", Source("X.md", 1)).value_set
    'http://hl7.org/fhir/ValueSet/body-site'
    """
    tree = _parse("binding", text, source, f"malformed binding '{text}'")
    if len(tree.children) < 2:
        raise DefinitionError(
            f"malformed binding '{text}': expected 'strength:[name](link)'", source
        )
    name, link = _link(tree.children[1])
    return Binding(cast(BindingStrength, str(tree.children[0])), name, link)


def parse_regex(text: str, source: Source) -> str:
    """A primitive type's regular expression, checked by compiling it on the engine that
    will run it (:func:`engine.fhirpath.regex.compile_pattern`).

    >>> try:
    ...     parse_regex("[0-9]+(", Source("X.md", 4))
    ... except DefinitionError as error:
    ...     print(error)
    X.md:4: malformed Regex: regular expression '[0-9]+(': missing ): [0-9]+(
    """
    try:
        compile_pattern(text)
    except PatternError as error:
        raise DefinitionError(f"malformed Regex: {error}", source) from None
    return text


def parse_flag(text: str, source: Source, field: str = "Summary") -> bool:
    """``true`` or ``false``."""
    tree = _parse("flag", text, source, f"malformed {field} '{text}': expected true or false")
    return str(tree.children[0]) == "true"


def parse_modifier(text: str, source: Source) -> tuple[bool, str]:
    """``false``, ``true`` or ``true (Reason: why)`` → ``(is_modifier, reason)``.

    >>> parse_modifier("true (Reason: it is a status (with entered-in-error))", Source("X", 1))
    (True, 'it is a status (with entered-in-error)')
    """
    tree = _parse(
        "modifier",
        text,
        source,
        f"malformed Is Modifier '{text}': expected false, true or 'true (Reason: …)'",
    )
    flag = str(tree.children[0]) == "true"
    reason = str(tree.children[2]) if len(tree.children) > 1 else ""
    if reason and not flag:
        raise DefinitionError("Is Modifier: a reason is only given with 'true'", source)
    return flag, reason


def parse_integer(text: str, source: Source, field: str) -> int:
    """A whole number, optionally signed: ``-2147483648``.

    >>> parse_integer("2147483647", Source("X.md", 3), "Max Value")
    2147483647
    """
    if re.fullmatch(r"[-+]?[0-9]{1,40}", text) is None:
        raise DefinitionError(f"malformed {field} '{text}': expected a whole number", source)
    return int(text)


def parse_aliases(text: str, source: Source) -> tuple[str, ...]:
    """Comma-space separated aliases: ``BodyPartExamined, AnatomicRegionSequence``."""
    tree = _parse("aliases", text, source, f"malformed aliases '{text}'")
    return tuple(str(token) for token in tree.children)


def parse_conditions(text: str, source: Source) -> tuple[str, ...]:
    """Comma-space separated constraint keys: ``isl-1, isl-2``."""
    tree = _parse("conditions", text, source, f"malformed conditions '{text}'")
    return tuple(str(token) for token in tree.children)


def parse_mappings(text: str, source: Source) -> tuple[Mapping_, ...]:
    """``identity=map; identity=map`` → mappings, in order.

    A map text may contain ``; `` and even ``; name=`` (RIM maps such as
    ``Act[classCode=ACT; moodCode=DEFN]``), so a ``; `` separates two mappings only when a
    mapping identity and ``=`` follow it and it is not inside a bracket pair (``[]`` or
    ``()``) that closes later in the text. Unbalanced brackets occur in real maps and only
    count while their closing bracket is still ahead.

    >>> [m.map for m in parse_mappings("rim=Act[a=1; b=2]; w5=FiveWs.what", Source("X", 1))]
    ['Act[a=1; b=2]', 'FiveWs.what']
    """
    mappings = []
    for offset, part in _mapping_parts(text):
        identity, sep, map_text = part.partition("=")
        line_source = _line_in(source, text, offset)
        if not sep or not map_text:
            raise DefinitionError(
                f"malformed mapping '{part}': expected 'identity=map'", line_source
            )
        _parse(
            "mapping_identity", identity, line_source, f"malformed mapping identity '{identity}'"
        )
        mappings.append(Mapping_(identity, map_text))
    return tuple(mappings)


def parse_constraints(text: str, context: str, source: Source) -> tuple[Constraint, ...]:
    """``key | severity | human | expression`` items separated by ``; ``.

    Human texts and expressions may both contain `` | `` and ``; ``, so the FHIRPath
    grammar decides:

    - a ``; `` ends an item only where a new ``key | severity | `` follows it and the item
      before it is complete;
    - within an item, the human text ends at the first `` | `` after which the rest of the
      item is valid FHIRPath.

    A human text containing `` | `` followed by words that themselves read as FHIRPath
    (``a | b | c.exists()``) is genuinely ambiguous; the first reading wins.

    No item can absorb the next: a ``; `` followed by something shaped like an item's
    head (a word, `` | ``, a word, `` | ``) may stay inside an item only within a string
    of its expression. So a malformed item is reported as such, never read as the human
    text of a longer one (a syntax error in ``isl-1`` must not make it take ``isl-2``'s
    expression). Each expression is then checked beyond its syntax
    (:func:`engine.fhirpath.lint.expression_problems`: unknown functions, regular
    expressions).

    Each constraint's ``context`` is ``context`` and its source is the line its item starts
    on (the ``**Constraints:**`` line unless the field spans several lines).
    """
    starts = [0] + [
        match.end()
        for match in re.finditer("; ", text)
        if _is_parsed("constraint_item", text[match.end() :])
    ]
    items = _segment(text, starts)
    if items is None:
        raise _constraints_error(text, context, source)
    constraints = []
    for offset, (key, severity, human, expression) in items:
        item_source = _line_in(source, text, offset)
        problems = expression_problems(expression)
        if problems:
            raise DefinitionError(f"constraint {key}: {problems[0]}", item_source)
        constraints.append(Constraint(key, severity, human, expression, context, item_source))
    return tuple(constraints)


# ---- constraints


_Item = tuple[str, Severity, str, str]
_ITEM_HEAD = re.compile(r"; (?=[^ |;]+ \| [^ |;]+ \| )")


def _segment(text: str, starts: list[int]) -> list[tuple[int, _Item]] | None:
    """Cut ``text`` into complete items, each beginning at one of ``starts``.

    Works backwards: ``readings[i]`` is the reading of ``text[starts[i]:]`` as a run of
    complete items, so a cut that leaves an incomplete item after it is never taken, and
    each candidate item is read once.
    """
    ends = [start - 2 for start in starts[1:]] + [len(text)]
    readings: list[list[tuple[int, _Item]] | None] = [None] * len(starts)
    for first in range(len(starts) - 1, -1, -1):
        for last in range(first, len(starts)):
            if last + 1 < len(starts) and readings[last + 1] is None:
                continue
            item = _split_item(text[starts[first] : ends[last]])
            if item is not None:
                rest = readings[last + 1] if last + 1 < len(starts) else []
                readings[first] = [(starts[first], item), *(rest or [])]
                break
    return readings[0]


def _split_item(text: str) -> _Item | None:
    """``key | severity | human | expression``, or None when no reading is valid."""
    try:
        tree = _PARSER.parse(text, start="constraint_item")
    except UnexpectedInput:
        return None
    key, severity, tail = (str(token) for token in tree.children)
    heads = [match.start() for match in _ITEM_HEAD.finditer(tail)]
    for match in re.finditer(r" \| ", tail):
        human, expression = tail[: match.start()], tail[match.end() :]
        if human and _is_fhirpath(expression):
            if heads and not _heads_in_strings(heads, match.end(), expression):
                return None
            return key, cast(Severity, severity), human, expression
    return None


def _heads_in_strings(heads: list[int], offset: int, expression: str) -> bool:
    """True when every item head (offsets in the item's tail) lies inside a string
    literal of the expression, which starts at ``offset`` in the tail."""
    spans = [
        (offset + (token.start_pos or 0), offset + (token.end_pos or 0))
        for token in parse_fhirpath(expression).scan_values(
            lambda value: isinstance(value, lark.Token) and value.type == "STRING"
        )
    ]
    return all(any(start < head < end for start, end in spans) for head in heads)


@functools.lru_cache(maxsize=4096)
def _is_fhirpath(expression: str) -> bool:
    try:
        parse_fhirpath(expression)
    except FhirPathSyntaxError:
        return False
    return True


def _constraints_error(text: str, context: str, source: Source) -> DefinitionError:
    """Say what is wrong with the first item that cannot be read.

    Items are cut naively here (at every ``; `` before something shaped like a new item,
    whatever its severity), which is the reading an author most likely intended.
    """
    head = re.compile(r"; (?=[^ |;]+ \| [^ |;]+ \| )")
    offsets = [0] + [match.end() for match in head.finditer(text)]
    for offset, next_offset in zip(offsets, [*offsets[1:], len(text) + 2], strict=True):
        item = text[offset : next_offset - 2]
        if _split_item(item) is None:
            return _item_error(item, context, _line_in(source, text, offset))
    return DefinitionError(f"malformed constraints '{text}'", source)


def _item_error(item: str, context: str, source: Source) -> DefinitionError:
    parts = item.split(" | ", 2)
    if len(parts) < 3:
        return DefinitionError(
            f"malformed constraint '{item}': expected 'key | severity | human | expression'",
            source,
        )
    key, severity, tail = parts
    label = f"constraint {key}"
    if not _is_parsed("constraint_item", f"{key} | error | x"):
        return DefinitionError(f"malformed constraint key '{key}'", source)
    if not _is_parsed("constraint_item", f"k | {severity} | x"):
        return DefinitionError(
            f"{label}: unknown severity '{severity}' (expected error, warning, information "
            "or fatal)",
            source,
        )
    splits = [match for match in re.finditer(r" \| ", tail) if match.start() > 0]
    if not splits:
        return DefinitionError(
            f"{label}: expected 'human | expression' after the severity, found '{tail}'", source
        )
    errors = []
    for match in splits:
        try:
            parse_fhirpath(tail[match.end() :])
        except FhirPathSyntaxError as error:
            errors.append(error)
    # The reading that parses furthest is the one the author meant.
    best = max(errors, key=lambda error: (error.line, error.column))
    return DefinitionError(f"{label}: expression is not valid FHIRPath: {best}", source)


# ---- mappings


def _mapping_parts(text: str) -> list[tuple[int, str]]:
    separator = re.compile(r"; (?=[A-Za-z][A-Za-z0-9_.\-]*=)")
    cuts = [m.start() for m in separator.finditer(text) if not _inside_brackets(text, m.start())]
    starts = [0] + [cut + 2 for cut in cuts]
    ends = [*cuts, len(text)]
    return [(start, text[start:end]) for start, end in zip(starts, ends, strict=True)]


_CLOSING = {"[": "]", "(": ")"}


def _inside_brackets(text: str, position: int) -> bool:
    """True when a bracket opened before ``position`` closes after it."""
    stack: list[str] = []
    for char in text[:position]:
        if char in _CLOSING:
            stack.append(_CLOSING[char])
        elif stack and char == stack[-1]:
            stack.pop()
    if not stack:
        return False
    depth = 0
    for char in text[position:]:
        if char in _CLOSING:
            depth += 1
        elif char in _CLOSING.values():
            if depth == 0:
                return char == stack[-1]
            depth -= 1
    return False


# ---- shared helpers


@functools.lru_cache(maxsize=4096)
def _parse_cached(start: str, text: str) -> lark.Tree:
    # Field values repeat a lot (0..1, [code](/code), true) and trees are never mutated.
    return _PARSER.parse(text, start=start)


def _parse(start: str, text: str, source: Source, message: str) -> lark.Tree:
    try:
        return _parse_cached(start, text)
    except UnexpectedInput as error:
        if isinstance(error, UnexpectedToken) and error.token.type == "$END":
            where = ": it ends too early"
        else:
            column = getattr(error, "column", None)
            where = f" at column {column}" if isinstance(column, int) and column > 0 else ""
        raise DefinitionError(f"{message}{where}", source) from None


def _is_parsed(start: str, text: str) -> bool:
    try:
        _PARSER.parse(text, start=start)
    except UnexpectedInput:
        return False
    return True


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "…"


def _link(tree: lark.Tree) -> tuple[str, str]:
    text, target = (str(token) for token in tree.children)
    return text, target


def _type_ref(item: lark.Tree, text: str, source: Source) -> TypeRef:
    if item.data == "bare_type":
        return TypeRef(str(item.children[0]))
    if item.data == "linked_type":
        name, target = _link(cast(lark.Tree, item.children[0]))
        if not target.startswith("/"):
            return TypeRef(target)
        if target[1:] != name:
            raise DefinitionError(
                f"malformed type '{text}': link text '{name}' does not match its target '{target}'",
                source,
            )
        return TypeRef(name)
    code = str(item.children[0])
    urls = tuple(canonical_for_link(_link(cast(lark.Tree, link))[1]) for link in item.children[1:])
    if code in REFERENCE_TYPES:
        return TypeRef(code, target_profiles=urls)
    return TypeRef(code, profiles=urls)


def _line_in(source: Source, text: str, offset: int) -> Source:
    """The source line of ``text[offset]`` for a field value starting at ``source``."""
    return Source(source.file, source.line + text.count("\n", 0, offset))
