"""Hypothesis strategies over real FHIR R5 resources and over the definitions format.

Resources come from the official R5 examples (the 74 vendored in
``tests/fixtures/r5-examples``; in a long run, every JSON example of the package up to
500 KB, so that the time budget under test is the plain one, for up to one megabyte). Two kinds of
change are drawn:

- hostile mutations (:func:`hostile_mutation`): any value replaced by any JSON, keys
  removed or added, arrays and objects swapped, deep nesting, lone surrogates, impossible
  dates… for properties that must hold whatever the input (no exception, bounded time);
- invalidating mutations (:func:`invalidating_mutation`), each known from FHIR to make
  any resource invalid: a required element removed, a primitive given the wrong JSON
  type, an integer below its type's range (``positiveInt``, ``unsignedInt``).
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

import engine
from engine.fhirpath.evaluators import make_evaluator
from engine.validation.plan import COMPLEX, PRIMITIVE, NodePlan, ValidationPlan
from tests.conftest import ROOT
from tests.fuzz.conftest import LONG

VENDORED = ROOT / "tests" / "fixtures" / "r5-examples"

JsonPath = tuple[str | int, ...]


@functools.cache
def corpus() -> tuple[tuple[str, bytes], ...]:
    """``(name, JSON bytes)`` of the official examples the run draws from."""
    if LONG:
        sys.path.insert(0, str(ROOT / "tools"))
        import fhir_packages  # type: ignore[import-not-found]

        # Resources over 500 KB (a few large Bundles) would take most of the run: each
        # case validates one, and they take minutes.
        return tuple(
            (name, data)
            for name, data in fhir_packages.examples()
            if name.endswith(".json") and len(data) <= 500_000
        )
    return tuple((p.name, p.read_bytes()) for p in sorted(VENDORED.glob("*.json")))


@functools.cache
def parsed(name: str) -> dict[str, Any]:
    return dict(json.loads(dict(corpus())[name]))


def examples() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """A fresh copy of one official example, with its name."""
    return st.sampled_from([name for name, _ in corpus()]).map(
        lambda name: (name, copy.deepcopy(parsed(name)))
    )


# ---- hostile values and mutations

_ODD_STRINGS = [
    "\ud800",
    "a\udc00b",
    "",
    " ",
    "2021-02-30",
    "2021-03-01T10:00:00",
    "2021-13-45T25:61:61+15:00",
    "<div>x</div>",
    '<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></div>',
    "(" * 200,
    "a" * 5000,
    "#",
    "urn:oid:1.2.",
    "Patient/",
    "%resource",
    "\x00",
    "\u202e",
]
scalars = st.one_of(
    st.text(max_size=40),
    st.sampled_from(_ODD_STRINGS),
    st.integers(),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, 10**400, 0, -1]),
    st.floats(),
    st.booleans(),
    st.none(),
)
keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["resourceType", "id", "extension", "contained", "value", "_value", "text", "div"]
        + ["valueString", "valueQuantity", "reference", "url", "coding", "_id", "meta"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)


@st.composite
def deep_value(draw: st.DrawFn) -> Any:
    """Nesting far beyond what FHIR data has."""
    depth = draw(st.integers(50, 3000))
    value: Any = draw(scalars)
    for _ in range(depth):
        value = [value] if draw(st.booleans()) else {draw(keys): value}
    return value


def nodes(value: Any) -> Iterator[tuple[JsonPath, Any]]:
    """Every JSON node and its path, without recursion."""
    stack: list[tuple[JsonPath, Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        yield path, node
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))


def get(value: Any, path: JsonPath) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def hostile_mutation(draw: st.DrawFn, resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` with one to four hostile changes."""
    for _ in range(draw(st.integers(1, 4))):
        paths = [path for path, _ in nodes(resource)]
        path = draw(st.sampled_from(paths))
        kind = draw(
            st.sampled_from(["replace", "delete", "add", "wrap", "deep", "retype", "surrogate"])
        )
        if kind == "retype":
            resource["resourceType"] = draw(
                st.sampled_from(["Patient", "Bundle", "Resource", "Nope", "", "Element"])
            )
            continue
        if not path:
            continue
        parent, step = get(resource, path[:-1]), path[-1]
        if kind == "surrogate":
            # A lone surrogate inside a string (JSON allows "\ud800"; UTF-8 cannot carry it).
            strings = [p for p, v in nodes(resource) if p and isinstance(v, str)]
            if strings:
                where = draw(st.sampled_from(strings))
                holder = get(resource, where[:-1])
                holder[where[-1]] += draw(st.sampled_from(["\ud800", "\udfff"]))
        elif kind == "replace":
            parent[step] = draw(json_values)
        elif kind == "deep":
            parent[step] = draw(deep_value())
        elif kind == "delete":
            del parent[step]
        elif kind == "wrap":
            parent[step] = (
                [parent[step]] if not isinstance(parent[step], list) else {"x": parent[step]}
            )
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return resource


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """The text of a resource with a few bytes changed, cut or inserted."""
    text = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "flip", "cut"]))
        if kind == "insert":
            insertion = draw(
                st.sampled_from(
                    [b"\\ud800", b"{", b"[", b'"', b"\r", b"\x00", b"\xff", b"<!DOCTYPE x>", b"\\"]
                )
                | st.binary(max_size=8)
            )
            text[position:position] = insertion
        elif kind == "delete" and position < len(text):
            del text[position : position + draw(st.integers(1, 20))]
        elif kind == "flip" and position < len(text):
            text[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del text[position:]
    return bytes(text)


# ---- invalidating mutations


@dataclass(frozen=True)
class Invalidation:
    """One change known to make a resource invalid, and what FHIR rule it breaks."""

    kind: str
    path: JsonPath
    detail: str


def invalidations(definitions: engine.Definitions, resource: dict[str, Any]) -> list[Invalidation]:
    """Every invalidating change the resource offers, found by walking it with the
    validation plan of its type."""
    plan = ValidationPlan(definitions, make_evaluator("fhirpathpy", definitions))
    found: list[Invalidation] = []

    def visit(node: NodePlan, data: dict[str, Any], path: JsonPath) -> None:
        children = node.build_children()
        if children is None:
            return
        for _, _, json_names in node.required:
            present = [key for key in json_names if key in data]
            if present:
                found.append(Invalidation("required removed", path, ",".join(present)))
        for key, value in data.items():
            child = children.get(key)
            if child is None or child.is_companion:
                continue
            item_node = child.resolve()
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                where = (*path, key, index) if isinstance(value, list) else (*path, key)
                if item_node.kind == PRIMITIVE:
                    if item is None or isinstance(item, dict | list):
                        continue
                    type_code = item_node.type_code
                    found.append(Invalidation("wrong JSON type", where, f"{type_code} {item!r}"))
                    if type_code in ("positiveInt", "unsignedInt") and isinstance(item, int):
                        found.append(Invalidation("below range", where, str(type_code)))
                elif isinstance(item, dict):
                    if item_node.kind == COMPLEX:
                        visit(item_node, item, where)
                    else:
                        nested = plan.resource(str(item.get("resourceType")))
                        if nested is not None:
                            visit(nested, item, where)

    root = plan.resource(str(resource.get("resourceType")))
    if root is not None:
        visit(root, resource, ())
    return found


def _primitive_values(value: Any) -> Iterator[tuple[int | None, Any]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if item is not None and not isinstance(item, dict | list):
                yield index, item
    elif value is not None and not isinstance(value, dict):
        yield None, value


def apply(resource: dict[str, Any], change: Invalidation) -> None:
    """Make the change in place."""
    if change.kind == "required removed":
        parent = get(resource, change.path)
        for key in change.detail.split(","):
            del parent[key]
        return
    parent, step = get(resource, change.path[:-1]), change.path[-1]
    value = parent[step]
    if change.kind == "below range":
        parent[step] = 0 if change.detail == "positiveInt" else -1
    elif isinstance(value, bool):
        parent[step] = "true" if value else "false"
    elif isinstance(value, int | float):
        parent[step] = str(value)
    else:
        parent[step] = 7


# ---- the definitions format

DEFINITION_FILES = sorted((ROOT / "definitions").glob("*.md"))
_FIELD_VALUES = [
    "0..1",
    "1..*",
    "2..1",
    "1.." + "9" * 5000,
    "[code](/code)",
    "Reference([Patient](/Patient)",
    "required:[x](/valueset-x)",
    "maybe",
    "true (Reason: )",
    "k-1 | error | human | exist()",
    "k-1 | error | human | a.matches('(a)\\\\1')",
    "k-1 | eror | human | a.exists(); k-2 | error | h | b",
    "k-1 | error | human | " + " or ".join(["a.exists()"] * 300),
    "k-1 | error | human | " + "(" * 500 + "a" + ")" * 500,
    "[A-Z",
    "(a+)+$",
    "x" * 3000,
]


@st.composite
def definition_text(draw: st.DrawFn) -> tuple[str, str]:
    """One real definitions file, edited: lines dropped, duplicated or swapped, field
    values replaced, bytes inserted."""
    path = draw(st.sampled_from(DEFINITION_FILES))
    lines = path.read_text(encoding="utf-8").split("\n")
    for _ in range(draw(st.integers(1, 5))):
        index = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["drop", "duplicate", "swap", "field", "text", "bytes"]))
        if kind == "drop":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, lines[index])
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif kind == "field" and lines[index].startswith("**"):
            head = lines[index].split(":**", 1)[0]
            lines[index] = (
                f"{head}:** {draw(st.sampled_from(_FIELD_VALUES) | st.text(max_size=30))}"
            )
        elif kind == "text":
            lines[index] = draw(st.text(max_size=60))
        else:
            line = lines[index]
            position = draw(st.integers(0, len(line)))
            lines[index] = line[:position] + draw(st.text(max_size=5)) + line[position:]
        if not lines:
            lines = [""]
    return path.name, "\n".join(lines)


