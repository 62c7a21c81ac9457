"""Validation results: issues with a location, and the report that collects them.

An :class:`Issue` is a value, the way jsonschema's errors are: it carries where
(a FHIRPath location), how bad (severity), what kind (a FHIR ``IssueType`` code)
and, for invariant failures, which rule (the constraint key).

    >>> issue = Issue("error", "invariant", "ImagingSelection",
    ...               "Constraint failed: isl-1: '…'", "isl-1")
    >>> str(issue)
    "Error @ ImagingSelection: Constraint failed: isl-1: '…'"

Read from a file, an issue also says where in the text its element is (the
:mod:`engine.io` layer fills ``line`` and ``column`` in):

    >>> str(Issue("error", "value", "Patient.gender", "The value 'x' is not valid", None, 12, 5))
    "Error @ Patient.gender (line 12, col 5): The value 'x' is not valid"
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from engine.model import Severity

#: Severities that make a resource invalid.
BLOCKING: frozenset[str] = frozenset({"fatal", "error"})

_SEVERITY_RANK = {"fatal": 0, "error": 1, "warning": 2, "information": 3}

#: Extension the HL7 validator uses to carry the id of the rule behind an issue.
MESSAGE_ID_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"
#: Extensions the HL7 validator uses for the line and column an issue is about.
LINE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
COLUMN_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col"


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding about a resource.

    ``code`` is a FHIR IssueType code (``invariant``, ``structure``, ``required``,
    ``value``, ``code-invalid``, ``processing``…); ``key`` is the constraint key for
    invariant issues and ``None`` otherwise. ``line`` and ``column`` (1-based, the
    column counted in characters) place the element in the text the resource was read
    from; ``None`` when the resource was not read from text or positions were not asked
    for.
    """

    severity: Severity
    code: str
    location: str
    message: str
    key: str | None = None
    line: int | None = None
    column: int | None = None
    #: For a failed constraint, when explanations are asked for
    #: (``Validator(explain=True)``, ``--explain``): its sub-expressions evaluated on the
    #: occurrence, down to the part that decided the verdict, one per line.
    explanation: str | None = None

    def __str__(self) -> str:
        where = self.location
        # A location in parentheses (``(line 2, column 9)`` for malformed text) is not an
        # element path: it says where it is already.
        if self.line is not None and not where.startswith("("):
            where += f" (line {self.line}, col {self.column})"
        text = f"{self.severity.capitalize()} @ {where}: {self.message}"
        return f"{text}\n{self.explanation}" if self.explanation else text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: severity, code, location, line, column, key, message, and the
        explanation when there is one."""
        found = {
            "severity": self.severity,
            "code": self.code,
            "location": self.location,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "message": self.message,
        }
        if self.explanation is not None:
            found["explanation"] = self.explanation
        return found

    def to_outcome_issue(self) -> dict[str, Any]:
        """This issue as an ``OperationOutcome.issue`` entry, written as the HL7 validator
        writes one: the FHIRPath in ``expression``; with a position, ``location`` holds the
        FHIRPath and ``Line[12] Col[5]``, and the line and column extensions are set.

            >>> issue = Issue("error", "value", "Patient.gender", "…", None, 12, 5)
            >>> entry = issue.to_outcome_issue()
            >>> entry["expression"], entry["location"]
            (['Patient.gender'], ['Patient.gender', 'Line[12] Col[5]'])
            >>> [(e["url"].rsplit("/", 1)[1], e["valueInteger"]) for e in entry["extension"]]
            [('operationoutcome-issue-line', 12), ('operationoutcome-issue-col', 5)]
        """
        entry: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "details": {"text": self.message},
            "expression": [self.location],
        }
        if self.explanation is not None:
            entry["diagnostics"] = self.explanation
        extensions: list[dict[str, Any]] = []
        if self.line is not None:
            entry["location"] = [self.location, f"Line[{self.line}] Col[{self.column}]"]
            extensions.append({"url": LINE_EXTENSION, "valueInteger": self.line})
            if self.column is not None:
                extensions.append({"url": COLUMN_EXTENSION, "valueInteger": self.column})
        if self.key is not None:
            extensions.append({"url": MESSAGE_ID_EXTENSION, "valueString": self.key})
        if extensions:
            entry["extension"] = extensions
        return entry


@dataclass(frozen=True)
class Report:
    """The result of validating one resource.

    >>> report = Report(issues=(), resource_type="ImagingSelection")
    >>> report.valid
    True

    In a notebook a report shows as a table of its issues (:meth:`_repr_html_`):

    >>> issue = Issue("error", "code-invalid", "Patient.gender", "Unknown code <m>")
    >>> print(Report((issue,), "Patient", "p1")._repr_html_())
    <div><p><b>Patient/p1</b>: invalid, 1 issue</p><table>...<td>Unknown code &lt;m&gt;</td>...
    """

    issues: tuple[Issue, ...] = ()
    resource_type: str | None = None
    resource_id: str | None = None
    #: Constraint keys switched off by local rules, with the reason given for each.
    suppressed: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def of(
        cls,
        issues: Iterable[Issue],
        resource: Any = None,
        suppressed: Iterable[tuple[str, str]] = (),
    ) -> Report:
        """A report for ``resource`` (its type and id are read when it is an object)."""
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        rid = resource.get("id") if isinstance(resource, dict) else None
        return cls(
            issues=tuple(issues),
            resource_type=rtype if isinstance(rtype, str) else None,
            resource_id=rid if isinstance(rid, str) else None,
            suppressed=tuple(suppressed),
        )

    @property
    def valid(self) -> bool:
        """False when any issue is an error or fatal."""
        return not any(i.severity in BLOCKING for i in self.issues)

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity in BLOCKING)

    def sorted_issues(self) -> tuple[Issue, ...]:
        """Issues in document order: by line and column where known, then by location
        with indices compared as numbers (``entry[2]`` before ``entry[10]``), then most
        severe first (stable for equal keys). See :func:`issue_order`."""
        return tuple(sorted(self.issues, key=issue_order))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: resourceType, id, valid, issues, suppressed."""
        return {
            "resourceType": self.resource_type,
            "id": self.resource_id,
            "valid": self.valid,
            "issues": [i.to_dict() for i in self.sorted_issues()],
            "suppressed": [{"key": k, "reason": r} for k, r in self.suppressed],
        }

    def _repr_html_(self) -> str:
        """The report as an HTML table, for notebooks (Jupyter calls this)."""
        name = escape("/".join(p for p in (self.resource_type, self.resource_id) if p))
        verdict = "valid" if self.valid else "invalid"
        rows = "".join(
            f"<tr><td>{escape(i.severity)}</td><td><code>{escape(i.location)}</code></td>"
            f"<td>{escape(i.message)}</td><td><code>{escape(i.key or '')}</code></td></tr>"
            for i in self.sorted_issues()
        )
        table = (
            "<table><tr><th>severity</th><th>location</th><th>message</th><th>key</th></tr>"
            f"{rows}</table>"
            if rows
            else ""
        )
        count = f"{len(self.issues)} issue{'' if len(self.issues) == 1 else 's'}"
        return f"<div><p><b>{name or 'resource'}</b>: {verdict}, {count}</p>{table}</div>"

    def to_operation_outcome(self) -> dict[str, Any]:
        """The report as a FHIR OperationOutcome resource.

        OperationOutcome needs at least one issue: a clean report says so with an
        ``information`` issue, as the HL7 validator does.
        """
        entries = [i.to_outcome_issue() for i in self.sorted_issues()]
        if not entries:
            entries = [
                {
                    "severity": "information",
                    "code": "informational",
                    "details": {"text": "No issues detected during validation"},
                }
            ]
        return {"resourceType": "OperationOutcome", "issue": entries}


