"""A cache of fhirpathpy's parse trees that outlives the process.

fhirpathpy parses with an ANTLR parser whose prediction tables start empty in every
process: the first few dozen expressions cost tens of milliseconds each, which is most
of a command-line run that validates one file. The trees are plain JSON, so they are
kept in ``<cache dir>/fhirpathpy-ast-<fhirpathpy version>.json`` (the cache dir is
``$FHIR_INVARIANTS_CACHE``, else ``$XDG_CACHE_HOME/fhir-invariants``, else
``~/.cache/fhir-invariants``), read on first use and written back at exit when it grew,
the way lark caches its parser tables. The cache only saves time: when it cannot be
read or written, expressions are parsed as before.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import fhirpathpy

__all__ = ["AstCache", "default_cache"]


class AstCache:
    """expression text → fhirpathpy AST, backed by one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, Any] | None = None
        self._added: dict[str, Any] = {}

    def get(self, expression: str) -> Any | None:
        if self._entries is None:
            self._entries = self._read()
        return self._entries.get(expression)

    def put(self, expression: str, ast: Any) -> None:
        if self._entries is None:
            self._entries = self._read()
        self._entries[expression] = ast
        self._added[expression] = ast

    def save(self) -> None:
        """Write the entries added by this process, merged with what the file holds now
        (another process may have added some), replacing the file in one step."""
        if not self._added:
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
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def _cache_dir() -> Path:
    explicit = os.environ.get("FHIR_INVARIANTS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fhir-invariants"


_DEFAULT: AstCache | None = None


def default_cache() -> AstCache:
    """The process's cache, saved at exit."""
    global _DEFAULT
    if _DEFAULT is None:
        name = f"fhirpathpy-ast-{fhirpathpy.__version__}.json"
        _DEFAULT = AstCache(_cache_dir() / name)
        atexit.register(_DEFAULT.save)
    return _DEFAULT
