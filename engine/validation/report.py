"""Validation results: issues with a location, and the report that collects them.

An :class:`Issue` is a value, the way jsonschema's errors are: it carries where
(a FHIRPath location), how bad (severity), what kind (a FHIR ``IssueType`` code)
and, for invariant failures, which rule (the constraint key).

    >>> issue = Issue("error", "invariant", "ImagingSelection",
    ...               "Constraint failed: isl-1: '…'", "isl-1")
    >>> str(issue)
    "Error @ ImagingSelection: Constraint failed: isl-1: '…'"
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding about a resource.

    ``code`` is a FHIR IssueType code (``invariant``, ``structure``, ``required``,
    ``value``, ``code-invalid``, ``processing``…); ``key`` is the constraint key for
    invariant issues and ``None`` otherwise.
    """

    severity: Severity
    code: str
    location: str
    message: str
    key: str | None = None

    def __str__(self) -> str:
        return f"{self.severity.capitalize()} @ {self.location}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: severity, code, location, key, message."""
        return {
            "severity": self.severity,
            "code": self.code,
            "location": self.location,
            "key": self.key,
            "message": self.message,
        }

    def to_outcome_issue(self) -> dict[str, Any]:
        """This issue as an ``OperationOutcome.issue`` entry."""
        entry: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "details": {"text": self.message},
            "expression": [self.location],
        }
        if self.key is not None:
            entry["extension"] = [{"url": MESSAGE_ID_EXTENSION, "valueString": self.key}]
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
        """Issues most severe first, then by location (stable for equal keys)."""
        return tuple(sorted(self.issues, key=lambda i: (_SEVERITY_RANK[i.severity], i.location)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: resourceType, id, valid, issues, suppressed."""
        return {
            "resourceType": self.resource_type,
            "id": self.resource_id,
            "valid": self.valid,
            "issues": [i.to_dict() for i in self.issues],
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
        entries = [i.to_outcome_issue() for i in self.issues]
        if not entries:
            entries = [
                {
                    "severity": "information",
                    "code": "informational",
                    "details": {"text": "No issues detected during validation"},
                }
            ]
        return {"resourceType": "OperationOutcome", "issue": entries}
