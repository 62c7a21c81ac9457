"""Local rules: a user's own invariants and switched-off constraints, as data.

A local rules file is YAML with two optional lists::

    constraints:                 # your own business invariants
      - key: acme-1              # unique: may not reuse any loaded constraint key
        severity: error          # fatal | error | warning | information
        human: A selection SHALL name the study it was made from
        expression: studyUid.exists()
        context: ImagingSelection   # the element each occurrence of which is checked
    suppress:                    # constraints not to evaluate, each with why
      - key: isl-7
        reason: our PACS exports odd coordinate counts (ticket IMG-42)
    lint:                        # ``rules lint`` findings to silence, each with why
      - key: isl-7
        check: aggregation       # one of engine.rules.lint.CHECKS
        reason: pooling the coordinates of all regions is what we check

:func:`apply_local_rules` checks the file against the loaded definitions (unknown
fields, a context path the definitions lack, an expression that is not FHIRPath, nests
too deeply, calls a function FHIRPath does not define, holds a regular expression that
does not compile or names elements that do not exist, a key that clashes, a suppressed
key that does not exist, a suppression without a reason, a ``lint`` entry naming an
unknown check or without a reason) and reports the first problem as a
:class:`~engine.model.DefinitionError` naming the file and line. It returns new
definitions: the local constraints sit on their context elements like any other
(their source is the local file and line), and ``suppressed`` maps each switched-off
key to its reason, which validation skips and reports list.

    >>> path = getfixture("tmp_path") / "my-rules.yaml"   # a temporary folder
    >>> _ = path.write_text('''
    ... suppress:
    ...   - key: isl-7
    ...     reason: our PACS exports odd coordinate counts (ticket IMG-42)
    ... ''')
    >>> defs = apply_local_rules(engine.bundled_definitions(), path)
    >>> defs.suppressed["isl-7"]
    'our PACS exports odd coordinate counts (ticket IMG-42)'

The ``lint`` entries change no verdict: :func:`lint_silences` reads them for
``fhir-invariants rules lint`` (:mod:`engine.rules.lint`), which reports a silenced
finding as silenced, and an entry that silences nothing as a finding of its own.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn, get_args

from engine.definitions.yaml_io import LineIndex, YamlPath, load_yaml
from engine.fhirpath.analysis import unknown_elements
from engine.fhirpath.lint import expression_problems
from engine.fhirpath.syntax import FhirPathSyntaxError, parse
from engine.model import (
    Constraint,
    DefinitionError,
    Definitions,
    ElementDefinition,
    LazyMapping,
    Severity,
    Source,
    StructureDefinition,
)

_SEVERITIES: tuple[str, ...] = get_args(Severity)
_CONSTRAINT_FIELDS = ("key", "severity", "human", "expression", "context")
_SUPPRESS_FIELDS = ("key", "reason")
_LINT_FIELDS = ("key", "check", "reason")
#: Lint checks whose key need not be a constraint (a ``Conditions`` key naming none).
_ANY_KEY_CHECKS = frozenset({"unknown-condition"})
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def apply_local_rules(definitions: Definitions, path: str | os.PathLike[str]) -> Definitions:
    """``definitions`` with the local rules file at ``path`` applied.

    Lazily loaded definitions stay lazy: only the types that local constraints attach
    to (and those their expressions name) are loaded.
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionError(f"cannot read local rules: {error}", Source(file, 1)) from None
    return _LocalRules(definitions, text, file).apply()


