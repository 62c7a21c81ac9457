"""Static checks of every constraint, typed against the definitions: ``rules lint``.

A constraint can be valid FHIRPath, name only real elements, and still check the wrong
thing. :func:`lint_folder` (and :func:`lint_definitions` for loaded definitions) follows
each expression through the element model, from the element the constraint sits on,
and reports what it can tell without data:

- ``aggregation``: ``count()``, ``exists()``, ``empty()``, ``sum()``… of a path that
  passes through a repeating element, combined in arithmetic, a comparison or
  ``implies``, so that the occurrences of that element are pooled where a check per
  occurrence is the likely intent; the finding gives the per-occurrence rewrite;
- ``type-mismatch``, ``string-function``, ``choice-member``, ``primitive-value``,
  ``unknown-function``, ``argument-count``: type errors known before evaluation;
- ``singleton``: a comparison or string function on a collection that may hold several
  items, where FHIRPath compares whole collections or fails;
- ``cannot-fail``, ``cannot-pass``, ``vacuous-implies``: the verdict does not depend on
  the data (``x.exists() or x.empty()``, a condition that an element's cardinality
  makes constant), or an ``implies`` whose left side can never be true;
- ``unknown-condition``, ``unlisted-constraint``: ``Conditions`` keys that name no
  constraint of the type, constraints that no element lists;
- ``unknown-element``: a name that is not an element (the loader's check), and
  ``definition`` for a file the loader rejects.

Each finding names the constraint's source line (``file:line: key: severity: message``).
Findings can be silenced per constraint key and check in a local-rules file (``lint:``
entries, see :mod:`engine.rules.local`); silenced findings stay in the result, marked.

    >>> result = lint_folder("definitions")
    >>> [f.key for f in result.findings if f.check == "aggregation"]
    ['isl-7', 'isl-8', 'isl-10', 'isl-11']
    >>> print(result.findings_for("isl-7")[0].suggestion)
    instance.imageRegion2D.all(coordinate.count() mod 2 = 0)
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import lark

from engine.fhirpath.analysis import unknown_elements
from engine.fhirpath.catalog import FUNCTION_ARITIES
from engine.fhirpath.syntax import FhirPathSyntaxError, parse
from engine.fhirpath.tree import arguments as _arguments
from engine.fhirpath.tree import dotted_name as _dotted
from engine.fhirpath.tree import name as _name
from engine.model import (
    Constraint,
    DefinitionError,
    Definitions,
    ElementDefinition,
    StructureDefinition,
)

__all__ = [
    "CHECKS",
    "Finding",
    "LintResult",
    "lint_constraint",
    "lint_definitions",
    "lint_folder",
    "print_expression",
]

LintSeverity = Literal["error", "warning", "information"]

#: Every check: its name (as written in ``lint:`` silencing entries) → what it finds.
CHECKS: Mapping[str, str] = {
    "aggregation": "count()/exists()/sum()… of a path through a repeating element, "
    "combined so that its occurrences are pooled",
    "type-mismatch": "a comparison or arithmetic between values of incompatible types",
    "string-function": "a string function (matches(), startsWith()…) on a value that is "
    "not a string",
    "choice-member": "a member that none of a choice element's types has",
    "primitive-value": "'.value' on a FHIR primitive, which FHIRPath does not expose",
    "unknown-function": "a function that FHIRPath and FHIR do not define",
    "argument-count": "a function called with the wrong number of arguments",
    "singleton": "a comparison or string function on a collection that may hold several items",
    "cannot-fail": "a constraint true on every resource with valid cardinalities",
    "cannot-pass": "a constraint false or empty on every resource",
    "vacuous-implies": "an 'implies' whose left side can never be true",
    "unknown-condition": "a Conditions key that names no constraint of the type",
    "unlisted-constraint": "a constraint that no element of its type lists in Conditions",
    "unknown-element": "a name that is not an element of the type it is read from",
    "definition": "a definitions file the loader rejects",
    "unused-silence": "a lint silencing entry that matches no finding",
}

_SEVERITY_RANK = {"error": 0, "warning": 1, "information": 2}


@dataclass(frozen=True)
class Finding:
    """One problem found in a definition.

    ``file`` and ``line`` point at the constraint (or the ``Conditions`` field) in the
    markdown; ``key`` is the constraint key (``None`` for a problem with a whole file);
    ``suggestion`` a rewrite of the expression, when there is one; ``silenced`` the
    reason a local-rules ``lint:`` entry gave for silencing it.

        >>> str(Finding("X.md", 3, "x-1", "cannot-fail", "warning", "always true"))
        'X.md:3: x-1: warning: always true'
    """

    file: str
    line: int
    key: str | None
    check: str
    severity: LintSeverity
    message: str
    suggestion: str | None = None
    type_name: str | None = None
    context: str | None = None
    silenced: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key or '-'}: {self.severity}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict (the ``--format json`` line)."""
        return {
            "file": self.file,
            "line": self.line,
            "key": self.key,
            "type": self.type_name,
            "context": self.context,
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "suggestion": self.suggestion,
            "silenced": self.silenced,
        }


@dataclass(frozen=True)
class LintResult:
    """Every finding of one lint run, silenced ones included, in file and line order."""

    findings: tuple[Finding, ...]
    type_count: int
    constraint_count: int

    @property
    def active(self) -> tuple[Finding, ...]:
        """The findings that no ``lint:`` entry silenced."""
        return tuple(f for f in self.findings if f.silenced is None)

    def count(self, severity: LintSeverity) -> int:
        return sum(f.severity == severity for f in self.active)

    def findings_for(self, key: str) -> list[Finding]:
        return [f for f in self.findings if f.key == key]

    def exit_status(self, *, strict: bool = False) -> int:
        """1 when an active finding is an error (or, with ``strict``, a warning), else 0."""
        worst = {"error"} | ({"warning"} if strict else set())
        return 1 if any(f.severity in worst for f in self.active) else 0

    def summary(self) -> str:
        silenced = len(self.findings) - len(self.active)
        counts = ", ".join(
            f"{n} {name}{'s' if n != 1 else ''}"
            for name, n in (
                ("error", self.count("error")),
                ("warning", self.count("warning")),
                ("note", self.count("information")),
            )
        )
        tail = f"; {silenced} silenced" if silenced else ""
        return f"{counts}{tail} in {self.constraint_count} constraints of {self.type_count} types."

    def text(self) -> str:
        """The ``--format text`` report: each active finding (with its suggestion
        indented below it), then the summary line."""
        lines: list[str] = []
        for finding in self.active:
            lines.append(str(finding))
            if finding.suggestion:
                lines.append(f"    suggestion: {finding.suggestion}")
        lines.append(self.summary())
        return "\n".join(lines)

    def json_lines(self) -> Iterator[str]:
        """The ``--format json`` report: one JSON object per finding and line."""
        for finding in self.findings:
            yield json.dumps(finding.to_json(), ensure_ascii=False)


# ---- entry points


def lint_folder(
    *paths: str | os.PathLike[str], rules_file: str | os.PathLike[str] | None = None
) -> LintResult:
    """Lint the definitions markdown in ``paths`` (folders or ``.md`` files).

    Unlike loading, one bad file does not stop the run: a file the loader rejects is a
    ``definition`` finding and the others are still checked, and names that are not
    elements are findings rather than errors. ``rules_file`` is a local-rules file:
    its constraints are linted too and its ``lint:`` entries silence findings.
    Raises :class:`~engine.model.DefinitionError` when a path or the local-rules file
    cannot be used at all.
    """
    from engine.definitions.markdown import parse_definitions_text

    types: dict[str, StructureDefinition] = {}
    findings: list[Finding] = []
    for file in _markdown_files(paths):
        try:
            text = Path(file).read_text(encoding="utf-8")
            sd = parse_definitions_text(text, file)
        except (OSError, UnicodeDecodeError) as error:
            findings.append(Finding(file, 1, None, "definition", "error", f"cannot read: {error}"))
            continue
        except DefinitionError as error:
            source = error.source
            findings.append(
                Finding(
                    source.file if source else file,
                    source.line if source else 1,
                    None,
                    "definition",
                    "error",
                    error.message,
                )
            )
            continue
        if sd.name in types:
            findings.append(
                Finding(
                    file,
                    sd.source.line,
                    None,
                    "definition",
                    "error",
                    f"type '{sd.name}' is defined twice (first in {types[sd.name].source})",
                )
            )
            continue
        types[sd.name] = sd
    definitions = Definitions(types)
    silences: Mapping[tuple[str, str], tuple[str, int]] = {}
    if rules_file is not None:
        from engine.rules.local import apply_local_rules, lint_silences

        definitions = apply_local_rules(definitions, rules_file)
        silences = lint_silences(rules_file, definitions)
    result = lint_definitions(definitions, silences=silences, rules_file=rules_file)
    return replace(result, findings=tuple(_ordered([*findings, *result.findings])))


