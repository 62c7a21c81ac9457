"""What a definition change does to real data: ``rules regenerate --impact CORPUS…``.

Before a changed definition is committed, its author can run it against the resources
it will judge. :func:`impact` validates every resource of a corpus (files, folders,
globs, NDJSON: what ``validate`` reads) twice, with the rules before the change (the
compiled rule files in ``DIR/rules/``) and after it (the edited markdown), and reports,
for each constraint the change adds, removes or alters, the resources that now fail it
and those that now pass it, with up to three examples and the locations concerned.

    >>> from engine.rules.regenerate import regenerate
    >>> checked = regenerate(Path("definitions"), check=True)   # nothing changed here
    >>> print(impact(Path("definitions"), ["examples/imagingselection"], checked).text())
    Impact on 18 resources (before: the compiled rules; after: the markdown):
    No constraint changed.
    Validity: 0 resources newly invalid, 0 newly valid, 18 unchanged.

After an edit, each changed constraint gets its lines::

    ImagingSelection isl-7 (changed: expression)
      1 resource newly failing:
        selections/two-regions.json ImagingSelection/two-regions at ImagingSelection
      0 resources newly passing

Validation needs the io and validation layers, so this lives with the command line
rather than in :mod:`engine.rules`, whose :func:`~engine.rules.regenerate.regenerate`
says which constraints changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.io.batch import Checker, Result
from engine.io.inputs import read
from engine.model import DefinitionError, Definitions
from engine.rules.loader import load_rules
from engine.rules.regenerate import RegenerateResult
from engine.rules.sources import load_definitions
from engine.validation.report import Issue

__all__ = ["ConstraintImpact", "Example", "ImpactError", "ImpactReport", "impact"]

#: Examples shown per direction.
EXAMPLES = 3


class ImpactError(Exception):
    """The impact cannot be measured (no compiled rules to compare with)."""


@dataclass(frozen=True)
class Example:
    """One resource whose verdict on a constraint changed: where it came from, its
    type and id, and the locations where the constraint failed (after the change for a
    resource now failing, before it for one now passing)."""

    source: str
    resource: str
    locations: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.source} {self.resource} at {', '.join(self.locations)}"


@dataclass
class ConstraintImpact:
    """How one changed constraint's verdicts moved over the corpus."""

    type_name: str
    key: str
    change: str
    newly_failing: int = 0
    newly_passing: int = 0
    #: Failing before and after, with another severity (``error`` → ``warning``).
    severity_changed: int = 0
    failing_examples: list[Example] = field(default_factory=list)
    passing_examples: list[Example] = field(default_factory=list)
    severity_examples: list[Example] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.type_name} {self.key} ({self.change})"]
        for count, what, examples in (
            (self.newly_failing, "newly failing", self.failing_examples),
            (self.newly_passing, "newly passing", self.passing_examples),
            (self.severity_changed, "failing with another severity", self.severity_examples),
        ):
            if count == 0 and what == "failing with another severity":
                continue
            plural = "resource" if count == 1 else "resources"
            out.append(f"  {count} {plural} {what}{':' if examples else ''}")
            out += [f"    {example}" for example in examples]
        return out


@dataclass
class ImpactReport:
    """The impact of a definition change on one corpus."""

    resources: int = 0
    #: Inputs that could not be read or parsed (they are reported by ``validate``).
    unreadable: int = 0
    constraints: list[ConstraintImpact] = field(default_factory=list)
    newly_invalid: int = 0
    newly_valid: int = 0

    def constraint(self, key: str, type_name: str | None = None) -> ConstraintImpact:
        """The impact on the constraint ``key`` (of ``type_name``, when several types
        define the key); ``KeyError`` when it did not change."""
        for item in self.constraints:
            if item.key == key and (type_name is None or item.type_name == type_name):
                return item
        raise KeyError(key)

    def text(self) -> str:
        plural = "resource" if self.resources == 1 else "resources"
        lines = [
            f"Impact on {self.resources} {plural} "
            "(before: the compiled rules; after: the markdown):"
        ]
        if self.unreadable:
            lines.append(f"  ({self.unreadable} inputs could not be read and were skipped)")
        if not self.constraints:
            lines.append("No constraint changed.")
        for item in self.constraints:
            lines += item.lines()
        unchanged = self.resources - self.newly_invalid - self.newly_valid
        noun = "resource" if self.newly_invalid == 1 else "resources"
        lines.append(
            f"Validity: {self.newly_invalid} {noun} newly invalid, {self.newly_valid} newly "
            f"valid, {unchanged} unchanged."
        )
        return "\n".join(lines)