def lint_silences(
    path: str | os.PathLike[str], definitions: Definitions
) -> dict[tuple[str, str], tuple[str, int]]:
    """The ``lint`` entries of a local rules file: ``(key, check)`` → (reason, line).

    Each entry is checked (fields, a known check, a written reason, a key that the
    definitions or the file define, no duplicate) and the first problem raises
    :class:`~engine.model.DefinitionError` naming the file and line.

        >>> path = getfixture("tmp_path") / "my-rules.yaml"
        >>> _ = path.write_text('''
        ... lint:
        ...   - key: isl-7
        ...     check: aggregation
        ...     reason: pooling the coordinates of all regions is what we check
        ... ''')
        >>> lint_silences(path, defs)[("isl-7", "aggregation")]
        ('pooling the coordinates of all regions is what we check', 3)
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionError(f"cannot read local rules: {error}", Source(file, 1)) from None
    rules = _LocalRules(definitions, text, file)
    data = load_yaml(text, file)
    if not isinstance(data, dict):
        return {}
    return rules.silences(data, rules.added_keys(data))


class _LocalRules:
    """One local rules file being checked against the definitions, then applied."""

    def __init__(self, definitions: Definitions, text: str, file: str) -> None:
        self._definitions = definitions
        self._text = text
        self._file = file
        self._lines: LineIndex | None = None

    def apply(self) -> Definitions:
        data = load_yaml(self._text, self._file)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self._fail("a local rules file is a mapping with 'constraints' and/or 'suppress'", ())
        self._known_fields(data, (), ("constraints", "suppress", "lint"))
        owners = self._definitions.constraint_owners()
        added: dict[str, Constraint] = {}
        for i, item in enumerate(self._list(data, "constraints")):
            constraint = self._constraint(item, ("constraints", i))
            if constraint.key in added or constraint.key in owners:
                where = (
                    f"earlier in {self._file} (line {added[constraint.key].source.line})"
                    if constraint.key in added
                    else f"in {', '.join(owners[constraint.key])}"
                )
                self._fail(
                    f"constraint key '{constraint.key}' is already defined {where}",
                    ("constraints", i, "key"),
                )
            added[constraint.key] = constraint
        suppressed: dict[str, str] = {}
        for i, item in enumerate(self._list(data, "suppress")):
            key, reason = self._suppression(item, ("suppress", i))
            if key not in owners and key not in added:
                self._fail(f"cannot suppress '{key}': no such constraint", ("suppress", i, "key"))
            if key in suppressed:
                self._fail(f"'{key}' is suppressed twice", ("suppress", i, "key"))
            suppressed[key] = reason
        self.silences(data, set(added))
        return self._result(added, suppressed, owners)

    def added_keys(self, data: Mapping[str, Any]) -> set[str]:
        """The keys of the file's own constraints (as written; checked by ``apply``)."""
        return {
            item["key"]
            for item in self._list(data, "constraints")
            if isinstance(item, dict) and isinstance(item.get("key"), str)
        }

    def silences(
        self, data: Mapping[str, Any], added: set[str]
    ) -> dict[tuple[str, str], tuple[str, int]]:
        # Imported here: the lint module is only needed when a file has lint entries.
        from engine.rules.lint import CHECKS

        owners = self._definitions.constraint_owners()
        silences: dict[tuple[str, str], tuple[str, int]] = {}
        for i, item in enumerate(self._list(data, "lint")):
            at = ("lint", i)
            fields = self._mapping(item, at)
            self._known_fields(fields, at, _LINT_FIELDS)
            for name in ("key", "check"):
                if name not in fields:
                    self._fail(f"a lint entry needs '{name}'", at)
            key = self._string(fields, "key", at)
            check = self._string(fields, "check", at)
            if check not in CHECKS:
                self._fail(
                    f"unknown lint check {check!r} (expected one of {', '.join(CHECKS)})",
                    (*at, "check"),
                )
            if check not in _ANY_KEY_CHECKS and key not in owners and key not in added:
                self._fail(f"cannot silence lint for '{key}': no such constraint", (*at, "key"))
            if not isinstance(fields.get("reason"), str) or not fields["reason"].strip():
                self._fail(f"silencing {check} for '{key}' needs a written 'reason'", at)
            if (key, check) in silences:
                self._fail(f"{check} for '{key}' is silenced twice", (*at, "key"))
            silences[key, check] = (fields["reason"].strip(), self._line(at))
        return silences

    def _result(
        self,
        added: Mapping[str, Constraint],
        suppressed: Mapping[str, str],
        owners: Mapping[str, tuple[str, ...]],
    ) -> Definitions:
        by_type: dict[str, list[Constraint]] = {}
        for constraint in added.values():
            by_type.setdefault(_type_name(constraint.context), []).append(constraint)
        changed = {
            name: _with_constraints(self._definitions[name], constraints)
            for name, constraints in by_type.items()
        }
        base = self._definitions

        def load(name: str) -> StructureDefinition:
            return changed[name] if name in changed else base[name]

        new_owners = dict(owners)
        for key, constraint in added.items():
            new_owners[key] = (_type_name(constraint.context),)
        return Definitions(
            LazyMapping(list(base), load),
            base.value_sets,
            suppressed={**base.suppressed, **suppressed},
            constraint_owners=new_owners,
        )

    def _constraint(self, item: Any, at: YamlPath) -> Constraint:
        fields = self._mapping(item, at)
        self._known_fields(fields, at, _CONSTRAINT_FIELDS)
        for name in _CONSTRAINT_FIELDS:
            if name not in fields:
                self._fail(f"a local constraint needs '{name}'", at)
        key = self._string(fields, "key", at)
        if _KEY.fullmatch(key) is None:
            self._fail(f"constraint key {key!r} must be letters, digits, '.', '_' or '-'", at)
        severity = self._string(fields, "severity", at)
        if severity not in _SEVERITIES:
            self._fail(
                f"constraint {key}: severity {severity!r} is not one of {', '.join(_SEVERITIES)}",
                (*at, "severity"),
            )
        context = self._string(fields, "context", at)
        self._check_context(key, context, (*at, "context"))
        expression = self._string(fields, "expression", at)
        try:
            parse(expression)
        except FhirPathSyntaxError as error:
            self._fail(
                f"constraint {key}: expression is not valid FHIRPath: {error.message} "
                f"(column {error.column})",
                (*at, "expression"),
            )
        problems = expression_problems(expression) or unknown_elements(
            expression, context, self._definitions
        )
        if problems:
            self._fail(f"constraint {key}: {problems[0]}", (*at, "expression"))
        return Constraint(
            key=key,
            severity=severity,  # type: ignore[arg-type]
            human=self._string(fields, "human", at),
            expression=expression,
            context=context,
            source=Source(self._file, self._line(at)),
        )

    def _check_context(self, key: str, context: str, at: YamlPath) -> None:
        type_name = _type_name(context)
        if type_name not in self._definitions:
            self._fail(
                f"constraint {key}: unknown context path '{context}' (no type '{type_name}')", at
            )
        if self._definitions[type_name].get(context) is None:
            self._fail(
                f"constraint {key}: unknown context path '{context}' "
                f"(not an element of {type_name})",
                at,
            )

    def _suppression(self, item: Any, at: YamlPath) -> tuple[str, str]:
        fields = self._mapping(item, at)
        self._known_fields(fields, at, _SUPPRESS_FIELDS)
        if "key" not in fields:
            self._fail("a suppression needs 'key'", at)
        key = self._string(fields, "key", at)
        if not isinstance(fields.get("reason"), str) or not fields["reason"].strip():
            self._fail(f"suppressing '{key}' needs a written 'reason'", at)
        return key, fields["reason"].strip()

    def _list(self, data: Mapping[str, Any], name: str) -> list[Any]:
        value = data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self._fail(f"'{name}' must be a list", (name,))
        return value

    def _mapping(self, item: Any, at: YamlPath) -> Mapping[str, Any]:
        if not isinstance(item, dict):
            self._fail("expected a mapping of fields", at)
        return item

    def _known_fields(
        self, fields: Mapping[str, Any], at: YamlPath, known: tuple[str, ...]
    ) -> None:
        for name in fields:
            if name not in known:
                self._fail(f"unknown field {name!r} (expected {', '.join(known)})", (*at, name))

    def _string(self, fields: Mapping[str, Any], name: str, at: YamlPath) -> str:
        value = fields[name]
        if not isinstance(value, str) or not value.strip():
            self._fail(f"'{name}' must be a non-empty string", (*at, name))
        return value

    def _line(self, at: YamlPath) -> int:
        if self._lines is None:
            self._lines = LineIndex(self._text)
        return self._lines.line(at)

    def _fail(self, message: str, at: YamlPath) -> NoReturn:
        raise DefinitionError(message, Source(self._file, self._line(at)))


def _type_name(context: str) -> str:
    return context.split(".", 1)[0]


def _with_constraints(
    sd: StructureDefinition, constraints: list[Constraint]
) -> StructureDefinition:
    by_path: dict[str, tuple[Constraint, ...]] = {}
    for constraint in constraints:
        by_path[constraint.context] = (*by_path.get(constraint.context, ()), constraint)

    def extended(element: ElementDefinition) -> ElementDefinition:
        extra = by_path.get(element.path)
        if not extra:
            return element
        return dataclasses.replace(element, constraints=element.constraints + extra)

    return dataclasses.replace(sd, elements=tuple(extended(e) for e in sd.elements))