def lint_definitions(
    definitions: Definitions,
    *,
    silences: Mapping[tuple[str, str], tuple[str, int]] | None = None,
    rules_file: str | os.PathLike[str] | None = None,
) -> LintResult:
    """Lint every constraint and ``Conditions`` field of loaded ``definitions``.

    ``silences`` maps ``(key, check)`` to the written reason and the line of the
    local-rules entry (:func:`engine.rules.local.lint_silences`); a silence that matches
    no finding is itself reported (``unused-silence``) at that line of ``rules_file``.
    """
    findings: list[Finding] = []
    constraint_count = 0
    owners = definitions.constraint_owners()
    for name in sorted(definitions):
        sd = definitions[name]
        for constraint in sd.constraints:
            constraint_count += 1
            findings.extend(_lint_constraint(definitions, sd, constraint))
        findings.extend(_lint_conditions(definitions, sd, owners))
    silences = silences or {}
    used: set[tuple[str, str]] = set()
    marked: list[Finding] = []
    for finding in findings:
        entry = silences.get((finding.key or "", finding.check))
        if entry is not None:
            used.add((finding.key or "", finding.check))
            finding = replace(finding, silenced=entry[0])
        marked.append(finding)
    for (key, check), (_, line) in silences.items():
        if (key, check) not in used:
            marked.append(
                Finding(
                    os.fspath(rules_file) if rules_file is not None else "<lint silences>",
                    line,
                    key,
                    "unused-silence",
                    "warning",
                    f"the lint entry silencing {check} for {key} matches no finding",
                )
            )
    return LintResult(tuple(_ordered(marked)), len(definitions), constraint_count)


def lint_constraint(definitions: Definitions, constraint: Constraint) -> list[Finding]:
    """The findings on one constraint's expression (every check but those of
    ``Conditions``), for a constraint that need not be part of ``definitions`` yet.

        >>> from engine.model import Constraint, Source
        >>> expression = "instance.all(frameNumber.count() mod 2 = 0)"
        >>> draft = Constraint("x-1", "error", "even", expression, "ImagingSelection",
        ...                    Source("draft", 1))
        >>> lint_constraint(defs, draft)
        []
    """
    sd = definitions.get(constraint.context.split(".", 1)[0])
    if sd is None:
        return [
            Finding(
                constraint.source.file,
                constraint.source.line,
                constraint.key,
                "unknown-element",
                "error",
                f"unknown context '{constraint.context}'",
            )
        ]
    return _ordered(_lint_constraint(definitions, sd, constraint))


def _markdown_files(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The ``*.md`` files a definitions load would read (``README.md`` and anything under
    a ``rules`` folder excepted), in a stable order."""
    files: list[str] = []
    for given in paths:
        path = os.fspath(given)
        if os.path.isdir(path):
            for directory, subdirectories, names in os.walk(path):
                subdirectories[:] = sorted(
                    d for d in subdirectories if d != "rules" and not d.startswith(".")
                )
                files += [
                    os.path.join(directory, n)
                    for n in sorted(names)
                    if n.endswith(".md") and n.lower() != "readme.md"
                ]
        elif path.endswith(".md") and os.path.isfile(path):
            files.append(path)
        elif not os.path.exists(path):
            raise DefinitionError(f"definitions file or folder not found: '{path}'")
        else:
            raise DefinitionError(f"'{path}' is not a definitions file (expected *.md)")
    if not files:
        raise DefinitionError(f"no definition files (*.md) in {', '.join(map(str, paths))}")
    return files


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (f.file, f.line, _natural(f.key or ""), _SEVERITY_RANK[f.severity], f.check),
    )


def _natural(key: str) -> tuple[Any, ...]:
    """``isl-7`` before ``isl-10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key))


# ---- one constraint


def _lint_constraint(
    definitions: Definitions, sd: StructureDefinition, constraint: Constraint
) -> list[Finding]:
    def finding(
        check: str, severity: LintSeverity, message: str, suggestion: str | None = None
    ) -> Finding:
        return Finding(
            constraint.source.file,
            constraint.source.line,
            constraint.key,
            check,
            severity,
            message,
            suggestion,
            sd.name,
            constraint.context,
        )

    try:
        tree = parse(constraint.expression)
    except FhirPathSyntaxError as error:
        return [finding("definition", "error", f"not valid FHIRPath: {error.message}")]
    found = [
        finding("unknown-element", "error", message)
        for message in unknown_elements(constraint.expression, constraint.context, definitions)
    ]
    analysis = _Analysis(definitions, sd, constraint.context, tree)
    found += [finding(*item) for item in dict.fromkeys(analysis.findings)]
    found += [finding(*item) for item in _aggregation(analysis)]
    found += [finding(*item) for item in _constancy(analysis)]
    return found


# ---- Conditions


_CONDITIONS_FIELD = "**Conditions:**"


def _lint_conditions(
    definitions: Definitions, sd: StructureDefinition, owners: Mapping[str, tuple[str, ...]]
) -> list[Finding]:
    found: list[Finding] = []
    own_keys = {c.key for base in definitions.lineage(sd.name) for c in base.constraints}
    listed: set[str] = set()
    lines = _FieldLines(sd)
    for element in sd.elements:
        listed.update(element.conditions)
        applicable = own_keys | _type_constraint_keys(definitions, sd, element)
        for key in element.conditions:
            if key in applicable:
                continue
            where = lines.line(element)
            if key not in owners:
                message = f"Conditions of {element.path} names '{key}', which is no constraint"
                found.append(
                    Finding(where.file, where.line, key, "unknown-condition", "error", message)
                )
            else:
                message = (
                    f"Conditions of {element.path} names '{key}', a constraint of "
                    f"{', '.join(owners[key])}, not of {sd.name} or the element's type"
                )
                found.append(
                    Finding(where.file, where.line, key, "unknown-condition", "warning", message)
                )
    for element in sd.elements:
        for constraint in element.constraints:
            if constraint.key in listed or constraint.source.file != sd.source.file:
                # A local rule's constraint lives in another file: nothing can list it.
                continue
            read = _elements_read(definitions, sd, constraint)
            if read:
                found.append(
                    Finding(
                        constraint.source.file,
                        constraint.source.line,
                        constraint.key,
                        "unlisted-constraint",
                        "warning",
                        f"no element lists {constraint.key} in its Conditions, though it reads "
                        f"{', '.join(read)}",
                        type_name=sd.name,
                        context=constraint.context,
                    )
                )
    return found


def _type_constraint_keys(
    definitions: Definitions, sd: StructureDefinition, element: ElementDefinition
) -> set[str]:
    """The constraints an element's own type brings (``ele-1`` of a backbone element)."""
    codes = list(element.type_codes) or (["BackboneElement"] if sd.children(element) else [])
    if sd.children(element) and "BackboneElement" not in codes:
        codes.append("BackboneElement")
    return {c.key for code in codes for base in definitions.lineage(code) for c in base.constraints}


def _elements_read(
    definitions: Definitions, sd: StructureDefinition, constraint: Constraint
) -> list[str]:
    """The elements of ``sd`` itself (other than the constraint's context) that the
    expression reads; an unlisted constraint reading none has nowhere to be listed."""
    try:
        tree = parse(constraint.expression)
    except FhirPathSyntaxError:
        return []
    analysis = _Analysis(definitions, sd, constraint.context, tree)
    read = analysis.elements_read
    return sorted(path for owner, path in read if owner == sd.name and path != constraint.context)


@dataclass(frozen=True)
class _Where:
    file: str
    line: int


class _FieldLines:
    """The line of each element's ``**Conditions:**`` field, read from its markdown."""

    def __init__(self, sd: StructureDefinition) -> None:
        self._sd = sd
        self._lines: list[str] | None = None

    def line(self, element: ElementDefinition) -> _Where:
        file = element.source.file
        if self._lines is None:
            try:
                self._lines = Path(file).read_text(encoding="utf-8").split("\n")
            except (OSError, UnicodeDecodeError):
                self._lines = []
        start = element.source.line
        for number in range(start, len(self._lines) + 1):
            text = self._lines[number - 1]
            if number > start and text.startswith("## "):
                break
            if text.startswith(_CONDITIONS_FIELD):
                return _Where(file, number)
        return _Where(file, start)


# ---- the expression printer


_PRECEDENCE = {
    "IMPLIES": 1,
    "OR": 2,
    "XOR": 2,
    "AND": 3,
    "IN": 4,
    "CONTAINS": 4,
    "EQUALITY_OP": 5,
    "COMPARISON_OP": 6,
    "UNION": 7,
    "ADDITIVE_OP": 9,
    "MULTIPLICATIVE_OP": 10,
    "DIV": 10,
    "MOD": 10,
}
_TYPE_EXPRESSION, _POLARITY, _POSTFIX, _TERM = 8, 11, 12, 13


def print_expression(node: lark.Tree | lark.Token, strip: frozenset[int] = frozenset()) -> str:
    """The FHIRPath text of a parse tree (of :func:`engine.fhirpath.syntax.parse`), with
    parentheses only where precedence needs them.

    ``strip`` holds the ids of tree nodes to leave out of the paths they start, which is
    how a rewrite moves an expression inside ``X.all(…)``: ``X.a`` prints as ``a``.

        >>> print_expression(parse("(a or b).not() and c.count()+1 > 2"))
        '(a or b).not() and c.count() + 1 > 2'
    """
    return _Printer(strip).text(node)


