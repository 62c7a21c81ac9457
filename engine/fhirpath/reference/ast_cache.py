"""A cache of fhirpathpy's parse trees that outlives the process.

fhirpathpy parses with an ANTLR parser whose prediction tables start empty in every
process: the first few dozen expressions cost tens of milliseconds each, which is most
of a command-line run that validates one file. The trees are plain JSON, so they are
kept in ``<cache dir>/fhirpathpy-ast-<fhirpathpy version>.json`` (the user's private
folder, :func:`engine.fhirpath.private_cache.cache_dir`), read on first use and written
back at exit when it grew. The cache only saves time: when it cannot be read or written,
or an entry is not shaped like a parse tree, expressions are parsed as before.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import fhirpathpy

from engine.fhirpath.private_cache import cache_file

__all__ = ["AstCache", "default_cache"]


class AstCache:
    """expression text → fhirpathpy AST, backed by one JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, Any] | None = None
        self._added: dict[str, Any] = {}

    def get(self, expression: str) -> Any | None:
        if self._entries is None:
            self._entries = self._read()
        entry = self._entries.get(expression)
        return entry if _is_tree(entry) else None

    def put(self, expression: str, ast: Any) -> None:
        if self._entries is None:
            self._entries = self._read()
        self._entries[expression] = ast
        self._added[expression] = ast

    def save(self) -> None:
        """Write the entries added by this process, merged with what the file holds now
        (another process may have added some), replacing the file in one step."""
        if not self._added or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            merged = {**self._read(), **self._added}
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(merged, out, separators=(",", ":"))
            os.replace(temporary, self.path)
            self._added = {}
        except OSError:
            return

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


_NODE_KEYS = frozenset({"type", "text", "terminalNodeText", "children"})


def _is_tree(entry: Any) -> bool:
    """True when ``entry`` has the shape of a fhirpathpy parse tree (checked without
    recursion: a damaged file must not crash the engine)."""
    stack = [entry]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return False
        if not node.keys() <= _NODE_KEYS or not isinstance(node.get("text", ""), str):
            return False
        terminals = node.get("terminalNodeText", [])
        children = node.get("children", [])
        if not isinstance(terminals, list) or not all(isinstance(t, str) for t in terminals):
            return False
        if not isinstance(children, list):
            return False
        stack.extend(children)
    return True


_DEFAULT: AstCache | None = None


def default_cache() -> AstCache:
    """The process's cache, saved at exit."""
    global _DEFAULT
    if _DEFAULT is None:
        name = f"fhirpathpy-ast-{fhirpathpy.__version__}.json"
        _DEFAULT = AstCache(cache_file(name))
        atexit.register(_DEFAULT.save)
    return _DEFAULT
