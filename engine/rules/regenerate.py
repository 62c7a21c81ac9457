"""Regenerating the compiled rules from the markdown, and telling reviewers what changed.

:func:`regenerate` loads a definitions folder's markdown (with every strict check of
the loader), writes ``rules/<Type>.yaml`` for each type plus the folder's index, removes
rule files whose markdown is gone, and returns what changed per type in terms a reviewer
cares about: constraints added, removed or changed (severity, human text, expression),
elements added, removed or changed (cardinality, types, binding…). With ``check=True``
nothing is written: CI uses it to fail when someone edited a definition and forgot to
regenerate.

    >>> result = regenerate(Path("definitions"), check=True)
    >>> result.stale
    False
    >>> print(result.summary())
    Rule files are up to date (... types).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engine.definitions.markdown import load_markdown
from engine.model import DefinitionError, ElementDefinition, StructureDefinition
from engine.rules.format import (
    INDEX_FILE,
    REGENERATE_COMMAND,
    index_to_yaml,
    rules_from_yaml,
    rules_to_yaml,
)
from engine.rules.loader import RULES_DIR

#: A changed item and the names of its fields that changed: ``("isl-7", ("expression",))``.
Changed = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class TypeChanges:
    """How one type's rule file differs between what is on disk and the markdown."""

    type_name: str
    rule_file: str
    status: Literal["added", "removed", "changed"]
    constraints_added: tuple[str, ...] = ()
    constraints_removed: tuple[str, ...] = ()
    constraints_changed: tuple[Changed, ...] = ()
    elements_added: tuple[str, ...] = ()
    elements_removed: tuple[str, ...] = ()
    elements_changed: tuple[Changed, ...] = ()
    #: Type-level changes (``base``, ``kind``…) and the ones that change no rule:
    #: ``source lines``, or ``text`` when only the file's bytes differ (a hand edit).
    other: tuple[str, ...] = ()
    element_count: int = 0
    constraint_count: int = 0

    def lines(self) -> list[str]:
        """This change as summary lines: a heading, then one indented line per item."""
        if self.status != "changed":
            what = f"{self.element_count} elements, {self.constraint_count} constraints"
            gone = ", its markdown is gone" if self.status == "removed" else ""
            return [f"{self.type_name}: {self.rule_file} {self.status} ({what}{gone})"]
        out = [f"{self.type_name}: {self.rule_file} changed"]
        out += [f"  constraint {key} added" for key in self.constraints_added]
        out += [f"  constraint {key} removed" for key in self.constraints_removed]
        out += [f"  constraint {k} changed: {', '.join(f)}" for k, f in self.constraints_changed]
        out += [f"  element {path} added" for path in self.elements_added]
        out += [f"  element {path} removed" for path in self.elements_removed]
        out += [f"  element {p} changed: {', '.join(f)}" for p, f in self.elements_changed]
        out += [f"  {what} changed" for what in self.other]
        return out


@dataclass(frozen=True)
class RegenerateResult:
    """What :func:`regenerate` found (and, unless checking, wrote)."""

    definitions_dir: Path
    checked: bool
    type_count: int
    changes: tuple[TypeChanges, ...] = ()
    index_changed: bool = False
    written: tuple[Path, ...] = field(default=(), compare=False)
    removed: tuple[Path, ...] = field(default=(), compare=False)

    @property
    def stale(self) -> bool:
        """True when the rule files on disk did not match the markdown."""
        return bool(self.changes) or self.index_changed

    def summary(self) -> str:
        """A short, deterministic account of what changed, naming keys and paths."""
        types = f"{self.type_count} type{'s' if self.type_count != 1 else ''}"
        if not self.stale:
            return f"Rule files are up to date ({types})."
        lines = [line for change in self.changes for line in change.lines()]
        if self.index_changed:
            lines.append(f"{RULES_DIR}/{INDEX_FILE} changed")
        counts = {s: sum(c.status == s for c in self.changes) for s in ("added", "removed")}
        changed = len(self.changes) - counts["added"] - counts["removed"]
        lines.append(
            f"{len(self.changes)} rule file{'s' if len(self.changes) != 1 else ''} "
            f"{'stale' if self.checked else 'updated'} ({counts['added']} added, "
            f"{counts['removed']} removed, {changed} changed) for {types}."
        )
        if self.checked:
            lines.append(
                f"Run `{REGENERATE_COMMAND} --definitions {self.definitions_dir}` and commit "
                "the result."
            )
        return "\n".join(lines)