class _Printer:
    def __init__(self, strip: frozenset[int]) -> None:
        self._strip = strip

    def text(self, node: lark.Tree | lark.Token) -> str:
        if isinstance(node, lark.Token):
            return str(node)
        kind = node.data
        if id(node) in self._strip:
            return "$this"
        if kind == "binary":
            left, operator, right = node.children
            level = _PRECEDENCE[str(getattr(operator, "type", ""))]
            return (
                f"{self._operand(left, level, strict=False)} {operator} "
                f"{self._operand(right, level, strict=True)}"
            )
        if kind == "type_expression":
            operand, operator, specifier = node.children
            return f"{self._operand(operand, _TYPE_EXPRESSION, strict=False)} {operator} " + (
                self.text(specifier)
            )
        if kind == "polarity":
            sign, operand = node.children
            return f"{sign}{self._operand(operand, _POLARITY, strict=False)}"
        if kind == "invoke":
            target, invocation = node.children
            if id(target) in self._strip:
                return self.text(invocation)
            return f"{self._operand(target, _POSTFIX, strict=False)}.{self.text(invocation)}"
        if kind == "indexer":
            collection, index = node.children
            return f"{self._operand(collection, _POSTFIX, strict=False)}[{self.text(index)}]"
        if kind == "member":
            return self.text(node.children[0])
        if kind == "function":
            arguments = _arguments(node)
            inside = ", ".join(self.text(a) for a in arguments)
            return f"{self.text(node.children[0])}({inside})"
        if kind in ("identifier", "boolean", "string", "number", "long_number", "datetime"):
            return self.text(node.children[0])
        if kind in ("time", "this", "index", "total", "external_constant"):
            return self.text(node.children[0])
        if kind == "quantity":
            number, unit = node.children
            return f"{number} {unit}"
        if kind == "null":
            return "{}"
        if kind == "type_specifier":
            return ".".join(self.text(child) for child in node.children)
        if kind == "param_list":
            return ", ".join(self.text(child) for child in node.children)
        return " ".join(self.text(child) for child in node.children)

    def _operand(self, node: lark.Tree | lark.Token, level: int, *, strict: bool) -> str:
        inner = _level(node)
        text = self.text(node)
        if inner < level or (strict and inner == level):
            return f"({text})"
        return text


def _level(node: lark.Tree | lark.Token) -> int:
    if isinstance(node, lark.Token):
        return _TERM
    if node.data == "binary":
        return _PRECEDENCE[str(getattr(node.children[1], "type", ""))]
    if node.data == "type_expression":
        return _TYPE_EXPRESSION
    if node.data == "polarity":
        return _POLARITY
    if node.data in ("invoke", "indexer"):
        return _POSTFIX
    return _TERM


# ---- types and collections


_SYSTEM = "http://hl7.org/fhirpath/System."
_FAMILIES: Mapping[str, frozenset[str]] = {
    "string": frozenset(
        {"string", "code", "id", "uri", "url", "canonical", "oid", "uuid", "markdown"}
        | {"base64Binary", "xhtml", "System.String"}
    ),
    "integer": frozenset(
        {"integer", "positiveInt", "unsignedInt", "integer64", "System.Integer", "System.Long"}
    ),
    "decimal": frozenset({"decimal", "System.Decimal"}),
    "boolean": frozenset({"boolean", "System.Boolean"}),
    "date": frozenset({"date", "dateTime", "instant", "System.Date", "System.DateTime"}),
    "time": frozenset({"time", "System.Time"}),
    "quantity": frozenset({"Quantity", "System.Quantity"}),
}
_FAMILY_OF = {code: family for family, codes in _FAMILIES.items() for code in codes}
_ORDERED = frozenset({"string", "integer", "decimal", "date", "time", "quantity"})
_NUMERIC = frozenset({"integer", "decimal"})


@dataclass(frozen=True)
class _Ty:
    """One possible type of a collection's items: a type code (``code``,
    ``System.Boolean``, ``BackboneElement``) and, when known, the element whose
    occurrences the items are (its children come from the model)."""

    code: str
    owner: StructureDefinition | None = field(default=None, compare=False)
    element: ElementDefinition | None = field(default=None, compare=False)
    path: str = ""


@dataclass(frozen=True)
class _Step:
    """One navigation step of a path: the tree node that ends there, its text, and
    whether the element it reads repeats."""

    node: lark.Tree = field(compare=False)
    key: str
    repeats: bool
    #: The cardinality of the element read (``0..*``), for messages.
    cardinality: str = field(default="", compare=False)
    #: The step ends a sub-tree of its own (not the inside of a ``select()``), so a
    #: rewrite can cut the path there.
    exact: bool = True


@dataclass(frozen=True)
class _Coll:
    """What is known about the collection a sub-expression gives.

    ``types`` (``None``: unknown) are the possible item types; ``root`` and ``steps``
    describe a navigation path from a scope's focus (``this@0`` is the constraint's
    context, ``this@N`` the item of the N-th function argument, ``resource`` is
    ``%resource``); ``low``/``high`` bound the number of items (``high`` ``None``:
    unbounded); ``choice`` is the choice element read without its type.
    """

    types: tuple[_Ty, ...] | None = None
    root: str | None = None
    steps: tuple[_Step, ...] | None = None
    low: int = 0
    high: int | None = None
    choice: ElementDefinition | None = None
    #: Every step was a plain member: ``low`` is a real lower bound.
    plain: bool = False


_UNKNOWN = _Coll()
_BOOLEAN = _Coll(types=(_Ty("System.Boolean"),), low=1, high=1)
_SINGLE_BOOLEAN_OR_EMPTY = _Coll(types=(_Ty("System.Boolean"),), low=0, high=1)


def _system(name: str, low: int = 0, high: int | None = 1) -> _Coll:
    return _Coll(types=(_Ty(f"System.{name}"),), low=low, high=high)


def _times(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a * b


#: Functions whose arguments are evaluated once per item of their input.
_ITEM_FUNCTIONS = frozenset(
    {"where", "select", "all", "exists", "repeat", "repeatAll", "aggregate", "sort", "iif"}
)
#: The terminology service API (``%terminologies.expand(…)``), with its own arities.
_TERMINOLOGY_FUNCTIONS = frozenset(
    {"expand", "lookup", "validateVS", "validateCS", "subsumes", "translate"}
)
#: Functions that need their input to be one string.
_STRING_FUNCTIONS = frozenset(
    {"matches", "matchesFull", "replaceMatches", "startsWith", "endsWith", "contains"}
    | {"substring", "upper", "lower", "replace", "length", "indexOf", "lastIndexOf"}
    | {"toChars", "split", "trim", "encode", "decode", "escape", "unescape"}
)
#: Functions that always give exactly one boolean.
_ALWAYS_BOOLEAN = frozenset(
    {"empty", "exists", "all", "allTrue", "anyTrue", "allFalse", "anyFalse", "isDistinct"}
    | {"subsetOf", "supersetOf", "hasValue", "htmlChecks"}
)
#: Functions that give at most one boolean (empty on an empty input).
_MAYBE_BOOLEAN = frozenset(
    {"not", "matches", "matchesFull", "startsWith", "endsWith", "contains", "is"}
    | {"convertsToBoolean", "convertsToInteger", "convertsToLong", "convertsToDate"}
    | {"convertsToDateTime", "convertsToDecimal", "convertsToString", "convertsToTime"}
    | {"convertsToQuantity", "comparable", "conformsTo", "memberOf", "subsumes", "subsumedBy"}
    | {"toBoolean"}
)
#: Filters: the items are some of the input's, of the same types.
_FILTERS = frozenset({"where", "distinct", "intersect", "exclude", "trace", "defineVariable"})
#: Subsetting to one item.
_TO_ONE = frozenset({"first", "last", "single"})
#: Aggregates of a collection, and those giving a number.
_AGGREGATES = frozenset(
    {"count", "exists", "empty", "sum", "min", "max", "avg", "all", "allTrue", "anyTrue"}
    | {"allFalse", "anyFalse"}
)
_NUMERIC_AGGREGATES = frozenset({"count", "sum", "min", "max", "avg"})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "div", "mod"})
_COMPARISON = frozenset({"=", "!=", "~", "!~", "<", ">", "<=", ">="})
_EQUALITY = frozenset({"=", "!=", "~", "!~"})


