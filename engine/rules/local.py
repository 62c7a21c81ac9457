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

:func:`apply_local_rules` checks the file against the loaded definitions (unknown
fields, a context path the definitions lack, an expression that is not FHIRPath, nests
too deeply, calls a function FHIRPath does not define, holds a regular expression that
does not compile or names elements that do not exist, a key that clashes, a suppressed
key that does not exist, a suppression without a reason) and reports the first problem as a
:class:`~engine.model.DefinitionError` naming the file and line. It returns new
definitions: the local constraints sit on their context elements like any other
(their source is the local file and line), and ``suppressed`` maps each switched-off
key to its reason, which validation skips and reports list.

    >>> defs = apply_local_rules(engine.load_definitions("definitions"), "my-rules.yaml")
    >>> defs.suppressed["isl-7"]
    'our PACS exports odd coordinate counts (ticket IMG-42)'
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
        self._known_fields(data, (), ("constraints", "suppress"))
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
        return self._result(added, suppressed, owners)

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