def regenerate(
    definitions_dir: Path, *, check: bool = False, label: str | None = None
) -> RegenerateResult:
    """Rebuild ``<definitions_dir>/rules/`` from the markdown in ``definitions_dir``.

    Raises :class:`~engine.model.DefinitionError` (file and line) when the markdown is
    invalid; nothing is written then. With ``check=True`` nothing is written at all and
    the result says whether the rule files are stale. ``label`` is the folder name the
    rule files' headers give (default: the folder's own name); the bundled definitions
    keep ``definitions``, the name they are generated under, when installed elsewhere.
    """
    folder = Path(definitions_dir)
    definitions = load_markdown(folder)
    rules_dir = folder / RULES_DIR
    label = label or folder.resolve().name
    wanted: dict[Path, str] = {}
    changes: list[TypeChanges] = []
    index: dict[str, tuple[str, ...]] = {}
    for name in sorted(definitions):
        sd = definitions[name]
        source_file = _relative_source(sd, folder)
        path = rules_dir / f"{name}.yaml"
        text = wanted[path] = rules_to_yaml(sd, source_file, label)
        index[name] = tuple(c.key for c in sd.constraints)
        old_text = _read_or_none(path)
        if old_text != text:
            changes.append(_type_changes(sd, path, old_text, folder))
    orphans = sorted(p for p in _rule_files(rules_dir) if p not in wanted and p.name != INDEX_FILE)
    changes.extend(_removed(path, folder) for path in orphans)
    changes.sort(key=lambda c: c.type_name)
    index_path = rules_dir / INDEX_FILE
    index_text = index_to_yaml(index, label)
    index_changed = _read_or_none(index_path) != index_text
    written: list[Path] = []
    if not check:
        rules_dir.mkdir(parents=True, exist_ok=True)
        stale_names = {c.type_name for c in changes if c.status != "removed"}
        for path, text in wanted.items():
            if path.stem in stale_names:
                _write(path, text)
                written.append(path)
        if index_changed:
            _write(index_path, index_text)
            written.append(index_path)
        for path in orphans:
            path.unlink()
    return RegenerateResult(
        definitions_dir=folder,
        checked=check,
        type_count=len(index),
        changes=tuple(changes),
        index_changed=index_changed,
        written=tuple(written),
        removed=tuple(orphans),
    )


def _relative_source(sd: StructureDefinition, folder: Path) -> str:
    try:
        return Path(sd.source.file).relative_to(folder).as_posix()
    except ValueError:
        return Path(sd.source.file).as_posix()


def _rule_files(rules_dir: Path) -> Iterable[Path]:
    return rules_dir.glob("*.yaml") if rules_dir.is_dir() else ()


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""


def _write(path: Path, text: str) -> None:
    """Replace the file in one step, so an interrupted run never leaves half a rule file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _removed(path: Path, folder: Path) -> TypeChanges:
    old = _parse_or_none(_read_or_none(path), path)
    return TypeChanges(
        type_name=path.stem,
        rule_file=_relative(path, folder),
        status="removed",
        element_count=len(old.elements) if old else 0,
        constraint_count=len(old.constraints) if old else 0,
    )


def _parse_or_none(text: str | None, path: Path) -> StructureDefinition | None:
    if text is None:
        return None
    try:
        return rules_from_yaml(text, str(path))
    except DefinitionError:
        return None


def _type_changes(
    new: StructureDefinition, path: Path, old_text: str | None, folder: Path
) -> TypeChanges:
    rule_file = _relative(path, folder)
    if old_text is None:
        return TypeChanges(
            new.name,
            rule_file,
            "added",
            element_count=len(new.elements),
            constraint_count=len(new.constraints),
        )
    old = _parse_or_none(old_text, path)
    if old is None:
        return TypeChanges(new.name, rule_file, "changed", other=("unreadable rule file",))
    old_constraints = {c.key: c for c in old.constraints}
    new_constraints = {c.key: c for c in new.constraints}
    old_elements = {e.path: e for e in old.elements}
    new_elements = {e.path: e for e in new.elements}
    constraint_fields = ("severity", "human", "expression", "context")
    other = [
        name
        for name in ("kind", "base", "abstract", "title")
        if getattr(old, name) != getattr(new, name)
    ]
    if old.source.file != _relative_source(new, folder):
        other.append("source file")
    if _moved(old, new):
        other.append("source lines")
    changes = TypeChanges(
        type_name=new.name,
        rule_file=rule_file,
        status="changed",
        constraints_added=tuple(k for k in new_constraints if k not in old_constraints),
        constraints_removed=tuple(k for k in old_constraints if k not in new_constraints),
        constraints_changed=_changed(old_constraints, new_constraints, constraint_fields),
        elements_added=tuple(p for p in new_elements if p not in old_elements),
        elements_removed=tuple(p for p in old_elements if p not in new_elements),
        elements_changed=tuple(
            (p, fields)
            for p, e in new_elements.items()
            if p in old_elements and (fields := _element_fields(old_elements[p], e))
        ),
        other=tuple(other),
    )
    if changes == TypeChanges(new.name, rule_file, "changed"):
        return TypeChanges(new.name, rule_file, "changed", other=("text",))
    return changes


def _changed(
    old: Mapping[str, Any], new: Mapping[str, Any], fields: tuple[str, ...]
) -> tuple[Changed, ...]:
    return tuple(
        (key, diff)
        for key, item in new.items()
        if key in old
        and (diff := tuple(f for f in fields if getattr(old[key], f) != getattr(item, f)))
    )


_ELEMENT_FIELDS = {
    "cardinality": "cardinality",
    "types": "types",
    "binding": "binding",
    "content_reference": "content-reference",
    "regex": "regex",
    "min_value": "min-value",
    "max_value": "max-value",
    "is_modifier": "modifier",
    "short": "short",
}


def _element_fields(old: ElementDefinition, new: ElementDefinition) -> tuple[str, ...]:
    return tuple(
        label for attr, label in _ELEMENT_FIELDS.items() if getattr(old, attr) != getattr(new, attr)
    )


def _moved(old: StructureDefinition, new: StructureDefinition) -> bool:
    """True when an element or constraint present in both now sits on another line."""
    old_lines = _lines(old)
    return any(old_lines.get(item, line) != line for item, line in _lines(new).items())


def _lines(sd: StructureDefinition) -> dict[str, int]:
    lines = {"": sd.source.line}
    for e in sd.elements:
        lines[e.path] = e.source.line
        lines.update((f"{e.path}#{c.key}", c.source.line) for c in e.constraints)
    return lines
