"""YAML reading with line numbers for errors, and a small deterministic scalar writer.

Data files (compiled rules, local rules) are read with the C loader when PyYAML has it,
because start-up speed matters; line numbers are only worked out when something is wrong,
by composing the document again and walking to the offending node. The compiled rule
files, which are large and written by :func:`scalar`-based emitters in plain block style,
are read faster still by :func:`load_block_yaml`, which handles exactly that subset.

    >>> data = load_yaml("a:\\n  - x: 1\\n", "f.yaml")
    >>> line_of("a:\\n  - x: 1\\n", ("a", 0, "x"))
    2
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import yaml

from engine.model import DefinitionError, Source

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: A path into a YAML document: mapping keys and sequence indexes.
YamlPath = Sequence[str | int]


def load_yaml(text: str, file: str) -> Any:
    """Parse ``text`` with the safe loader; a syntax error becomes a DefinitionError
    naming ``file`` and the line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise yaml_error(error, file) from None


def yaml_error(error: yaml.YAMLError, file: str) -> DefinitionError:
    """A PyYAML error as a DefinitionError naming ``file`` and the line it points at."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        return DefinitionError(f"malformed YAML: {error.problem or error}", Source(file, line))
    return DefinitionError(f"malformed YAML: {error}", Source(file, 1))


def line_of(text: str, path: YamlPath) -> int:
    """The 1-based line where the node at ``path`` starts (for a mapping entry: its key's
    line); the deepest existing node's line when the path goes further than the document."""
    return LineIndex(text).line(path)


class LineIndex:
    """Lines of the nodes of one YAML document, composed once for many look-ups.

    >>> LineIndex("a:\\n  - x: 1\\n  - y: 2\\n").line(("a", 1))
    3
    """

    def __init__(self, text: str) -> None:
        self._root: yaml.Node | None = yaml.compose(text, Loader=_Loader)

    def line(self, path: YamlPath) -> int:
        """See :func:`line_of`."""
        node = self._root
        line = 1
        for step in path:
            if node is None:
                break
            line = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                entry = next(
                    (
                        (k, v)
                        for k, v in node.value
                        if isinstance(k, yaml.ScalarNode) and k.value == step
                    ),
                    None,
                )
                if entry is None:
                    return line
                line = entry[0].start_mark.line + 1
                node = entry[1]
                continue
            if (
                isinstance(node, yaml.SequenceNode)
                and isinstance(step, int)
                and step < len(node.value)
            ):
                node = node.value[step]
                line = node.start_mark.line + 1
                continue
            return line
        if node is not None and not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            line = node.start_mark.line + 1
        return line


_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_INDICATORS = frozenset(",[]{}?")
# Inside [...] or {...} a colon ends a plain scalar before a space, an indicator or the end.
_FLOW_COLON = re.compile(r":(?=[\s,\[\]{}]|$)")
# Characters a plain or double-quoted scalar cannot hold as they are: YAML's
# non-printables plus the ones it reads as line breaks or a byte-order mark.
_NEEDS_ESCAPE = re.compile(
    "[^\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"
)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_RESOLVER = yaml.resolver.Resolver()