#: Field values each known to be wrong, by field: a loader that accepts one lets a
#: mistake pass silently, one that raises anything but DefinitionError crashes.
BAD_FIELDS: dict[str, list[str]] = {
    "Cardinality": ["2..1", "1.." + "9" * 5000, "0..99999999999", "1", "*..1"],
    "Regex": ["[A-Z", "(a)\\1", "a(?=b)", "(?<x>a)\\k<x>"],
    "Type": ["Reference([Patient](/Patient)", "[a](/b)", "See [X](X)"],
    "Binding": ["required:", "sometimes:[x](/valueset-x)"],
}
BAD_EXPRESSIONS = [
    "id.exist()",
    "id.exists(",
    "id.matches('(a)\\\\1')",
    "id.matches('[0-9')",
    " or ".join(["id.exists()"] * 300),
    "(" * 500 + "id.exists()" + ")" * 500,
    "id.where(" * 120 + "true" + ")" * 120,
]


@st.composite
def bad_definition_edit(draw: st.DrawFn) -> tuple[str, str, int, str]:
    """A real definitions file with one field given a value known to be wrong:
    ``(file name, text, line of the field, what was done)``. For a Constraints field,
    the first constraint's expression is broken: it must be reported, not absorb the
    next constraint."""
    path = draw(st.sampled_from(DEFINITION_FILES))
    lines = path.read_text(encoding="utf-8").split("\n")
    fields = [
        (i, line.split(":**", 1)[0][2:])
        for i, line in enumerate(lines)
        if line.startswith("**") and line.split(":**", 1)[0][2:] in {*BAD_FIELDS, "Constraints"}
    ]
    index, field = draw(st.sampled_from(fields))
    if field == "Constraints":
        key, severity, rest = lines[index].split(" | ", 2)
        human = rest.split(" | ", 1)[0]
        bad = draw(st.sampled_from(BAD_EXPRESSIONS))
        tail = lines[index][len(key) + len(severity) + len(human) + 9 :]
        following = tail.split("; ", 1)[1] if "; " in tail else ""
        lines[index] = f"{key} | {severity} | {human} | {bad}" + (
            f"; {following}" if following else ""
        )
        done = f"constraint {key.split()[-1]}: {bad[:40]}"
    else:
        bad = draw(st.sampled_from(BAD_FIELDS[field]))
        lines[index] = f"**{field}:** {bad}"
        done = f"{field}: {bad[:40]}"
    return path.name, "\n".join(lines), index + 1, done


expressions = st.one_of(
    st.text(alphabet="abc.()[]{}'\"|;,=<>!~+-*/%$` 01\\", max_size=60),
    st.lists(
        st.sampled_from(
            [
                "studyUid",
                ".exists()",
                ".where(",
                ")",
                " or ",
                " and ",
                "(",
                "'x'",
                ".matches(",
                "'(a|aa)+$'",
                ".exist()",
                ".resolve()",
                "%resource",
                ".descendants()",
                " | ",
                "$this",
                "1",
                "@2021-02-30",
                ".ofType(Quantity)",
                ".not()",
                "[0]",
            ]
        ),
        max_size=30,
    ).map("".join),
)