class _Analysis:
    """One constraint's expression, typed through the element model.

    Walks the parse tree once from the constraint's context, recording for every node
    the collection it gives (:class:`_Coll`), the scope it is evaluated in, every
    aggregate call with the path it aggregates, the type errors it can tell, and the
    elements of the model the expression reads.
    """

    def __init__(
        self, definitions: Definitions, sd: StructureDefinition, context: str, tree: lark.Tree
    ) -> None:
        self.definitions = definitions
        self.sd = sd
        self.tree = tree
        self.info: dict[int, _Coll] = {}
        self.scope: dict[int, str] = {}
        self.parent: dict[int, lark.Tree] = {}
        self.aggregates: list[tuple[lark.Tree, str, _Coll]] = []
        self.findings: list[tuple[str, LintSeverity, str, str | None]] = []
        self.elements_read: set[tuple[str, str]] = set()
        self._scopes = 0
        self._texts: dict[int, str] = {}
        element = sd.get(context)
        types = self._types_of(sd, element) if element is not None else None
        if element is not None and element.parent_path is None:
            types = (_Ty(sd.name, sd, element, sd.name),)
        self.context = _Coll(types=types, root="this@0", steps=(), low=1, high=1, plain=True)
        resource: tuple[_Ty, ...] | None = None
        if sd.kind == "resource" and not sd.abstract:
            resource = (_Ty(sd.name, sd, sd.root, sd.name),)
        self.resource = _Coll(types=resource, root="resource", steps=(), low=1, high=1, plain=True)
        self._visit(tree, self.context, "this@0")

    def text(self, node: lark.Tree | lark.Token) -> str:
        if isinstance(node, lark.Token):
            return str(node)
        cached = self._texts.get(id(node))
        if cached is None:
            cached = self._texts[id(node)] = print_expression(node)
        return cached

    # -- the walk

    def _visit(self, node: lark.Tree | lark.Token, this: _Coll, scope: str) -> _Coll:
        if isinstance(node, lark.Token):
            return _UNKNOWN
        self.scope[id(node)] = scope
        for child in node.children:
            if isinstance(child, lark.Tree):
                self.parent[id(child)] = node
        handler = getattr(self, f"_on_{node.data}", None)
        result = handler(node, this, scope) if handler is not None else _UNKNOWN
        self.info[id(node)] = result
        return result

    def _on_binary(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        left_node, operator, right_node = node.children
        left = self._visit(left_node, this, scope)
        right = self._visit(right_node, this, scope)
        op = str(operator)
        if op in ("and", "or", "xor", "implies"):
            return _SINGLE_BOOLEAN_OR_EMPTY
        if op == "|":
            types = None if left.types is None or right.types is None else left.types + right.types
            return _Coll(types=types, high=_plus(left.high, right.high))
        if op in _COMPARISON:
            self._check_comparison(node, op, left_node, left, right_node, right)
            return _SINGLE_BOOLEAN_OR_EMPTY
        if op in ("in", "contains"):
            element = left if op == "in" else right
            element_node = left_node if op == "in" else right_node
            self._check_singleton(element_node, element, f"'{op}'")
            return _SINGLE_BOOLEAN_OR_EMPTY
        if op == "&":
            return _system("String", 1, 1)
        self._check_arithmetic(node, op, left_node, left, right_node, right)
        families = {_family(left), _family(right)}
        if families <= {"integer"} and op != "/":
            return _system("Integer")
        if families <= _NUMERIC:
            return _system("Decimal")
        if op == "+" and families == {"string"}:
            return _system("String")
        return _Coll(high=1)

    def _on_type_expression(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        operand, operator, specifier = node.children
        self._visit(operand, this, scope)
        if str(operator) == "is":
            return _SINGLE_BOOLEAN_OR_EMPTY
        return _Coll(types=self._named(_dotted(specifier)), high=1)

    def _on_polarity(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return self._visit(node.children[1], this, scope)

    def _on_indexer(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        collection_node, index = node.children
        self._visit(index, this, scope)
        collection = self._visit(collection_node, this, scope)
        return self._to_one(node, collection)

    def _on_invoke(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        target, invocation = node.children
        focus = self._visit(target, this, scope)
        self.scope[id(invocation)] = scope
        self.parent[id(invocation)] = node
        if invocation.data == "member":
            result = self._member(node, invocation, focus, term=False)
        elif invocation.data == "function":
            result = self._function(node, invocation, focus, this, scope)
        else:
            result = _UNKNOWN
        self.info[id(invocation)] = result
        return result

    def _on_member(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return self._member(node, node, this, term=True)

    def _on_function(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return self._function(node, node, this, this, scope)

    def _on_this(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return this

    def _on_index(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return _system("Integer", 1, 1)

    def _on_external_constant(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        name = str(node.children[0])[1:].strip("`'")
        if name == "context":
            return self.context
        if name in ("resource", "rootResource"):
            return replace(self.resource, root=name)
        if name in ("ucum", "sct", "loinc") or name.startswith(("vs-", "ext-")):
            return _system("String", 1, 1)
        return _UNKNOWN

    def _on_string(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return _system("String", 1, 1)

    def _on_number(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return _system("Decimal" if "." in str(node.children[0]) else "Integer", 1, 1)

    def _on_long_number(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return _system("Long", 1, 1)

    def _on_boolean(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return _system("Boolean", 1, 1)

    def _on_datetime(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return _system("DateTime", 1, 1)

    def _on_time(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return _system("Time", 1, 1)

    def _on_quantity(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return _system("Quantity", 1, 1)

    def _on_null(self, node: lark.Tree, this: _Coll, scope: str) -> _Coll:
        return _Coll(types=(), low=0, high=0)

    # -- members

    def _member(self, node: lark.Tree, invocation: lark.Tree, focus: _Coll, *, term: bool) -> _Coll:
        name = _name(invocation)
        if focus.types is None:
            return _UNKNOWN
        found: list[tuple[StructureDefinition, ElementDefinition, str]] = []
        missing = 0
        for ty in focus.types:
            children = self._children(ty)
            if children is None:
                return _UNKNOWN
            match = _match(children, name)
            if match is None:
                missing += 1
            else:
                found.append((*match, name))
        if not found:
            if term and name[:1].isupper():
                # A leading type name (``ImagingSelection.instance``) filters the focus.
                return focus
            if focus.choice is not None and name != "value":
                labels = ", ".join(ty.code for ty in focus.types)
                self.findings.append(
                    (
                        "choice-member",
                        "error",
                        f"'{name}' is an element of none of the types of "
                        f"{focus.choice.path} ({labels}), so it is always empty",
                        None,
                    )
                )
            elif name == "value" and self._all_primitive(focus.types):
                self.findings.append(self._primitive_value(node, focus))
            return _UNKNOWN
        if name == "value":
            # A primitive's ``value`` is no FHIRPath child; ``Quantity.value`` is.
            complex_found = [f for f in found if f[0].kind != "primitive-type"]
            if not complex_found:
                self.findings.append(self._primitive_value(node, focus))
                return _UNKNOWN
            found = complex_found
        types: list[_Ty] = []
        low: int | None = None
        high: int | None = 0
        repeats = False
        choice: ElementDefinition | None = None
        for owner, child, written in found:
            self.elements_read.add((owner.name, child.path))
            card = child.cardinality
            repeats = repeats or card.repeats
            # A typed choice (``valueQuantity``) is absent whenever another type is used.
            least = 0 if child.is_choice and written != child.name[:-3] else card.min
            low = least if low is None else min(low, least)
            high = None if high is None or card.max is None else max(high, card.max)
            child_types = self._child_types(owner, child, written)
            if child_types is None:
                return _Coll(
                    root=focus.root,
                    steps=self._extend(focus, node, repeats),
                    low=0,
                    high=_times(focus.high, high),
                )
            types.extend(child_types)
            if child.is_choice and written == child.name[:-3]:
                choice = child
        if missing:
            low = 0
        plain = focus.plain
        cardinality = "/".join(dict.fromkeys(str(child.cardinality) for _, child, _ in found))
        return _Coll(
            types=tuple(dict.fromkeys(types)),
            root=focus.root,
            steps=self._extend(focus, node, repeats, cardinality),
            low=focus.low * (low or 0) if plain else 0,
            high=_times(focus.high, high),
            choice=choice,
            plain=plain,
        )

    def _primitive_value(
        self, node: lark.Tree, focus: _Coll
    ) -> tuple[str, LintSeverity, str, str | None]:
        labels = ", ".join(dict.fromkeys(ty.code for ty in focus.types or ()))
        suggestion = None
        if node.data == "invoke":
            target = self.text(node.children[0])
            suggestion = _print_replacing(self.tree, node, target)
        return (
            "primitive-value",
            "error",
            f"'{self.text(node)}' is always empty: FHIRPath gives a primitive ({labels}) no "
            "'value' child, the element is its value",
            suggestion,
        )

    def _extend(
        self, focus: _Coll, node: lark.Tree, repeats: bool, cardinality: str = ""
    ) -> tuple[_Step, ...] | None:
        if focus.steps is None:
            return None
        return (*focus.steps, _Step(node, self.text(node), repeats, cardinality))

    def _children(self, ty: _Ty) -> dict[str, tuple[StructureDefinition, ElementDefinition]] | None:
        """The elements inside one item of ``ty``; ``None`` when that is not known (a
        type not loaded, an abstract type such as ``Resource`` that stands for any)."""
        if ty.code.startswith("System."):
            return {}
        owner, element = ty.owner, ty.element
        if owner is not None and element is not None:
            if element.parent_path is not None and owner.children(element):
                return self.definitions.children_of(owner, element)
            sd = owner if element.parent_path is None else self.definitions.get(ty.code)
            if sd is None or not self.definitions.is_complete_lineage(sd.name):
                return None
            if sd.abstract and not (element.parent_path is None and ty.path == self.sd.name):
                return None
            return self.definitions.children_of(owner, element)
        sd = self.definitions.get(ty.code)
        if sd is None or sd.abstract or not self.definitions.is_complete_lineage(sd.name):
            return None
        return self.definitions.children_of(sd, sd.root)

    def _child_types(
        self, owner: StructureDefinition, child: ElementDefinition, written: str
    ) -> tuple[_Ty, ...] | None:
        if child.is_choice:
            if written != child.name[:-3]:
                code = _type_for_suffix(child, written[len(child.name) - 3 :])
                return self._named(code)
            found: list[_Ty] = []
            for code in child.type_codes:
                named = self._named(code)
                if named is None:
                    return None
                found.extend(named)
            return tuple(found)
        return self._types_of(owner, child)

    def _types_of(
        self, owner: StructureDefinition, element: ElementDefinition
    ) -> tuple[_Ty, ...] | None:
        if element.content_reference is not None:
            target = self.definitions.content_target(owner, element.content_reference)
            if target is None:
                return None
            owner, element = target
        if owner.children(element):
            code = (element.type_codes or ("BackboneElement",))[0]
            return (_Ty(code, owner, element, element.path),)
        if element.is_choice:
            return self._child_types(owner, element, element.name[:-3])
        if len(element.types) != 1:
            return None
        code = _type_code(element.types[0].code)
        if code.startswith("System."):
            return (_Ty(code),)
        return (_Ty(code, owner, element, element.path),)

    def _named(self, name: str | None) -> tuple[_Ty, ...] | None:
        if name is None:
            return None
        code = _type_code(name.removeprefix("FHIR."))
        if code.startswith("System."):
            return (_Ty(code),)
        if "." in code:
            return None
        sd = self.definitions.get(code)
        if sd is None:
            return (_Ty(code),)
        return (_Ty(code, sd, sd.root, sd.name),)

    def _is_primitive(self, ty: _Ty) -> bool:
        sd = self.definitions.get(ty.code)
        return sd is not None and sd.kind == "primitive-type"

    def _all_primitive(self, types: tuple[_Ty, ...]) -> bool:
        return bool(types) and all(self._is_primitive(ty) for ty in types)

    # -- functions

    def _function(
        self, node: lark.Tree, invocation: lark.Tree, focus: _Coll, this: _Coll, scope: str
    ) -> _Coll:
        name = _name(invocation)
        arguments = _arguments(invocation)
        arity = FUNCTION_ARITIES.get(name)
        if name in _TERMINOLOGY_FUNCTIONS and _on_terminologies(node):
            arity = (1, None)
        if arity is None:
            self.findings.append(
                ("unknown-function", "error", f"{name}() is not a FHIRPath or FHIR function", None)
            )
        elif len(arguments) < arity[0] or (arity[1] is not None and len(arguments) > arity[1]):
            self.findings.append(
                (
                    "argument-count",
                    "error",
                    f"{name}() takes {_arity_text(arity)}, not {len(arguments)}",
                    None,
                )
            )
        if name in ("ofType", "as", "is"):
            type_name = _dotted(arguments[0]) if len(arguments) == 1 else None
            for argument in arguments:
                self.scope[id(argument)] = scope
            if name == "is":
                return _SINGLE_BOOLEAN_OR_EMPTY
            return _Coll(
                types=self._named(type_name),
                root=focus.root,
                steps=self._refilter(focus, node),
                low=0,
                high=focus.high,
            )
        results: list[_Coll] = []
        if name in _ITEM_FUNCTIONS:
            self._scopes += 1
            item_scope = f"this@{self._scopes}"
            item = _Coll(types=focus.types, root=item_scope, steps=(), low=1, high=1, plain=True)
            results = [self._visit(argument, item, item_scope) for argument in arguments]
        else:
            results = [self._visit(argument, this, scope) for argument in arguments]
        if name in _STRING_FUNCTIONS:
            self._check_string_input(node, name, focus)
        if name in _AGGREGATES:
            self.aggregates.append((node, name, focus))
        if name in _ALWAYS_BOOLEAN:
            return _BOOLEAN
        if name in _MAYBE_BOOLEAN:
            return _SINGLE_BOOLEAN_OR_EMPTY
        if name == "count":
            return _system("Integer", 1, 1)
        if name in ("length", "indexOf", "lastIndexOf", "toInteger"):
            return _system("Integer")
        if name in ("substring", "upper", "lower", "replace", "replaceMatches", "toString"):
            return _system("String")
        if name in ("trim", "encode", "decode", "escape", "unescape", "join"):
            return _system("String")
        if name == "toDecimal":
            return _system("Decimal")
        if name in ("toDate", "toDateTime", "now", "today"):
            return _system("DateTime")
        if name == "toQuantity":
            return _system("Quantity")
        if name == "distinct":
            # The same values, duplicates dropped: still the same path for what it reads.
            return replace(focus, low=min(focus.low, 1))
        if name in _FILTERS:
            return replace(focus, steps=self._refilter(focus, node), low=0, plain=False)
        if name in _TO_ONE:
            return self._to_one(node, focus)
        if name in ("sum", "min", "max", "avg", "lowBoundary", "highBoundary", "abs"):
            return replace(focus, root=None, steps=None, low=0, high=1, plain=False)
        if name in ("tail", "skip", "take"):
            collapsed = (_Step(node, self.text(node), True),) if focus.steps is not None else None
            return replace(focus, steps=collapsed, low=0, plain=False, choice=None)
        if name == "select" and results:
            selected = results[0]
            steps: tuple[_Step, ...] | None = None
            if focus.steps is not None and selected.steps is not None:
                prefix = self.text(node.children[0]) if node.data == "invoke" else "$this"
                steps = (
                    *focus.steps,
                    *(
                        _Step(node, f"{prefix}.select({s.key})", s.repeats, s.cardinality, False)
                        for s in selected.steps
                    ),
                )
            return _Coll(
                types=selected.types,
                root=focus.root if steps is not None else None,
                steps=steps,
                high=_times(focus.high, selected.high),
            )
        if name == "extension":
            extension = self._named("Extension")
            return _Coll(
                types=extension,
                root=focus.root,
                steps=self._extend(focus, node, True),
                high=None,
            )
        if name in ("union", "combine") and results:
            other = results[0]
            both = None if focus.types is None or other.types is None else focus.types + other.types
            return _Coll(types=both, high=_plus(focus.high, other.high))
        if name == "iif" and len(results) >= 2:
            branches = results[1:]
            if any(b.types is None for b in branches):
                return _UNKNOWN
            return _Coll(types=tuple(t for b in branches for t in b.types or ()))
        return _UNKNOWN

    def _refilter(self, focus: _Coll, node: lark.Tree) -> tuple[_Step, ...] | None:
        """The steps of a filtered path: the last step now ends at the filter's node."""
        if focus.steps is None:
            return None
        if not focus.steps:
            return ()
        last = focus.steps[-1]
        return (*focus.steps[:-1], _Step(node, self.text(node), last.repeats))

    def _to_one(self, node: lark.Tree, focus: _Coll) -> _Coll:
        steps = (_Step(node, self.text(node), False),) if focus.steps is not None else None
        return replace(
            focus,
            steps=steps,
            low=0,
            high=None if focus.high is None else min(focus.high, 1),
            plain=False,
            choice=None,
        )

    # -- type checks

    def _check_comparison(
        self,
        node: lark.Tree,
        op: str,
        left_node: lark.Tree,
        left: _Coll,
        right_node: lark.Tree,
        right: _Coll,
    ) -> None:
        a, b = _family(left), _family(right)
        for side_node, side, other in ((left_node, left, right), (right_node, right, left)):
            if other.high is not None and other.high <= 1:
                # Collection against collection is collection equality, on purpose.
                self._check_singleton(side_node, side, f"'{op}'")
        if a is None or b is None:
            return
        if op in _EQUALITY:
            if not _comparable(a, b):
                self.findings.append(
                    (
                        "type-mismatch",
                        "error",
                        f"'{self.text(node)}' compares {_described(a, left)} with "
                        f"{_described(b, right)}: always false",
                        self._boolean_literal_fix(node, a, b),
                    )
                )
            return
        if not _comparable(a, b) or a not in _ORDERED or b not in _ORDERED:
            self.findings.append(
                (
                    "type-mismatch",
                    "error",
                    f"'{self.text(node)}' orders {_described(a, left)} and "
                    f"{_described(b, right)}, which cannot be compared",
                    None,
                )
            )

    def _check_arithmetic(
        self,
        node: lark.Tree,
        op: str,
        left_node: lark.Tree,
        left: _Coll,
        right_node: lark.Tree,
        right: _Coll,
    ) -> None:
        a, b = _family(left), _family(right)
        if a is None or b is None:
            return
        numeric = _NUMERIC | {"quantity"}
        allowed = (
            (a in numeric and b in numeric)
            or (op == "+" and a == b == "string")
            or (op in ("+", "-") and a in ("date", "time") and b == "quantity")
        )
        if not allowed:
            self.findings.append(
                (
                    "type-mismatch",
                    "error",
                    f"'{self.text(node)}': '{op}' does not apply to {_described(a, left)} and "
                    f"{_described(b, right)}",
                    None,
                )
            )

    def _check_string_input(self, node: lark.Tree, name: str, focus: _Coll) -> None:
        family = _family(focus)
        target = node.children[0] if node.data == "invoke" else None
        shown = self.text(target) if isinstance(target, lark.Tree) else "$this"
        if family is not None and family != "string":
            self.findings.append(
                (
                    "string-function",
                    "error",
                    f"{name}() applies to strings, but '{shown}' is {_described(family, focus)}",
                    None,
                )
            )
        if isinstance(target, lark.Tree):
            self._check_singleton(target, focus, f"{name}()")

    def _check_singleton(self, node: lark.Tree | lark.Token, coll: _Coll, use: str) -> None:
        if coll.high is not None and coll.high <= 1:
            return
        if coll.steps is None or not any(step.repeats for step in coll.steps):
            return
        repeating = [step.key for step in coll.steps if step.repeats]
        self.findings.append(
            (
                "singleton",
                "warning",
                f"'{self.text(node)}' may hold several items ({repeating[-1]} repeats), but "
                f"{use} needs one: with several it "
                + (
                    "compares whole collections"
                    if use.strip("'") in _EQUALITY
                    else "is an evaluation error"
                ),
                None,
            )
        )

    def _boolean_literal_fix(self, node: lark.Tree, a: str, b: str) -> str | None:
        """``flag = 'true'`` compared as written is always false; ``flag = true`` is
        what it means."""
        if {a, b} != {"boolean", "string"}:
            return None
        for child in (node.children[0], node.children[2]):
            if isinstance(child, lark.Tree) and child.data == "string":
                literal = str(child.children[0])[1:-1]
                if literal in ("true", "false"):
                    return _print_replacing(self.tree, child, literal)
        return None


def _on_terminologies(node: lark.Tree) -> bool:
    target = node.children[0] if node.data == "invoke" else None
    return (
        isinstance(target, lark.Tree)
        and target.data == "external_constant"
        and str(target.children[0]) == "%terminologies"
    )


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _family(coll: _Coll) -> str | None:
    """The one type family of a collection's items (``string``, ``integer``,
    ``complex:Coding``…), or ``None`` when it is not known or mixed."""
    if not coll.types:
        return None
    families = {_FAMILY_OF.get(ty.code) or _complex_family(ty) for ty in coll.types}
    if None in families or len(families) != 1:
        return None
    return families.pop()


def _complex_family(ty: _Ty) -> str | None:
    if ty.code[:1].isupper() and not ty.code.startswith("System."):
        if ty.owner is None and ty.element is None:
            return None
        if ty.code in ("Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity"):
            return "quantity"
        return f"complex:{ty.code}"
    return None


def _comparable(a: str, b: str) -> bool:
    if a == b:
        return True
    numeric = _NUMERIC | {"quantity"}
    return a in numeric and b in numeric


def _described(family: str, coll: _Coll) -> str:
    codes = ", ".join(
        dict.fromkeys(
            ty.code.removeprefix("System.").lower() if ty.code.startswith("System.") else ty.code
            for ty in coll.types or ()
        )
    )
    described = codes or family
    return f"{'an' if described[:1].lower() in 'aeiou' else 'a'} {described}"


def _type_code(code: str) -> str:
    return "System." + code.removeprefix(_SYSTEM) if code.startswith(_SYSTEM) else code


def _type_for_suffix(element: ElementDefinition, suffix: str) -> str | None:
    for code in element.type_codes:
        if code[:1].upper() + code[1:] == suffix:
            return code
    return None


def _match(
    children: Mapping[str, tuple[StructureDefinition, ElementDefinition]], name: str
) -> tuple[StructureDefinition, ElementDefinition] | None:
    if name in children:
        return children[name]
    for key, found in children.items():
        if not key.endswith("[x]") or not name.startswith(key[:-3]):
            continue
        suffix = name[len(key) - 3 :]
        if suffix == "" or _type_for_suffix(found[1], suffix):
            return found
    return None


def _arity_text(arity: tuple[int, int | None]) -> str:
    low, high = arity
    if high is None:
        return f"at least {low} argument{'s' if low != 1 else ''}"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


# ---- aggregation across repeats


@dataclass(frozen=True)
class _Read:
    """A path an aggregate reads: its root, its steps, and the aggregate's node."""

    root: str
    steps: tuple[_Step, ...]
    node: lark.Tree
    function: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.root, self.steps[-1].key if self.steps else "")

    def inside(self) -> list[tuple[str, int, _Step]]:
        """The repeating elements whose occurrences this path looks inside (every
        repeating step but the last), with their depth."""
        return [
            (self.root, depth, step) for depth, step in enumerate(self.steps[:-1]) if step.repeats
        ]

    def pooled_over(self) -> _Step | None:
        """For a count: the deepest repeating step above the last repeating one (whose
        items are the ones counted); ``None`` when nothing is pooled."""
        repeating = [i for i, step in enumerate(self.steps) if step.repeats]
        if len(repeating) < 2:
            return None
        return self.steps[repeating[-2]]


def _aggregation(analysis: _Analysis) -> list[tuple[str, LintSeverity, str, str | None]]:
    reads: dict[int, _Read] = {}
    for node, function, focus in analysis.aggregates:
        if focus.steps and focus.root is not None:
            reads[id(node)] = _Read(focus.root, focus.steps, node, function)
    if not reads:
        return []
    triggers: list[tuple[lark.Tree, _Step, str]] = []
    # A numeric aggregate of a pooled path, used in arithmetic or a comparison.
    for read in reads.values():
        if read.function not in _NUMERIC_AGGREGATES:
            continue
        pooled = read.pooled_over()
        if pooled is None:
            continue
        user = _numeric_user(analysis, read.node)
        if user is None or _same_collection(analysis, user, reads):
            continue
        triggers.append((user, pooled, f"{read.function}() of {read.steps[-1].key}"))
    # Two sides that look inside the same occurrences of a repeating element.
    for node in _nodes(analysis.tree):
        if node.data != "binary":
            continue
        op = str(node.children[1])
        if op not in ("implies", "xor") and op not in _COMPARISON and op not in _ARITHMETIC:
            continue
        if op in _ARITHMETIC and _under_existence_test(analysis, node):
            continue
        left = _reads_in(analysis, node.children[0], reads)
        right = _reads_in(analysis, node.children[2], reads)
        shared = _shared_inside(left, right)
        if shared is not None:
            triggers.append((node, shared, f"'{op}' relates parts of different occurrences"))
    results: dict[int, tuple[lark.Tree, _Step, list[str]]] = {}
    for node, step, why in triggers:
        top = _grow(analysis, node, step)
        entry = results.setdefault(id(top), (top, step, []))
        entry[2].append(why)
    findings: list[tuple[str, LintSeverity, str, str | None]] = []
    for top, step, reasons in results.values():
        suggestion = _rewrite(analysis, top, step)
        repeated = step.key
        what = "the expression" if top is analysis.tree else f"'{_shortened(analysis.text(top))}'"
        message = (
            f"{what} pools the occurrences of {repeated}, which repeats "
            f"({'; '.join(dict.fromkeys(reasons))}): to check each {repeated} on its own, "
            f"write {repeated}.all(…)"
        )
        findings.append(("aggregation", "warning", message, suggestion))
    return findings


def _shortened(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _nodes(tree: lark.Tree) -> Iterator[lark.Tree]:
    yield from tree.iter_subtrees_topdown()


def _numeric_user(analysis: _Analysis, node: lark.Tree) -> lark.Tree | None:
    """The arithmetic or comparison that uses a numeric aggregate, unless it only tests
    for presence (``count() > 0``, ``a.count() + b.count() = 0``)."""
    parent = analysis.parent.get(id(node))
    if parent is None or parent.data != "binary":
        return None
    op = str(parent.children[1])
    if op in _ARITHMETIC:
        return None if _under_existence_test(analysis, parent) else parent
    if op in _COMPARISON:
        return None if _is_existence_test(parent) else parent
    return None


def _under_existence_test(analysis: _Analysis, node: lark.Tree) -> bool:
    """A sum of counts whose only use is comparing with 0 or 1, a presence test (the
    sum is 0 exactly when every count is)."""
    current = node
    while str(current.children[1]) == "+":
        parent = analysis.parent.get(id(current))
        if parent is None or parent.data != "binary":
            return False
        op = str(parent.children[1])
        if op in _COMPARISON:
            return _is_existence_test(parent)
        current = parent
    return False


def _is_existence_test(node: lark.Tree) -> bool:
    left, operator, right = node.children
    op = str(operator)
    number = _literal_integer(right)
    if number is None:
        number = _literal_integer(left)
        op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
    return (op, number) in {
        (">", 0),
        (">=", 1),
        ("!=", 0),
        ("=", 0),
        ("<", 1),
        ("<=", 0),
    }


def _literal_integer(node: lark.Tree | lark.Token) -> int | None:
    if isinstance(node, lark.Tree) and node.data == "number" and "." not in str(node.children[0]):
        return int(str(node.children[0]))
    return None


def _same_collection(analysis: _Analysis, user: lark.Tree, reads: Mapping[int, _Read]) -> bool:
    """Both operands aggregate one and the same collection (``p.count() =
    p.distinct().count()``): a property of the pooled collection, pooling intended."""
    if str(user.children[1]) not in _COMPARISON:
        return False
    keys = []
    for side in (user.children[0], user.children[2]):
        side_reads = _reads_in(analysis, side, reads)
        if len(side_reads) != 1:
            return False
        read = side_reads[0]
        keys.append(read.key)
    return keys[0] == keys[1]


def _reads_in(
    analysis: _Analysis, node: lark.Tree | lark.Token, reads: Mapping[int, _Read]
) -> list[_Read]:
    if not isinstance(node, lark.Tree):
        return []
    return [reads[id(sub)] for sub in node.iter_subtrees() if id(sub) in reads]


def _shared_inside(left: list[_Read], right: list[_Read]) -> _Step | None:
    """The deepest repeating element that a left and a right read both look inside, by
    different paths; ``None`` when there is none."""
    best: tuple[int, _Step] | None = None
    for a in left:
        inside_a = {(root, depth, step.key): step for root, depth, step in a.inside()}
        for b in right:
            if a.key == b.key:
                continue
            for root, depth, step in b.inside():
                if (root, depth, step.key) in inside_a and (best is None or depth > best[0]):
                    best = (depth, inside_a[(root, depth, step.key)])
    return None if best is None else best[1]


_CONNECTIVES = frozenset({"and", "or", "xor", "implies"})


def _grow(analysis: _Analysis, node: lark.Tree, step: _Step) -> lark.Tree:
    """The largest boolean expression around ``node`` in which every path read from
    the same focus goes through ``step``: the part to check per occurrence."""
    current = node
    while True:
        parent = analysis.parent.get(id(current))
        if parent is None:
            return current
        grows = (
            (parent.data == "binary" and str(parent.children[1]) in _CONNECTIVES)
            or (
                parent.data == "invoke"
                and parent.children[1].data == "function"
                and _name(parent.children[1]) == "not"
            )
            or (parent.data == "binary" and str(parent.children[1]) in _COMPARISON | _ARITHMETIC)
        )
        if not grows or not _all_through(analysis, parent, step):
            return current
        current = parent


def _all_through(analysis: _Analysis, node: lark.Tree, step: _Step) -> bool:
    """Every path in ``node`` read from the focus of ``step``'s root goes through it."""
    root = _root_of(analysis, step)
    for _, coll in _paths_in(analysis, node, root):
        if not any(s.key == step.key for s in (coll.steps or ())[:-1]):
            return False
    return True


def _paths_in(
    analysis: _Analysis, node: lark.Tree, root: str | None
) -> Iterator[tuple[lark.Tree, _Coll]]:
    """The whole paths (not their prefixes) in ``node`` read from ``root``."""
    for sub in node.iter_subtrees():
        coll = analysis.info.get(id(sub))
        if coll is None or coll.root != root or coll.steps is None:
            continue
        parent = analysis.parent.get(id(sub))
        if parent is not None and _extends(analysis, parent, sub):
            continue
        if parent is not None and parent.data == "invoke" and parent.children[1] is sub:
            continue  # the invocation half of ``a.b``: the invoke node is the path
        yield sub, coll


def _extends(analysis: _Analysis, parent: lark.Tree, node: lark.Tree) -> bool:
    """``parent`` continues the path ``node`` gives (``node.x``, ``node.where(…)``)."""
    if parent.data in ("invoke", "indexer") and parent.children[0] is node:
        coll = analysis.info.get(id(parent))
        return coll is not None and coll.steps is not None
    return False


def _root_of(analysis: _Analysis, step: _Step) -> str | None:
    coll = analysis.info.get(id(step.node))
    return None if coll is None else coll.root


def _rewrite(analysis: _Analysis, top: lark.Tree, step: _Step) -> str | None:
    """The expression with ``top`` checked per occurrence of ``step``: ``X.all(top')``,
    ``top'`` reading from each occurrence; ``None`` when ``top`` reads other things from
    the same focus (its meaning would change inside ``all()``)."""
    if not step.exact or not _all_through(analysis, top, step):
        return None
    root = _root_of(analysis, step)
    prefixes = frozenset(
        id(s.node)
        for _, coll in _paths_in(analysis, top, root)
        for s in coll.steps or ()
        if s.key == step.key
    )
    inner_node = _without_redundant_guard(analysis, top)
    inner = print_expression(inner_node, prefixes)
    replacement = f"{step.key}.all({inner})"
    if top is analysis.tree:
        return replacement
    return _print_replacing(analysis.tree, top, replacement)


def _without_redundant_guard(analysis: _Analysis, top: lark.Tree) -> lark.Tree:
    """``P.exists() implies E`` as ``E`` when ``E`` holds whenever ``P`` is empty (the
    guard only repeats what ``all()`` already gives on an occurrence without ``P``):
    ``coordinate.exists() implies coordinate.count() mod 2 = 0`` is true without
    coordinates, since ``0 mod 2 = 0``."""
    if top.data != "binary" or str(top.children[1]) != "implies":
        return top
    guard, _, body = top.children
    if not (
        isinstance(guard, lark.Tree)
        and guard.data == "invoke"
        and guard.children[1].data == "function"
        and _name(guard.children[1]) == "exists"
        and not _arguments(guard.children[1])
    ):
        return top
    guarded = analysis.info.get(id(guard.children[0]))
    if guarded is None or guarded.steps is None:
        return top
    key = guarded.steps[-1].key
    return body if _fold_empty(analysis, body, key) is True else top


def _fold_empty(analysis: _Analysis, node: lark.Tree | lark.Token, key: str) -> Any:
    """The value of ``node`` when the path ``key`` is empty, if it is a constant then
    (integers, booleans); ``None`` when it depends on anything else."""
    if not isinstance(node, lark.Tree):
        return None
    if node.data == "number":
        return _literal_integer(node)
    if node.data == "boolean":
        return str(node.children[0]) == "true"
    if node.data == "invoke" and node.children[1].data == "function":
        target = analysis.info.get(id(node.children[0]))
        name = _name(node.children[1])
        if target is not None and target.steps and target.steps[-1].key == key:
            return {"count": 0, "exists": False, "empty": True}.get(name)
        if name == "not":
            value = _fold_empty(analysis, node.children[0], key)
            return None if value is None else not value
        return None
    if node.data != "binary":
        return None
    left = _fold_empty(analysis, node.children[0], key)
    right = _fold_empty(analysis, node.children[2], key)
    if left is None or right is None:
        return None
    op = str(node.children[1])
    operations: dict[str, Any] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "mod": lambda a, b: a % b if b else None,
        "div": lambda a, b: a // b if b else None,
        "and": lambda a, b: a and b,
        "or": lambda a, b: a or b,
        "implies": lambda a, b: (not a) or b,
    }
    operation = operations.get(op)
    return None if operation is None else operation(left, right)


def _print_replacing(tree: lark.Tree, target: lark.Tree, replacement: str) -> str:
    """The expression's text with the sub-tree ``target`` replaced by ``replacement``
    (parenthesised where the surrounding operators need it)."""
    placeholder = lark.Tree("member", [lark.Token("IDENTIFIER", "__lint_rewrite__")])
    rebuilt = _substitute(tree, target, placeholder)
    return print_expression(rebuilt).replace("__lint_rewrite__", replacement)


def _substitute(node: lark.Tree, target: lark.Tree, new: lark.Tree) -> lark.Tree:
    if node is target:
        return new
    children = [
        _substitute(child, target, new) if isinstance(child, lark.Tree) else child
        for child in node.children
    ]
    return lark.Tree(node.data, children)


# ---- constraints whose verdict the data cannot change


#: A formula over atoms; an atom's possible values depend on its kind.
_Formula = tuple[Any, ...]
_EMPTY = None  # the empty collection, FHIRPath's third truth value


def _constancy(analysis: _Analysis) -> list[tuple[str, LintSeverity, str, str | None]]:
    atoms: dict[Any, tuple[tuple[Any, ...], str]] = {}
    implies: list[tuple[lark.Tree, _Formula]] = []
    formula = _abstract(analysis, analysis.tree, atoms, implies)
    if formula is None or len(atoms) > 12:
        return []
    domains = {name: domain for name, (domain, _) in atoms.items()}
    if _product_size(list(domains.values())) > 50_000:
        return []
    outcome = _outcome(formula, implies, domains)

    def because(changed: Callable[[tuple[set[Any], list[bool]]], bool]) -> str:
        """The cardinalities the verdict rests on: the atoms that, allowed any count,
        would change it."""
        restricted = {name: reason for name, (_, reason) in atoms.items() if reason}
        reasons = [
            reason
            for name, reason in restricted.items()
            if changed(_outcome(formula, implies, {**domains, name: _COUNT_CLASSES}))
        ]
        if not reasons:
            # No single one decides: together they may (``a.exists() or b.exists()``
            # with both required).
            widened = {**domains, **dict.fromkeys(restricted, _COUNT_CLASSES)}
            if changed(_outcome(formula, implies, widened)):
                reasons = list(restricted.values())
        return f" ({'; '.join(dict.fromkeys(reasons))})" if reasons else ""

    top_values, left_can_be_true = outcome
    findings: list[tuple[str, LintSeverity, str, str | None]] = []
    vacuous_top = False
    for i, (node, _) in enumerate(implies):
        if left_can_be_true[i]:
            continue
        vacuous_top = vacuous_top or node is analysis.tree
        why = because(functools.partial(_left_can_be_true, i))
        findings.append(
            (
                "vacuous-implies",
                "warning",
                f"the left side of '{_shortened(analysis.text(node))}' can never be "
                f"true{why}, so the implies never applies its condition",
                None,
            )
        )
    text = _shortened(analysis.text(analysis.tree))
    if top_values == {True} and not vacuous_top:
        why = because(lambda o: o[0] != {True})
        findings.append(
            (
                "cannot-fail",
                "warning",
                f"'{text}' is true on every resource with valid cardinalities{why}: "
                "it checks nothing",
                None,
            )
        )
    elif True not in top_values:
        why = because(lambda o: True in o[0])
        findings.append(
            ("cannot-pass", "error", f"'{text}' is never true{why}: every resource fails it", None)
        )
    return findings


def _left_can_be_true(index: int, outcome: tuple[set[Any], list[bool]]) -> bool:
    return outcome[1][index]


def _outcome(
    formula: _Formula, implies: list[tuple[lark.Tree, _Formula]], domains: Mapping[Any, Any]
) -> tuple[set[Any], list[bool]]:
    """Over every assignment of the atoms: the values the whole formula takes, and
    whether each implies' left side can be true."""
    names = list(domains)
    top_values: set[Any] = set()
    left_can_be_true = [False] * len(implies)
    for assignment in itertools.product(*(domains[name] for name in names)):
        values = dict(zip(names, assignment, strict=True))
        top_values.update(_possible(_evaluate(formula, values)))
        for i, (_, left) in enumerate(implies):
            if not left_can_be_true[i] and True in _possible(_evaluate(left, values)):
                left_can_be_true[i] = True
    return top_values, left_can_be_true


def _possible(value: Any) -> tuple[Any, ...]:
    return (True, False, _EMPTY) if value is _UNDECIDED else (value,)


def _product_size(domains: list[tuple[Any, ...]]) -> int:
    size = 1
    for domain in domains:
        size *= len(domain)
    return size


def _abstract(
    analysis: _Analysis,
    node: lark.Tree | lark.Token,
    atoms: dict[Any, tuple[tuple[Any, ...], str]],
    implies: list[tuple[lark.Tree, _Formula]],
) -> _Formula | None:
    """The boolean structure of ``node``: connectives over atoms, each atom registered
    in ``atoms`` with its possible values and, when the model fixes it, why; every
    ``implies`` met is added to ``implies`` with the formula of its left side."""
    if not isinstance(node, lark.Tree):
        return None
    if node.data == "boolean":
        return ("const", str(node.children[0]) == "true")
    if node.data == "binary" and str(node.children[1]) in _CONNECTIVES:
        left = _abstract(analysis, node.children[0], atoms, implies)
        right = _abstract(analysis, node.children[2], atoms, implies)
        if left is None or right is None:
            return None
        if str(node.children[1]) == "implies":
            implies.append((node, left))
        return (str(node.children[1]), left, right)
    if node.data == "invoke" and node.children[1].data == "function":
        function = node.children[1]
        name = _name(function)
        if name == "not" and not _arguments(function):
            inner = _abstract(analysis, node.children[0], atoms, implies)
            return None if inner is None else ("not", inner)
        if name in ("exists", "empty") and not _arguments(function):
            return _count_atom(analysis, node.children[0], name, None, atoms)
    if node.data == "function" and not _arguments(node) and _name(node) in ("exists", "empty"):
        return _count_atom(analysis, node, _name(node), None, atoms, focus=True)
    if node.data == "binary" and str(node.children[1]) in _COMPARISON:
        test = _count_comparison(node.children[0], str(node.children[1]), node.children[2])
        if test is not None:
            counted, op, number = test
            return _count_atom(analysis, counted, "compare", (op, number), atoms)
    coll = analysis.info.get(id(node))
    boolean = coll is not None and coll.types == (_Ty("System.Boolean"),)
    always = boolean and coll is not None and coll.low == 1
    key = ("opaque", analysis.scope.get(id(node)), analysis.text(node))
    domain: tuple[Any, ...] = (True, False) if always else (True, False, _EMPTY)
    atoms.setdefault(key, (domain, ""))
    return ("atom", key)


def _count_comparison(left: Any, op: str, right: Any) -> tuple[lark.Tree, str, int] | None:
    """``P.count() op n`` (either way round) as (the path node, op, n)."""
    for counted, number_node, operator in (
        (left, right, op),
        (right, left, {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)),
    ):
        number = _literal_integer(number_node)
        if (
            number is not None
            and isinstance(counted, lark.Tree)
            and counted.data == "invoke"
            and counted.children[1].data == "function"
            and _name(counted.children[1]) == "count"
            and not _arguments(counted.children[1])
            and operator in _COMPARISON - {"~", "!~"}
        ):
            return counted.children[0], operator, number
    return None


#: The number of items a path may have, in classes: none, one, several.
_COUNT_CLASSES = (0, 1, 2)


def _count_atom(
    analysis: _Analysis,
    node: lark.Tree,
    kind: str,
    comparison: tuple[str, int] | None,
    atoms: dict[Any, tuple[tuple[Any, ...], str]],
    *,
    focus: bool = False,
) -> _Formula:
    """An atom on the number of items of a path (``node``; with ``focus``, the focus of
    the function ``node``): one of the classes 0, 1, 2 (several) that its cardinality
    allows."""
    scope = analysis.scope.get(id(node))
    if focus:
        coll = analysis.context if scope == "this@0" else _Coll(low=1, high=1, plain=True)
        text = "$this"
    else:
        coll = analysis.info.get(id(node), _UNKNOWN)
        text = analysis.text(node)
    low = min(coll.low, 2) if coll.plain else 0
    high = coll.high
    domain = tuple(c for c in _COUNT_CLASSES if c >= low and (high is None or c <= high)) or (0,)
    key = ("count", coll.root or scope, text)
    reason = ""
    if text == "$this" and 0 not in domain:
        reason = "the focus is always present"
    elif domain == (0,):
        reason = f"{text} is never present ({_cardinalities(coll)})"
    elif 0 not in domain:
        reason = f"{text} is always present ({_cardinalities(coll)})"
    elif domain != _COUNT_CLASSES:
        reason = f"{text} holds at most one item ({_cardinalities(coll)})"
    atoms[key] = (domain, reason)
    return ("count", key, kind, comparison)


def _cardinalities(coll: _Coll) -> str:
    return ", ".join(
        f"{step.key.rsplit('.', 1)[-1]} {step.cardinality}"
        for step in coll.steps or ()
        if step.cardinality
    )


def _evaluate(formula: _Formula, values: Mapping[Any, Any]) -> Any:
    kind = formula[0]
    if kind == "const":
        return formula[1]
    if kind == "atom":
        return values[formula[1]]
    if kind == "count":
        _, key, test, comparison = formula
        number = values[key]
        if test == "exists":
            return number > 0
        if test == "empty":
            return number == 0
        op, limit = comparison
        return _compare_class(number, op, limit)
    if kind == "not":
        inner = _evaluate(formula[1], values)
        return inner if inner is _EMPTY or inner is _UNDECIDED else not inner
    left = _evaluate(formula[1], values)
    right = _evaluate(formula[2], values)
    if left is _UNDECIDED or right is _UNDECIDED:
        return _UNDECIDED
    if kind == "and":
        if left is False or right is False:
            return False
        return True if left is True and right is True else _EMPTY
    if kind == "or":
        if left is True or right is True:
            return True
        return False if left is False and right is False else _EMPTY
    if kind == "xor":
        return _EMPTY if left is _EMPTY or right is _EMPTY else left != right
    # implies
    if left is False:
        return True
    if left is True:
        return right
    return True if right is True else _EMPTY


class _Undecided:
    """A comparison a count class cannot decide (``count() = 3`` with "several")."""

    def __repr__(self) -> str:
        return "undecided"


_UNDECIDED = _Undecided()


def _compare_class(number: int, op: str, limit: int) -> Any:
    if number < 2:
        return _compare(number, op, limit)
    # "several": 2, 3, …; decided only when every such count gives the same answer.
    answers = {_compare(n, op, limit) for n in (2, max(limit, 2) + 1)}
    if limit >= 2:
        answers.add(_compare(limit, op, limit))
    return answers.pop() if len(answers) == 1 else _UNDECIDED


def _compare(number: int, op: str, limit: int) -> bool:
    return {
        "=": number == limit,
        "!=": number != limit,
        "<": number < limit,
        ">": number > limit,
        "<=": number <= limit,
        ">=": number >= limit,
    }[op]
