"""The command line's output formats: ``text`` for people, ``json`` and ``outcome`` for
machines. Each writes results as they come, so output streams with the input.

``text``: the issues of each resource that has any, under a ``--`` line naming the
resource, then a ``==`` summary line per file and one for the whole run::

    -- data/a.json ImagingSelection/example
    Error @ ImagingSelection.instance[0]: Constraint failed: isl-4: '…'
    == data/a.json: 1 resource, 0 valid, 1 invalid; 1 error, 0 warnings, 0 notes
    == Total: 1 file, 1 resource, 0 valid, 1 invalid; 1 error, 0 warnings, 0 notes

``json``: one object per resource and line: ``source``, ``resourceType``, ``id``,
``valid``, ``issues`` (``severity``, ``code``, ``location``, ``key``, ``message``) and
``suppressed``.

``outcome``: one FHIR OperationOutcome per resource and line; each issue carries the
source in the standard ``operationoutcome-file`` extension.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from engine.io.batch import Result
from engine.validation.report import Issue, Report

FORMATS = ("text", "json", "outcome")

# JSON text may hold lone surrogates ("\ud800"), which no UTF-8 stream can carry: they
# are written as the JSON escape they came from, in every format.
_SURROGATE = re.compile("[\ud800-\udfff]")
FILE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file"


class Output(Protocol):
    """Where results go: ``write`` for each result in order, ``close`` once at the end."""

    def write(self, result: Result) -> None: ...

    def close(self) -> None: ...


def make_output(name: str, stream: TextIO) -> Output:
    """The output for a format name in :data:`FORMATS`.

    Whatever it is given, it writes valid UTF-8 (lone surrogates escaped as ``\\ud800``),
    and a result it cannot write is replaced by one ``fatal`` issue saying so, so that
    the results after it are still written.
    """
    output: Output
    if name == "json":
        output = JsonOutput(stream)
    elif name == "outcome":
        output = OutcomeOutput(stream)
    else:
        output = TextOutput(stream)
    return _Guarded(output)


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its JSON escape.

    >>> escape_surrogates("a\\ud800b")
    'a\\\\ud800b'
    """
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


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


class TextOutput:
    """One line per issue, a summary line per file and one for the whole run."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.file: str | None = None
        self.current = _Tally()
        self.total = _Tally()
        self.files = 0

    def write(self, result: Result) -> None:
        if result.file != self.file:
            self._end_file()
            self.file = result.file
            self.files += 1
        self.current.add(result)
        report = result.report
        if not report.issues:
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
        self.stream.flush()


class JsonOutput:
    """One JSON object per resource and line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, result: Result) -> None:
        line: dict[str, Any] = {"source": result.source, **result.report.to_dict()}
        self.stream.write(escape_surrogates(json.dumps(line, ensure_ascii=False)) + "\n")

    def close(self) -> None:
        self.stream.flush()


class OutcomeOutput:
    """One OperationOutcome per resource and line, each issue naming its source."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, result: Result) -> None:
        outcome = result.report.to_operation_outcome()
        source = {"url": FILE_EXTENSION, "valueString": result.source}
        for issue in outcome.get("issue", []):
            issue["extension"] = [source, *issue.get("extension", [])]
        self.stream.write(escape_surrogates(json.dumps(outcome, ensure_ascii=False)) + "\n")

    def close(self) -> None:
        self.stream.flush()
