"""YAML reading with line numbers for errors, and a small deterministic scalar writer.

Data files (compiled rules, local rules) are read with the C loader when PyYAML has it,
because start-up speed matters; line numbers are only worked out when something is wrong,
by composing the document again and walking to the offending node.

    >>> data = load_yaml("a:\\n  - x: 1\\n", "f.yaml")
    >>> line_of("a:\\n  - x: 1\\n", ("a", 0, "x"))
    2
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise DefinitionError(
            f"malformed YAML: {error.problem or error}", Source(file, line)
        ) from None
    except yaml.YAMLError as error:
        raise DefinitionError(f"malformed YAML: {error}", Source(file, 1)) from None


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
