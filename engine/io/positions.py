"""Where in the text each issue is: the line and column of the element its location names.

An issue's location is a FHIRPath from the resource root with an index on every
repeating element (``Bundle.entry[3].resource.status``, ``Observation.value.ofType(Quantity)``,
``Patient.contained[0].name[1]``, ``Patient._birthDate`` for an unknown ``_`` property).
:func:`with_positions` follows each location through the text the resource was read from
and fills :attr:`~engine.Issue.line` and :attr:`~engine.Issue.column` in:

- in JSON, a property is placed at its name (the opening quote of ``"gender"``), an item
  of an array at its first character, the resource itself at its ``{``. A primitive's
  ``id`` and extensions are in its ``_name`` companion, so ``Patient.birthDate.extension[0]``
  is placed in ``_birthDate``; a primitive given only by ``_name`` is placed there;
- in XML, every element is placed at the ``<`` of its start tag; an attribute (``id``,
  ``url``, ``value``) at the element that carries it;
- a location that cannot be followed to its end (a resource-level constraint, a
  required element that is missing) is placed at the deepest element it reaches, at
  worst the resource's own start.

Lines are lines of the file: an NDJSON resource's positions count from its line in the
file, columns within that line. Columns are counted in characters, from 1.

Positions are read only after validation and only for resources that have issues: a
clean run reads nothing twice. The text is scanned lazily along the locations asked
for, skipping everything else with the standard library's C JSON scanner, so placing
the issues of one entry does not read the whole of a large Bundle's other entries more
than once.

    >>> from engine.io.inputs import RawResource
    >>> from engine.validation.report import Issue
    >>> text = b'{\\n  "resourceType": "Patient",\\n  "gender": "x"\\n}'
    >>> raw = RawResource("p.json", "p.json", text, "json")
    >>> issue = Issue("error", "code-invalid", "Patient.gender", "not in the value set")
    >>> place(raw, ["Patient.gender", "Patient"])
    [(3, 3), (1, 1)]
    >>> str(with_positions(Report(issues=(issue,)), raw).issues[0])
    'Error @ Patient.gender (line 3, col 3): not in the value set'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.io.fhir_xml import XmlElement, element_tree
from engine.io.inputs import RawResource
from engine.validation.report import Report

__all__ = ["place", "resource_type_at", "with_positions"]

#: A 1-based line and column.
Position = tuple[int, int]

#: One step of a location: ``.name``, ``.ofType(Type)`` (folded into the step before it),
#: each with an optional ``[index]``.
_STEP = re.compile(r"\.(?:ofType\((?P<type>[^()]+)\)|(?P<name>[^.\[\]()]+))(?:\[(?P<index>\d+)\])?")
_WHITESPACE = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    type: str | None
    index: int | None
    #: Where the step starts in the location: the rest of the location, from there, is
    #: tried as one property name when the steps cannot be followed (an unknown property
    #: whose name holds a dot or a bracket).
    start: int

    @property
    def json_name(self) -> str:
        """The JSON property name: ``valueQuantity`` for ``value.ofType(Quantity)``."""
        if self.type is None:
            return self.name
        return self.name + self.type[:1].upper() + self.type[1:]


def _steps(location: str) -> tuple[list[_Step], str] | None:
    """The steps after the root of ``location``, and the location's text; None for a
    location that names no element (``(input)``, ``(line 3, column 5)``)."""
    if location.startswith("(") and location != "(resource)":
        return None
    first = location.find(".")
    if first < 0:
        return [], location
    steps: list[_Step] = []
    for match in _STEP.finditer(location, first):
        index = None if match["index"] is None else int(match["index"])
        if match["type"] is not None and steps and steps[-1].type is None:
            last = steps[-1]
            steps[-1] = _Step(last.name, match["type"], index, last.start)
        elif match["name"] is not None:
            steps.append(_Step(match["name"], None, index, match.start()))
    return steps, location


def place(raw: RawResource, locations: Sequence[str]) -> list[Position | None]:
    """The position of each location in ``raw``'s text (None for a location that names
    no element, such as ``(input)``). ``raw`` must be text that parses (positions are
    read after validation)."""
    finder: _JsonText | _XmlText
    finder = _XmlText(raw.data) if raw.syntax == "xml" else _JsonText(raw.data.decode("utf-8-sig"))
    # What find gives (an offset in JSON, an element in XML) only its positions() reads.
    marks: list[Any] = [finder.find(p) if (p := _steps(loc)) else None for loc in locations]
    return finder.positions(marks, raw.line)


def with_positions(report: Report, raw: RawResource) -> Report:
    """``report`` with the line and column of every issue filled in from ``raw``, the
    text its resource was parsed from. A report without issues is returned as it is."""
    if not report.issues:
        return report
    positions = place(raw, [issue.location for issue in report.issues])
    issues = tuple(
        issue if where is None else replace(issue, line=where[0], column=where[1])
        for issue, where in zip(report.issues, positions, strict=True)
    )
    return replace(report, issues=issues)


def resource_type_at(resource: Any, location: str) -> str | None:
    """The type of the innermost resource ``location`` is in: ``Patient`` for
    ``Bundle.entry[3].resource.name[0]`` when that entry is a Patient.

        >>> bundle = {"resourceType": "Bundle",
        ...           "entry": [{"resource": {"resourceType": "Patient"}}]}
        >>> resource_type_at(bundle, "Bundle.entry[0].resource.name[0]")
        'Patient'
        >>> resource_type_at(bundle, "Bundle.entry[0]")
        'Bundle'
    """
    found = resource.get("resourceType") if isinstance(resource, dict) else None
    parsed = _steps(location)
    node = resource
    for step in parsed[0] if parsed else ():
        if not isinstance(node, dict):
            break
        node = node.get(step.json_name)
        if step.index is not None and isinstance(node, list):
            node = node[step.index] if step.index < len(node) else None
        kind = node.get("resourceType") if isinstance(node, dict) else None
        if isinstance(kind, str):
            found = kind
    return found if isinstance(found, str) else None


# -- JSON -------------------------------------------------------------------------------

#: The standard library's decoder (its C scanner when available) reads one JSON value and
#: says where it ends: the fast way to read a property name or step over a value whose
#: inside is not wanted.
_read_value = json.JSONDecoder().raw_decode


class _Container:
    """An object or array of the text, read member by member as far as needed.

    The value of the last member read is stepped over only when a later member is
    wanted, so following a path into the last member found reads nothing more.
    """

    __slots__ = ("members", "items", "cursor", "pending", "done")

    def __init__(self, start: int) -> None:
        #: Object members read so far: name → (offset of the name, offset of the value).
        self.members: dict[str, tuple[int, int]] = {}
        #: Array items read so far: offset of each value.
        self.items: list[int] = []
        self.cursor = start + 1
        self.pending: int | None = None
        self.done = False


class _JsonText:
    def __init__(self, text: str) -> None:
        self.text = text
        self.containers: dict[int, _Container] = {}
        self.root = _WHITESPACE.match(text).end()  # type: ignore[union-attr]

    def find(self, parsed: tuple[list[_Step], str]) -> int:
        """The offset of the location's element, or of the deepest one on its way."""
        steps, location = parsed
        text = self.text
        value = best = self.root
        for position, step in enumerate(steps):
            if text[value] != "{":
                break
            last = position == len(steps) - 1
            found = self._step(value, step, last)
            if found is None:
                rest = self._member(value, location[step.start + 1 :])
                if rest is not None:
                    best = rest[0]
                break
            best, value = found
            if value is None:
                break
        return best

    def _step(self, obj: int, step: _Step, last: bool) -> tuple[int, int | None] | None:
        """(where the step is placed, offset of its value to go on from) in the object at
        ``obj``; the value is None when the item it names is not there."""
        name = step.json_name
        candidates = [name, "_" + name]
        if step.type is None and self._member(obj, name) is None:
            # A choice element named without its type (two choices present): its first
            # JSON property, whichever type it has.
            candidates += self._choices(obj, name)
        found: tuple[int, int | None] | None = None
        for candidate in candidates:
            member = self._member(obj, candidate)
            if member is None:
                continue
            here = self._item(member, step.index)
            if found is None:
                found = here
            # Going on past a primitive means going into its ``_name`` companion.
            if last or here[1] is None or self.text[here[1]] == "{":
                return here
        return found

    def _item(self, member: tuple[int, int], index: int | None) -> tuple[int, int | None]:
        key, value = member
        if index is None:
            return key, value
        if self.text[value] != "[":
            # A repeating element given as a single value is item [0] to the validator.
            return (key, value) if index == 0 else (key, None)
        item = self._array_item(value, index)
        return (key, None) if item is None else (item, item)

    def _choices(self, obj: int, name: str) -> list[str]:
        self._member(obj, "\0")  # reads every member: no property has that name
        members = self.containers[obj].members
        return [k for k in members if _is_choice_of(k.removeprefix("_"), name)]

    def _container(self, start: int) -> _Container:
        container = self.containers.get(start)
        if container is None:
            container = self.containers[start] = _Container(start)
        return container

    def _skip_pending(self, container: _Container) -> int:
        position = container.cursor
        if container.pending is not None:
            position = _read_value(self.text, container.pending)[1]
            container.pending = None
        return _WHITESPACE.match(self.text, position).end()  # type: ignore[union-attr]

    def _member(self, obj: int, name: str) -> tuple[int, int] | None:
        container = self._container(obj)
        found = container.members.get(name)
        text = self.text
        while found is None and not container.done:
            position = self._skip_pending(container)
            if text[position] == ",":
                position = _WHITESPACE.match(text, position + 1).end()  # type: ignore[union-attr]
            if text[position] != '"':  # the closing brace
                container.done = True
                break
            key, end = _read_value(text, position)
            colon = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
            value = _WHITESPACE.match(text, colon + 1).end()  # type: ignore[union-attr]
            container.members.setdefault(key, (position, value))
            container.pending = container.cursor = value
            if key == name:
                found = container.members[key]
        return found

    def _array_item(self, array: int, index: int) -> int | None:
        container = self._container(array)
        text = self.text
        while len(container.items) <= index and not container.done:
            position = self._skip_pending(container)
            if text[position] == ",":
                position = _WHITESPACE.match(text, position + 1).end()  # type: ignore[union-attr]
            if text[position] == "]":
                container.done = True
                break
            container.items.append(position)
            container.pending = container.cursor = position
        return container.items[index] if index < len(container.items) else None

    def positions(self, offsets: Sequence[int | None], first_line: int) -> list[Position | None]:
        """Line and column of each offset; lines counted from ``first_line``."""
        text = self.text
        wanted = sorted({o for o in offsets if o is not None})
        lines: dict[int, Position] = {}
        line, line_start, counted = first_line, 0, 0
        # One pass over the text whatever the number of issues, also when it is all on
        # one line (a 40 MB Bundle often is): look for line breaks only between
        # consecutive offsets.
        for offset in wanted:
            breaks = text.count("\n", counted, offset)
            if breaks:
                line += breaks
                line_start = text.rfind("\n", counted, offset) + 1
            counted = offset
            lines[offset] = (line, offset - line_start + 1)
        return [None if o is None else lines[o] for o in offsets]


# -- XML --------------------------------------------------------------------------------


class _XmlText:
    def __init__(self, data: bytes) -> None:
        self.root = element_tree(data)

    def find(self, parsed: tuple[list[_Step], str]) -> XmlElement:
        steps, _ = parsed
        node = self.root
        for step in steps:
            inner = node.elements
            # A resource inside an element (<contained>, <resource>) is the one element
            # there whose name starts with a capital: the path goes on inside it.
            if len(inner) == 1 and inner[0].name[:1].isupper():
                node = inner[0]
                inner = node.elements
            name = step.json_name.removeprefix("_")
            same = [e for e in inner if e.name == name]
            if not same and step.type is None:
                same = [e for e in inner if _is_choice_of(e.name, name)]
            index = step.index or 0
            if index >= len(same):
                break  # an attribute (id, url, value) or an element that is not there
            node = same[index]
        return node

    @staticmethod
    def positions(nodes: Iterable[XmlElement | None], first_line: int) -> list[Position | None]:
        return [None if n is None else (n.line + first_line - 1, n.column) for n in nodes]


def _is_choice_of(key: str, name: str) -> bool:
    return key.startswith(name) and key[len(name) : len(name) + 1].isupper()
