"""Loading the compiled rules: the fast start-up path that reads no markdown.

:func:`load_rules` returns :class:`~engine.model.Definitions` backed by
``<definitions>/rules/*.yaml``: only the folder's index is read at once; a type's rule
file is parsed the first time something asks for that type, and the value-set data
files the first time a binding needs one. FHIRPath is not re-checked: the rule files
were checked when they were generated, and the drift check keeps them in step.

    >>> defs = load_rules("definitions")
    >>> defs["ImagingSelection"].element("ImagingSelection.status").cardinality.min
    1
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.definitions.terminology import load_value_set_files
from engine.model import (
    DefinitionError,
    Definitions,
    LazyMapping,
    Source,
    StructureDefinition,
    ValueSet,
)
from engine.rules.format import INDEX_FILE, REGENERATE_COMMAND, index_from_yaml, rules_from_yaml

#: The folder, inside a definitions folder, holding the compiled rule files.
RULES_DIR = "rules"


def load_rules(directory: str | os.PathLike[str]) -> Definitions:
    """The definitions compiled into ``<directory>/rules/``, loaded lazily per type.

    Raises :class:`~engine.model.DefinitionError` (with file and line) when the folder
    has no compiled rules, when the index and the rule files disagree, or, on first
    access to a type, when its rule file is malformed.
    """
    folder = Path(directory)
    rules_dir = folder / RULES_DIR
    index_path = rules_dir / INDEX_FILE
    hint = f"run `{REGENERATE_COMMAND} --definitions {folder}`"
    if not index_path.is_file():
        raise DefinitionError(f"no compiled rules in {rules_dir}: {hint}")
    index = index_from_yaml(_read(index_path), str(index_path))
    on_disk = {p.stem for p in rules_dir.glob("*.yaml") if p.name != INDEX_FILE}
    if on_disk != set(index):
        extra, missing = sorted(on_disk - set(index)), sorted(set(index) - on_disk)
        detail = "; ".join(
            part
            for part in (
                f"not in the index: {', '.join(extra)}" if extra else "",
                f"rule files missing: {', '.join(missing)}" if missing else "",
            )
            if part
        )
        raise DefinitionError(
            f"rules folder out of step with its index ({detail}): {hint}",
            Source(str(index_path), 1),
        )

    def load_type(name: str) -> StructureDefinition:
        path = rules_dir / f"{name}.yaml"
        sd = rules_from_yaml(_read(path), str(path), source_dir=str(folder))
        if sd.name != name:
            raise DefinitionError(
                f"rule file defines {sd.name!r}, not {name!r}: {hint}", Source(str(path), 1)
            )
        return sd

    return Definitions(
        LazyMapping(sorted(index), load_type),
        LazyMapping(load_all=lambda: _value_sets(folder)),
        constraint_owners=_owners(index),
    )


def _owners(index: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    owners: dict[str, tuple[str, ...]] = {}
    for name, keys in sorted(index.items()):
        for key in dict.fromkeys(keys):
            owners[key] = (*owners.get(key, ()), name)
    return owners


def _value_sets(folder: Path) -> dict[str, ValueSet]:
    return load_value_set_files(
        path
        for path in sorted(folder.rglob("*.valuesets.yaml"))
        if RULES_DIR not in path.relative_to(folder).parts[:-1]
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionError(f"cannot read rule file: {error}", Source(str(path), 1)) from None