_INDEX = re.compile(r"\[(\d+)\]")
_NOWHERE = (float("inf"), float("inf"))


def location_order(location: str) -> tuple[str | int, ...]:
    """A sort key for a FHIRPath location that compares indices as numbers, so that
    locations sort in document order (a parent before its children).

        >>> sorted(["B.entry[10]", "B.entry[2].x", "B", "B.entry[1000]", "B.entry[2]"],
        ...        key=location_order)
        ['B', 'B.entry[2]', 'B.entry[2].x', 'B.entry[10]', 'B.entry[1000]']
    """
    parts: list[str | int] = _INDEX.split(location)
    # re.split puts the captured digits at the odd places: strings and numbers alternate,
    # so two keys never compare a string with a number.
    parts[1::2] = [int(p) for p in parts[1::2]]
    return tuple(parts)


def issue_order(issue: Issue) -> tuple[Any, ...]:
    """The sort key of :meth:`Report.sorted_issues`: position in the text (issues without
    one after those with one), location in document order, then severity; the sort is
    stable, so issues equal in all three keep the order the validator found them in.

    Document order is what the HL7 validator uses too; severity only orders issues on
    the same element.
    """
    position = (issue.line, issue.column or 0) if issue.line is not None else _NOWHERE
    return (position, location_order(issue.location), _SEVERITY_RANK[issue.severity])
