"""Which definitions a run validates against: one policy for the whole package.

- The **bundled** definitions (FHIR R5 and the hand-maintained ImagingSelection) are read
  from their compiled rules, type by type as resources need them: the rule files are
  drift-checked in CI, so they say exactly what the markdown says, and starting from them
  builds no markdown grammar.
- Definitions the **user names** (a folder or ``.md`` files) are read from their markdown,
  so that an edit is never hidden by stale compiled rules.
- A definitions folder's own rules files, ``*.rules.yaml`` in the local-rules format, are
  applied when the folder is loaded (``builtin_rules=True``, the default). The bundled
  folder has one: ``hl7-validator.rules.yaml``, the checks the HL7 validator makes in
  Java code (``Bundle.entry.fullUrl`` against the resource, unique ids, Attachment size
  and hash…), so they are on by default and can be switched off.
- A **local-rules** file (own constraints, suppressions) is applied on top of either.

    >>> defs = bundled_definitions()
    >>> defs["ImagingSelection"].element("ImagingSelection.status").cardinality.min
    1
    >>> "hl7v-bdl-fullurl" in defs.constraint_owners()
    True
    >>> "hl7v-bdl-fullurl" in bundled_definitions(builtin_rules=False).constraint_owners()
    False
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.model import Definitions
from engine.rules.loader import load_rules
from engine.rules.local import apply_local_rules

__all__ = [
    "RULES_FILES",
    "DefinitionsSource",
    "bundled_definitions",
    "bundled_definitions_dir",
    "folder_rules",
    "load_definitions",
]

#: The file names of a definitions folder's own rules (local-rules format).
RULES_FILES = "*.rules.yaml"


def bundled_definitions_dir() -> Path:
    """The folder of the definitions shipped with the package: ``engine/_bundled_definitions``
    in an installed wheel, the project's ``definitions/`` folder in a source checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_bundled_definitions"
    return installed if installed.is_dir() else package.parent / "definitions"


@lru_cache(maxsize=2)
def bundled_definitions(builtin_rules: bool = True) -> Definitions:
    """The bundled definitions, from their compiled rules (loaded lazily per type, and
    shared: the same object on every call), with the built-in rules of
    ``hl7-validator.rules.yaml`` unless ``builtin_rules`` is false."""
    folder = bundled_definitions_dir()
    definitions = load_rules(folder)
    return _with_folder_rules(definitions, [folder]) if builtin_rules else definitions


def load_definitions(
    *paths: str | os.PathLike[str],
    extra_rules: str | os.PathLike[str] | None = None,
    builtin_rules: bool = True,
) -> Definitions:
    """Load definition files and folders from their markdown into
    :class:`~engine.model.Definitions`; see :func:`engine.definitions.markdown.load_markdown`
    for what a folder contributes and what is checked.

    Each folder's own rules (``*.rules.yaml``, see :func:`folder_rules`) are applied
    unless ``builtin_rules`` is false. ``extra_rules`` names a local-rules YAML file (your
    own constraints, and keys to switch off with a reason; see :mod:`engine.rules.local`),
    applied after them.

        >>> defs = load_definitions("definitions")
        >>> len(defs["ImagingSelection"].constraints)
        11
    """
    from engine.definitions.markdown import load_markdown  # its grammars only when needed

    definitions = load_markdown(*paths)
    if builtin_rules:
        definitions = _with_folder_rules(definitions, paths)
    if extra_rules is not None:
        definitions = apply_local_rules(definitions, extra_rules)
    return definitions


def folder_rules(path: str | os.PathLike[str]) -> list[Path]:
    """The rules files a definitions folder applies to itself (``*.rules.yaml``, sorted);
    none for a single definitions file."""
    folder = Path(path)
    return sorted(folder.glob(RULES_FILES)) if folder.is_dir() else []


def _with_folder_rules(
    definitions: Definitions, paths: Sequence[str | os.PathLike[str]]
) -> Definitions:
    for path in paths:
        for rules in folder_rules(path):
            definitions = apply_local_rules(definitions, rules)
    return definitions


@dataclass(frozen=True, slots=True)
class DefinitionsSource:
    """Where a run's definitions come from; small and picklable, so that every worker
    process (``--jobs``, Spark executors) loads exactly what the main process loaded.

    ``path`` None means the bundled definitions; ``extra_rules`` is a local-rules file
    applied on top; ``builtin_rules`` false leaves out the definitions folder's own rules
    (for the bundled definitions, the HL7 validator's built-in checks).
    """

    path: str | None = None
    extra_rules: str | None = None
    builtin_rules: bool = True

    def load(self) -> Definitions:
        if self.path is None:
            definitions = bundled_definitions(self.builtin_rules)
        else:
            definitions = load_definitions(self.path, builtin_rules=self.builtin_rules)
        if self.extra_rules is not None:
            definitions = apply_local_rules(definitions, self.extra_rules)
        return definitions
