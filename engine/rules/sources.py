"""Which definitions a run validates against: one policy for the whole package.

- The **bundled** definitions (FHIR R5 and the hand-maintained ImagingSelection) are read
  from their compiled rules, type by type as resources need them: the rule files are
  drift-checked in CI, so they say exactly what the markdown says, and starting from them
  builds no markdown grammar.
- Definitions the **user names** (a folder or ``.md`` files) are read from their markdown,
  so that an edit is never hidden by stale compiled rules.
- A **local-rules** file (own constraints, suppressions) is applied on top of either.

    >>> defs = bundled_definitions()
    >>> defs["ImagingSelection"].element("ImagingSelection.status").cardinality.min
    1
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.model import Definitions
from engine.rules.loader import load_rules
from engine.rules.local import apply_local_rules

__all__ = [
    "DefinitionsSource",
    "bundled_definitions",
    "bundled_definitions_dir",
    "load_definitions",
]


def bundled_definitions_dir() -> Path:
    """The folder of the definitions shipped with the package: ``engine/_bundled_definitions``
    in an installed wheel, the project's ``definitions/`` folder in a source checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_bundled_definitions"
    return installed if installed.is_dir() else package.parent / "definitions"


@lru_cache(maxsize=1)
def bundled_definitions() -> Definitions:
    """The bundled definitions, from their compiled rules (loaded lazily per type, and
    shared: the same object on every call)."""
    return load_rules(bundled_definitions_dir())


def load_definitions(
    *paths: str | os.PathLike[str], extra_rules: str | os.PathLike[str] | None = None
) -> Definitions:
    """Load definition files and folders from their markdown into
    :class:`~engine.model.Definitions`; see :func:`engine.definitions.markdown.load_markdown`
    for what a folder contributes and what is checked.

    ``extra_rules`` names a local-rules YAML file (your own constraints, and keys to
    switch off with a reason; see :mod:`engine.rules.local`), applied after loading.

        >>> defs = load_definitions("definitions")
        >>> len(defs["ImagingSelection"].constraints)
        11
    """
    from engine.definitions.markdown import load_markdown  # its grammars only when needed

    definitions = load_markdown(*paths)
    if extra_rules is not None:
        definitions = apply_local_rules(definitions, extra_rules)
    return definitions


@dataclass(frozen=True, slots=True)
class DefinitionsSource:
    """Where a run's definitions come from; small and picklable, so that every worker
    process (``--jobs``, Spark executors) loads exactly what the main process loaded.

    ``path`` None means the bundled definitions; ``extra_rules`` is a local-rules file
    applied on top.
    """

    path: str | None = None
    extra_rules: str | None = None

    def load(self) -> Definitions:
        definitions = bundled_definitions() if self.path is None else load_definitions(self.path)
        if self.extra_rules is not None:
            definitions = apply_local_rules(definitions, self.extra_rules)
        return definitions