def scalar(value: str | int | bool | None, *, flow: bool = False) -> str:
    """One scalar in YAML: plain when that reads back as the same string, else double
    quoted with escapes, so output never depends on an emitter's choices.

        >>> scalar("0..*"), scalar("true"), scalar("a: b"), scalar("a, b", flow=True)
        ('0..*', '"true"', '"a: b"', '"a, b"')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if _is_plain(value, flow):
        return value
    return '"' + _NEEDS_ESCAPE.sub(_escape, value.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _is_plain(value: str, flow: bool) -> bool:
    if not value or value != value.strip() or value[0] in _INDICATORS:
        return False
    if ": " in value or " #" in value or value.endswith(":") or _NEEDS_ESCAPE.search(value):
        return False
    if flow and (not _FLOW_INDICATORS.isdisjoint(value) or _FLOW_COLON.search(value)):
        return False
    resolved = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
    return bool(resolved == "tag:yaml.org,2002:str")


# ---- a fast reader for the block-style subset our emitters write


class _NotBlockSubset(Exception):
    """The text uses YAML beyond the subset :func:`load_block_yaml` reads."""


_BLOCK_LINE = re.compile(r"( *)(- )?([A-Za-z][A-Za-z0-9_-]*):(?: (.+))?")
# Anything PyYAML reads differently from a plain character (line breaks other than \n,
# tabs, non-printables, a byte-order mark) sends the whole text to PyYAML.
_UNUSUAL = re.compile(
    "[^\x0a\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"
)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: Integers as the rule writers emit them (``-2147483648``): PyYAML reads these alike.
_DECIMAL_INT = re.compile(r"0|-?[1-9][0-9]*")
_TAG = "tag:yaml.org,2002:"


def load_block_yaml(text: str) -> Any | None:
    """Parse ``text`` if it is in the subset our writers emit, else return ``None``.

    The subset: ``#`` comment lines, block mappings and block sequences of mappings
    indented by two, and values that are plain scalars (strings, integers, ``true``,
    ``false``, ``null``), double-quoted strings with JSON escapes, or one-line flow
    lists and mappings of plain scalars. Within it the result equals PyYAML's (the tests
    check this on every compiled rule file and on random texts); it is about three times
    faster than PyYAML's C loader, whose Python-level constructor dominates. Callers fall
    back to :func:`load_yaml` on ``None``, which also gives line-numbered errors.

        >>> load_block_yaml('a: 1\\nb:\\n  - c: [x, y]\\n    d: "q: r"\\n')
        {'a': 1, 'b': [{'c': ['x', 'y'], 'd': 'q: r'}]}
        >>> load_block_yaml("a: &anchor 1\\n") is None
        True
    """
    if _UNUSUAL.search(text):
        return None
    try:
        return _block_document(text)
    except _NotBlockSubset:
        return None


def _block_document(text: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    # (indent of the keys or dashes it holds, container), innermost last
    stack: list[tuple[int, dict[str, Any] | list[Any]]] = [(0, root)]
    open_key: tuple[int, dict[str, Any], str] | None = None
    for line in text.split("\n"):
        if not line or line[0] == "#":
            continue
        match = _BLOCK_LINE.fullmatch(line)
        if match is None:
            raise _NotBlockSubset
        spaces, dash, key, raw = match.groups()
        indent = len(spaces)
        if open_key is not None:
            key_indent, owner, owner_key = open_key
            open_key = None
            if indent > key_indent:
                child: dict[str, Any] | list[Any] = [] if dash else {}
                owner[owner_key] = child
                stack.append((indent, child))
        while stack[-1][0] > indent:
            stack.pop()
        level, container = stack[-1]
        if level != indent:
            raise _NotBlockSubset
        if dash:
            if not isinstance(container, list):
                raise _NotBlockSubset
            target: dict[str, Any] = {}
            container.append(target)
            stack.append((indent + 2, target))
        elif isinstance(container, dict):
            target = container
        else:
            raise _NotBlockSubset
        if key in target or not isinstance(_plain(key), str):
            raise _NotBlockSubset
        if raw is None:
            open_key = (indent + 2 if dash else indent, target, key)
            target[key] = None
        else:
            target[key] = _block_value(raw)
    return root


def _block_value(raw: str) -> Any:
    first = raw[0]
    if first == " " or raw[-1] == " ":
        raise _NotBlockSubset
    if first == '"':
        if "\\x" in raw or "\\/" in raw or _SURROGATE_ESCAPE.search(raw):
            raise _NotBlockSubset
        try:
            value = json.loads(raw)
        except ValueError:
            raise _NotBlockSubset from None
        if not isinstance(value, str):
            raise _NotBlockSubset
        return value
    if first == "[" and raw[-1] == "]":
        body = raw[1:-1]
        return [_flow_item(item) for item in body.split(", ")] if body else []
    if first == "{" and raw[-1] == "}":
        mapping: dict[Any, Any] = {}
        for item in raw[1:-1].split(", "):
            key, separator, value = item.partition(": ")
            key_value = _flow_item(key)
            if not separator or key_value in mapping:
                raise _NotBlockSubset
            mapping[key_value] = _flow_item(value)
        return mapping
    return _plain(raw)


def _flow_item(raw: str) -> Any:
    if not raw or not _FLOW_INDICATORS.isdisjoint(raw) or raw[0] in "\"'" or ":" in raw[-1:]:
        raise _NotBlockSubset
    if _FLOW_COLON.search(raw):
        raise _NotBlockSubset
    return _plain(raw)


@lru_cache(maxsize=65536)
def _plain(raw: str) -> Any:
    """A plain scalar's value, for the types the subset allows."""
    if _DECIMAL_INT.fullmatch(raw):
        return int(raw)
    if (
        raw != raw.strip()
        or raw[0] in _INDICATORS
        or ": " in raw
        or " #" in raw
        or raw.endswith(":")
    ):
        raise _NotBlockSubset
    tag = _RESOLVER.resolve(yaml.ScalarNode, raw, (True, False))
    if tag == _TAG + "str":
        return raw
    if tag == _TAG + "bool" and raw in ("true", "false"):
        return raw == "true"
    if tag == _TAG + "null" and raw == "null":
        return None
    raise _NotBlockSubset
