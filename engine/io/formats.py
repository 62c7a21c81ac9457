"""The command line's output formats: ``text`` for people, ``json`` and ``outcome`` for
machines, ``html`` for a page to review a run. Each but ``html`` writes results as they
come, so output streams with the input; ``html`` (:mod:`engine.io.html_report`) counts as
results come and writes one page at the end.

``text``: the issues of each resource that has any, in document order, under a ``--``
line naming the resource, then a ``==`` summary line per file and one for the whole run::

    -- data/a.json ImagingSelection/example
    Error @ ImagingSelection.instance[0] (line 14, col 5): Constraint failed: isl-4: '…'
    == data/a.json: 1 resource, 0 valid, 1 invalid; 1 error, 0 warnings, 0 notes
    == Total: 1 file, 1 resource, 0 valid, 1 invalid; 1 error, 0 warnings, 0 notes

``json``: one object per resource and line: ``source``, ``resourceType``, ``id``,
``valid``, ``issues`` (``severity``, ``code``, ``location``, ``line``, ``column``,
``key``, ``message``) and ``suppressed``.

``outcome``: one FHIR OperationOutcome per resource and line; each issue carries the
source in the standard ``operationoutcome-file`` extension.

:class:`Options` controls how much is written (``--min-severity``, ``--quiet``,
``--summary``). Summaries always count every issue. The machine formats keep standard
output to exactly one JSON line per resource: what is a summary there (the ``== Total``
line, the ``--summary`` table) goes to the ``summary_stream`` (standard error) as text.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TextIO

from engine.io.batch import Result
from engine.io.html_report import HtmlOutput
from engine.io.text import escape_surrogates
from engine.model import Definitions, Severity
from engine.validation.report import Issue, Report

FORMATS = ("text", "json", "outcome", "html")
#: The choices of ``--min-severity``, least severe last; ``fatal`` is always shown.
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "information")
FILE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file"

_RANK = {"fatal": 0, "error": 1, "warning": 2, "information": 3}


@dataclass(frozen=True, slots=True)
class Options:
    """How much an output writes.

    ``min_severity``: issues less severe are not listed (they are still counted, and the
    verdicts do not change). ``quiet``: no per-resource output, only the summary.
    ``summary``: a table of issue counts by rule (constraint key, or issue code when
    there is none) and resource type at the end of the run.
    """

    min_severity: Severity = "information"
    quiet: bool = False
    summary: bool = False

    def shown(self, report: Report) -> Report:
        """``report`` with only the issues at ``min_severity`` or above."""
        if self.min_severity == "information":
            return report
        limit = _RANK[self.min_severity]
        return replace(report, issues=tuple(i for i in report.issues if _RANK[i.severity] <= limit))


class Output(Protocol):
    """Where results go: ``write`` for each result in order, ``close`` once at the end."""

    def write(self, result: Result) -> None: ...

    def close(self) -> None: ...


def make_output(
    name: str,
    stream: TextIO,
    options: Options | None = None,
    summary_stream: TextIO | None = None,
    definitions: Definitions | None = None,
) -> Output:
    """The output for a format name in :data:`FORMATS`, writing to ``stream``.

    The machine formats write their summaries (only with ``quiet`` or ``summary``) to
    ``summary_stream``, standard error for the command line; ``None`` means ``stream``
    for text and no summary for the others. ``definitions`` give the ``html`` page each
    constraint's text and expression.

    Whatever it is given, it writes valid UTF-8 (lone surrogates escaped as ``\\ud800``),
    and a result it cannot write is replaced by one ``fatal`` issue saying so, so that
    the results after it are still written.
    """
    options = options or Options()
    output: Output
    if name == "html":
        output = HtmlOutput(stream, definitions)
    elif name == "json":
        output = JsonOutput(stream, options, summary_stream)
    elif name == "outcome":
        output = OutcomeOutput(stream, options, summary_stream)
    else:
        output = TextOutput(stream, options)
    return _Guarded(output)


class _Guarded:
    """Writes through another output; a result that raises is reported instead."""

    def __init__(self, output: Output) -> None:
        self._output = output

    def write(self, result: Result) -> None:
        try:
            self._output.write(result)
        except OSError:
            raise  # the stream itself failed (a closed pipe): nothing more can be written
        except Exception as error:  # noqa: BLE001 - one bad report must not end the run
            issue = Issue(
                "fatal",
                "exception",
                "(resource)",
                f"the report on this resource could not be written: {error!r}",
            )
            report = Report(issues=(issue,))
            self._output.write(dataclasses.replace(result, report=report))

    def close(self) -> None:
        self._output.close()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass
class _Tally:
    resources: int = 0
    invalid: int = 0
    severities: Counter[str] = field(default_factory=Counter)

    def add(self, result: Result) -> None:
        self.resources += 1
        self.invalid += not result.report.valid
        self.severities.update(i.severity for i in result.report.issues)

    def merge(self, other: _Tally) -> None:
        self.resources += other.resources
        self.invalid += other.invalid
        self.severities.update(other.severities)

    def __str__(self) -> str:
        errors = self.severities["fatal"] + self.severities["error"]
        return (
            f"{_plural(self.resources, 'resource')}, {self.resources - self.invalid} valid,"
            f" {self.invalid} invalid; {_plural(errors, 'error')},"
            f" {_plural(self.severities['warning'], 'warning')},"
            f" {_plural(self.severities['information'], 'note')}"
        )


class _RuleTable:
    """Issue counts by severity, rule (constraint key, or issue code) and resource type.

    The resource type is that of the innermost resource the issue is in: a Bundle's
    entries count under their own types.
    """

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def add(self, result: Result) -> None:
        issues = result.report.issues
        types = result.resource_types
        if len(types) != len(issues):
            types = (result.report.resource_type,) * len(issues)
        for issue, rtype in zip(issues, types, strict=True):
            self.counts[(issue.severity, issue.key or issue.code, rtype or "-")] += 1

    def lines(self) -> list[str]:
        if not self.counts:
            return ["== Issues by rule and resource type: none"]
        rows = sorted(self.counts.items(), key=lambda r: (_RANK[r[0][0]], -r[1], r[0]))
        header = ("count", "severity", "rule", "resource type")
        table = [header] + [(str(n), *key) for key, n in rows]
        widths = [max(len(row[c]) for row in table) for c in range(3)]
        out = ["== Issues by rule and resource type:"]
        for count, severity, rule, rtype in table:
            out.append(
                f"  {count:>{widths[0]}}  {severity:<{widths[1]}}  {rule:<{widths[2]}}  {rtype}"
            )
        return out


class TextOutput:
    """One line per issue, a summary line per file and one for the whole run."""

    def __init__(self, stream: TextIO, options: Options | None = None) -> None:
        self.stream = stream
        self.options = options or Options()
        self.file: str | None = None
        self.current = _Tally()
        self.total = _Tally()
        self.table = _RuleTable()
        self.files = 0

    def write(self, result: Result) -> None:
        if result.file != self.file:
            self._end_file()
            self.file = result.file
            self.files += 1
        self.current.add(result)
        if self.options.summary:
            self.table.add(result)
        report = self.options.shown(result.report)
        if self.options.quiet or not report.issues:
            return
        name = "/".join(p for p in (report.resource_type, report.resource_id) if p)
        lines = [f"-- {result.source}{' ' + name if name else ''}"]
        lines.extend(str(issue) for issue in report.sorted_issues())
        self.stream.write(escape_surrogates("\n".join(lines) + "\n"))

    def _end_file(self) -> None:
        if self.file is not None:
            self.stream.write(escape_surrogates(f"== {self.file}: {self.current}\n"))
            self.total.merge(self.current)
            self.current = _Tally()

    def close(self) -> None:
        self._end_file()
        self.stream.write(f"== Total: {_plural(self.files, 'file')}, {self.total}\n")
        if self.options.summary:
            self.stream.writelines(line + "\n" for line in self.table.lines())
        self.stream.flush()


class _MachineOutput:
    """One JSON line per resource on ``stream``, the summaries as text elsewhere."""

    def __init__(
        self, stream: TextIO, options: Options | None = None, summary_stream: TextIO | None = None
    ) -> None:
        self.stream = stream
        self.options = options or Options()
        self.summary_stream = summary_stream
        self.files: set[str] = set()
        self.total = _Tally()
        self.table = _RuleTable()

    def write(self, result: Result) -> None:
        self.files.add(result.file)
        self.total.add(result)
        if self.options.summary:
            self.table.add(result)
        if not self.options.quiet:
            text = json.dumps(self.line(result), ensure_ascii=False)
            self.stream.write(escape_surrogates(text) + "\n")

    def line(self, result: Result) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()
        out = self.summary_stream
        if out is None or not (self.options.quiet or self.options.summary):
            return
        out.write(f"== Total: {_plural(len(self.files), 'file')}, {self.total}\n")
        if self.options.summary:
            out.writelines(line + "\n" for line in self.table.lines())
        out.flush()


class JsonOutput(_MachineOutput):
    """One JSON object per resource and line."""

    def line(self, result: Result) -> dict[str, Any]:
        return {"source": result.source, **self.options.shown(result.report).to_dict()}


class OutcomeOutput(_MachineOutput):
    """One OperationOutcome per resource and line, each issue naming its source."""

    def line(self, result: Result) -> dict[str, Any]:
        shown = self.options.shown(result.report)
        outcome = shown.to_operation_outcome()
        if not shown.issues and result.report.issues:
            # Issues were left out, so "no issues detected" would not be true.
            hidden = len(result.report.issues)
            outcome["issue"][0]["details"]["text"] = (
                f"No issues of severity '{self.options.min_severity}' or above"
                f" ({_plural(hidden, 'less severe issue')} not listed)"
            )
        source = {"url": FILE_EXTENSION, "valueString": result.source}
        for issue in outcome.get("issue", []):
            issue["extension"] = [source, *issue.get("extension", [])]
        return outcome