def impact(definitions_dir: Path, corpus: Sequence[str], changes: RegenerateResult) -> ImpactReport:
    """Validate ``corpus`` before and after the change ``changes`` describes (a
    :func:`~engine.rules.regenerate.regenerate` result for ``definitions_dir``, computed
    before anything was written) and count the verdicts that move.

    Raises :class:`ImpactError` when ``definitions_dir`` has no compiled rules to compare
    with, and :class:`~engine.model.DefinitionError` when the markdown is invalid.
    """
    try:
        before = load_rules(definitions_dir)
    except DefinitionError as error:
        raise ImpactError(f"cannot read the rules before the change: {error}") from None
    after = load_definitions(definitions_dir)
    tracked = _changed_constraints(changes, before, after)
    report = ImpactReport(constraints=[item for item, _ in tracked])
    old, new = Checker(before), Checker(after)
    for item in read(corpus):
        old_result, new_result = old(item), new(item)
        if _unusable(old_result) or _unusable(new_result):
            report.unreadable += 1
            continue
        report.resources += 1
        old_report, new_report = old_result.report, new_result.report
        if old_report.valid and not new_report.valid:
            report.newly_invalid += 1
        elif new_report.valid and not old_report.valid:
            report.newly_valid += 1
        resource_type = new_report.resource_type or old_report.resource_type
        label = f"{resource_type}/{new_report.resource_id or old_report.resource_id or '?'}"
        for constraint, only_type in tracked:
            if only_type is not None and resource_type != only_type:
                continue
            _compare(
                constraint,
                _failures(old_report.issues, constraint.key),
                _failures(new_report.issues, constraint.key),
                new_result.source,
                label,
            )
    return report


def _unusable(result: Result) -> bool:
    """The input could not be read or parsed: there is no verdict to compare."""
    return result.unreadable or any(
        issue.severity == "fatal"
        and issue.code in ("structure", "processing", "exception")
        and issue.location.startswith("(")
        for issue in result.report.issues
    )


def _changed_constraints(
    changes: RegenerateResult, before: Definitions, after: Definitions
) -> list[tuple[ConstraintImpact, str | None]]:
    """Each changed constraint, and the one resource type to count it on when its key
    is defined by several types (R5 repeats ``cnl-0`` in 32 types: an issue names only
    the key, so a change to one of them is counted on resources of that type alone)."""
    owners = {**before.constraint_owners()}
    for key, types in after.constraint_owners().items():
        owners[key] = tuple(dict.fromkeys((*owners.get(key, ()), *types)))
    tracked: list[tuple[ConstraintImpact, str | None]] = []
    for change in changes.changes:
        items: list[tuple[str, str]] = []
        if change.status == "added":
            items = [(c.key, "added") for c in after[change.type_name].constraints]
        elif change.status == "removed":
            items = [(c.key, "removed") for c in before[change.type_name].constraints]
        else:
            items = [(key, "added") for key in change.constraints_added]
            items += [(key, "removed") for key in change.constraints_removed]
            items += [
                (key, f"changed: {', '.join(fields)}") for key, fields in change.constraints_changed
            ]
        for key, what in items:
            shared = len(owners.get(key, ())) > 1
            tracked.append(
                (
                    ConstraintImpact(change.type_name, key, what),
                    change.type_name if shared else None,
                )
            )
    return tracked


def _failures(issues: Iterable[Issue], key: str) -> dict[str, str]:
    """Where the constraint ``key`` failed (location → severity); evaluation errors
    count as failures, as they do in a report; "not evaluated" notes do not."""
    return {
        issue.location: issue.severity
        for issue in issues
        if issue.key == key and issue.code == "invariant"
    }


def _compare(
    constraint: ConstraintImpact,
    old: dict[str, str],
    new: dict[str, str],
    source: str,
    label: str,
) -> None:
    if new and not old:
        constraint.newly_failing += 1
        _add(constraint.failing_examples, Example(source, label, tuple(new)))
    elif old and not new:
        constraint.newly_passing += 1
        _add(constraint.passing_examples, Example(source, label, tuple(old)))
    elif old and new and set(old.values()) != set(new.values()):
        constraint.severity_changed += 1
        moved = tuple(f"{loc} ({old.get(loc, '-')} → {sev})" for loc, sev in new.items())
        _add(constraint.severity_examples, Example(source, label, moved))


def _add(examples: list[Example], example: Example) -> None:
    if len(examples) < EXAMPLES:
        examples.append(example)
