"""The ``html`` output format: one self-contained page for a whole run.

The page has the run's totals, a table and a bar chart of the issues by resource type, by
constraint key (with each constraint's human text and FHIRPath expression, read from the
definitions) and by issue code, each split by severity, and then the issues themselves,
grouped by file and resource. It needs no network and no script: the styles are inline
and the bars are plain HTML.

A run can have hundreds of thousands of issues: the totals and tables count every one,
while the listing keeps the first ``max_listed`` errors (and fatal issues) and the first
``max_listed`` warnings and notes, and says how many it left out. Errors have their own
share so that a flood of warnings early in a run cannot hide them. Memory stays bounded
by the listing's cap and the number of distinct types and keys.

    >>> import io
    >>> from engine.io.batch import Result
    >>> from engine.validation.report import Issue, Report
    >>> issue = Issue("error", "invariant", "ImagingSelection", "Constraint failed: isl-1: '…'",
    ...               "isl-1")
    >>> page = io.StringIO()
    >>> output = HtmlOutput(page, defs)
    >>> output.write(Result("a.json", "a.json", Report((issue,), "ImagingSelection", "x")))
    >>> output.close()
    >>> "seriesUid.exists() or imageRegion3D.exists()" in page.getvalue()   # isl-1's expression
    True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import TextIO

from engine.io.batch import Result
from engine.io.text import escape_surrogates
from engine.model import Constraint, Definitions
from engine.validation.report import BLOCKING, Issue

#: Errors (and fatal issues) listed one by one, at most, and as many warnings and notes;
#: the totals and tables always count every issue.
MAX_LISTED = 5_000

SEVERITIES = ("fatal", "error", "warning", "information")

_NO_TYPE = "(not parsed)"

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 2em 3em; color: #1d2329; }
h1 { font-size: 1.5em; margin: 1em 0 .2em; } h2 { margin-top: 1.8em; font-size: 1.2em; }
h3 { font-size: 1em; margin: 1.4em 0 .3em; padding: .3em .5em; background: #eef1f4; }
h4 { font-size: .95em; margin: .8em 0 .2em; font-weight: 600; }
.sub { color: #56616c; margin: 0 0 1em; }
.totals { display: flex; flex-wrap: wrap; gap: .6em; }
.total { border: 1px solid #d5dbe1; border-radius: 4px; padding: .4em .8em; min-width: 6em; }
.total b { display: block; font-size: 1.4em; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { text-align: left; padding: .2em .6em; border-bottom: 1px solid #e3e7eb;
  vertical-align: top; }
th { background: #f6f8fa; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.text { max-width: 34em; } code { font-size: .9em; word-break: break-word; }
.bar { display: inline-flex; width: 16em; height: .9em; background: #f0f2f4; }
.bar span { display: block; height: 100%; min-width: 2px; }
nav a { margin-right: 1em; }
.fatal { background: #6b0f1a; color: #fff; } .error { background: #d1242f; color: #fff; }
.warning { background: #d4a72c; } .information { background: #5b8fd6; color: #fff; }
.sev { padding: 0 .4em; border-radius: 3px; font-size: .85em; white-space: nowrap; }
.legend span { margin-right: .8em; }
.valid { color: #1a7f37; } .invalid { color: #d1242f; }
.note { background: #fff8c5; border: 1px solid #d4a72c; padding: .4em .8em; }
.expr { color: #56616c; }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


@dataclass
class _Row:
    """Counts for one line of a table: resources seen and issues per severity."""

    resources: int = 0
    invalid: int = 0
    severities: Counter[str] = field(default_factory=Counter)

    @property
    def issues(self) -> int:
        return sum(self.severities.values())


@dataclass(frozen=True, slots=True)
class _Listed:
    """One resource in the listing, with the issues kept for it."""

    file: str
    source: str
    name: str
    valid: bool
    issues: tuple[Issue, ...]
    left_out: int


class HtmlOutput:
    """Collects a run's results and writes the page on :meth:`close`.

    ``definitions`` supply each constraint's human text and expression (without them the
    page shows the keys and messages only); ``max_listed`` caps the errors listed one by
    one, and the warnings and notes.
    """

    def __init__(
        self,
        stream: TextIO,
        definitions: Definitions | None = None,
        *,
        max_listed: int = MAX_LISTED,
        title: str = "fhir-invariants report",
    ) -> None:
        self.stream = stream
        self.definitions = definitions
        self.max_listed = max_listed
        self.title = title
        self.total = _Row()
        self.files = 0
        self.unreadable = 0
        self.by_type: dict[str, _Row] = {}
        #: (constraint key, which of the constraints with that key, severity) → issues
        self.by_key: Counter[tuple[str, int, str]] = Counter()
        self.by_code: Counter[tuple[str, str]] = Counter()
        self.suppressed: dict[str, str] = {}
        self.listed: list[_Listed] = []
        self.listed_blocking = 0
        self.listed_other = 0
        self.left_out_blocking = 0
        self.left_out_other = 0
        self.left_out_resources = 0
        self._file: str | None = None
        self._candidates: dict[str, tuple[Constraint, ...]] = {}

    def write(self, result: Result) -> None:
        report = result.report
        if result.file != self._file:
            self._file = result.file
            self.files += 1
        self.unreadable += result.unreadable
        row = self.by_type.setdefault(report.resource_type or _NO_TYPE, _Row())
        for counts in (self.total, row):
            counts.resources += 1
            counts.invalid += not report.valid
            counts.severities.update(i.severity for i in report.issues)
        for issue in report.issues:
            self.by_code[issue.code, issue.severity] += 1
            if issue.key is not None:
                self._remember_constraint(issue.key)
                which = self._which(issue.key, issue.message)
                self.by_key[issue.key, which, issue.severity] += 1
        self.suppressed.update(report.suppressed)
        if report.issues:
            self._list(result)

    def _list(self, result: Result) -> None:
        report = result.report
        issues = report.sorted_issues()
        blocking = [i for i in issues if i.severity in BLOCKING]
        other = [i for i in issues if i.severity not in BLOCKING]
        kept_blocking = blocking[: max(self.max_listed - self.listed_blocking, 0)]
        kept_other = other[: max(self.max_listed - self.listed_other, 0)]
        self.listed_blocking += len(kept_blocking)
        self.listed_other += len(kept_other)
        self.left_out_blocking += len(blocking) - len(kept_blocking)
        self.left_out_other += len(other) - len(kept_other)
        kept = (*kept_blocking, *kept_other)
        if not kept:
            self.left_out_resources += 1
            return
        name = "/".join(p for p in (report.resource_type, report.resource_id) if p)
        left_out = len(issues) - len(kept)
        self.listed.append(_Listed(result.file, result.source, name, report.valid, kept, left_out))

    @property
    def listed_issues(self) -> int:
        """The issues listed one by one."""
        return self.listed_blocking + self.listed_other

    @property
    def left_out_issues(self) -> int:
        """The issues counted but not listed one by one."""
        return self.left_out_blocking + self.left_out_other

    def _remember_constraint(self, key: str) -> None:
        if key in self._candidates or self.definitions is None:
            return
        definitions = self.definitions
        self._candidates[key] = tuple(
            c
            for owner in definitions.constraint_owners().get(key, ())
            if owner in definitions
            for c in definitions[owner].constraints
            if c.key == key
        )

    def _which(self, key: str, message: str) -> int:
        """Which of the constraints keyed ``key`` an issue is about. FHIR scopes keys by
        type (R5's ``inv-1`` is three different constraints): the one whose human text the
        message carries, else the first."""
        for index, constraint in enumerate(self._candidates.get(key, ())):
            if message.startswith(constraint.message) or f"'{constraint.human}'" in message:
                return index
        return 0

    def constraint(self, key: str, message: str = "") -> Constraint | None:
        """The constraint behind an issue with ``key`` and ``message``, as far as the
        definitions tell (None for a key they do not have)."""
        candidates = self._candidates.get(key, ())
        return candidates[self._which(key, message)] if candidates else None

    def close(self) -> None:
        for chunk in self._page():
            self.stream.write(escape_surrogates(chunk))
        self.stream.flush()

    def _page(self) -> Iterator[str]:
        yield (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(self.title)}</title><style>{_STYLE}</style></head><body>\n"
            f"<h1>{_e(self.title)}</h1>\n<nav><a href='#by-type'>by resource type</a>"
            "<a href='#by-constraint'>by constraint</a><a href='#by-code'>by code</a>"
            "<a href='#issues'>issues by file and resource</a></nav>\n"
        )
        yield from self._totals()
        yield from self._type_table()
        yield from self._key_table()
        yield from self._code_table()
        yield from self._suppressed_table()
        yield from self._listing()
        yield "</body></html>\n"

    def _totals(self) -> Iterator[str]:
        total = self.total
        errors = total.severities["fatal"] + total.severities["error"]
        yield (
            f"<p class='sub'>{_plural(self.files, 'file')}, "
            f"{_plural(total.resources, 'resource')}, {total.resources - total.invalid:,} valid, "
            f"{total.invalid:,} invalid; {_plural(errors, 'error')}, "
            f"{_plural(total.severities['warning'], 'warning')}, "
            f"{_plural(total.severities['information'], 'note')}</p>\n<div class='totals'>"
        )
        cards = [
            ("files", self.files),
            ("resources", total.resources),
            ("valid", total.resources - total.invalid),
            ("invalid", total.invalid),
            *((severity, total.severities[severity]) for severity in SEVERITIES),
        ]
        if self.unreadable:
            cards.append(("unreadable inputs", self.unreadable))
        for label, count in cards:
            yield f"<div class='total'><b>{count:,}</b>{_e(label)}</div>"
        yield "</div>\n"
        yield (
            "<p class='legend'>"
            + "".join(f"<span class='sev {s}'>{s}</span>" for s in SEVERITIES)
            + "</p>\n"
        )

    def _type_table(self) -> Iterator[str]:
        yield "<h2 id='by-type'>Issues by resource type</h2>\n"
        rows = sorted(self.by_type.items(), key=lambda item: (-item[1].issues, item[0]))
        widest = max((row.issues for _, row in rows), default=0)
        yield (
            "<table><tr><th>resource type</th><th>resources</th><th>invalid</th>"
            + "".join(f"<th>{s}</th>" for s in SEVERITIES)
            + "<th>issues</th></tr>\n"
        )
        for name, row in rows:
            yield (
                f"<tr><td>{_e(name)}</td><td class='n'>{row.resources:,}</td>"
                f"<td class='n'>{row.invalid:,}</td>"
                + "".join(f"<td class='n'>{row.severities[s]:,}</td>" for s in SEVERITIES)
                + f"<td>{_bar(row.severities, widest)}</td></tr>\n"
            )
        yield "</table>\n"

    def _key_table(self) -> Iterator[str]:
        yield "<h2 id='by-constraint'>Issues by constraint</h2>\n"
        if not self.by_key:
            yield "<p>No constraint was reported.</p>\n"
            return
        per_key: dict[tuple[str, int], Counter[str]] = {}
        for (key, which, severity), count in self.by_key.items():
            per_key.setdefault((key, which), Counter())[severity] += count
        rows = sorted(per_key.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        widest = max(sum(c.values()) for _, c in rows)
        yield (
            "<table><tr><th>key</th>"
            + "".join(f"<th>{s}</th>" for s in SEVERITIES)
            + "<th>issues</th><th>constraint</th></tr>\n"
        )
        for (key, which), severities in rows:
            candidates = self._candidates.get(key, ())
            constraint = candidates[which] if candidates else None
            text = (
                f"{_e(constraint.human)}<br><code class='expr'>{_e(constraint.expression)}</code>"
                f"<br><small>on {_e(constraint.context)}</small>"
                if constraint is not None
                else "<small>(not in the definitions)</small>"
            )
            yield (
                f"<tr id='{_anchor(key, which)}'><td><code>{_e(key)}</code></td>"
                + "".join(f"<td class='n'>{severities[s]:,}</td>" for s in SEVERITIES)
                + f"<td>{_bar(severities, widest)}</td><td class='text'>{text}</td></tr>\n"
            )
        yield "</table>\n"

    def _code_table(self) -> Iterator[str]:
        yield "<h2 id='by-code'>Issues by code</h2>\n"
        if not self.by_code:
            yield "<p>No issue was reported.</p>\n"
            return
        per_code: dict[str, Counter[str]] = {}
        for (code, severity), count in self.by_code.items():
            per_code.setdefault(code, Counter())[severity] += count
        rows = sorted(per_code.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        widest = max(sum(c.values()) for _, c in rows)
        yield (
            "<table><tr><th>code</th>"
            + "".join(f"<th>{s}</th>" for s in SEVERITIES)
            + "<th>issues</th></tr>\n"
        )
        for code, severities in rows:
            yield (
                f"<tr><td>{_e(code)}</td>"
                + "".join(f"<td class='n'>{severities[s]:,}</td>" for s in SEVERITIES)
                + f"<td>{_bar(severities, widest)}</td></tr>\n"
            )
        yield "</table>\n"

    def _suppressed_table(self) -> Iterator[str]:
        if not self.suppressed:
            return
        yield "<h2 id='suppressed'>Switched off by local rules</h2>\n<table>"
        yield "<tr><th>key</th><th>reason</th></tr>\n"
        for key, reason in sorted(self.suppressed.items()):
            yield f"<tr><td><code>{_e(key)}</code></td><td>{_e(reason)}</td></tr>\n"
        yield "</table>\n"

    def _listing(self) -> Iterator[str]:
        yield "<h2 id='issues'>Issues by file and resource</h2>\n"
        if self.left_out_issues:
            errors = "the first" if self.left_out_blocking else "all"
            others = "the first" if self.left_out_other else "all"
            yield (
                f"<p class='note'>Listed below: {errors} {self.listed_blocking:,} errors "
                f"(fatal included) and {others} {self.listed_other:,} warnings and notes. "
                f"Left out: {self.left_out_blocking:,} more errors and "
                f"{self.left_out_other:,} more warnings and notes, from "
                f"{_plural(self.left_out_resources, 'resource')} not listed at all and from "
                "some of those listed. The totals and tables above count every issue.</p>\n"
            )
        if not self.listed:
            yield "<p>No resource has any issue.</p>\n"
            return
        current: str | None = None
        for listed in self.listed:
            if listed.file != current:
                current = listed.file
                yield f"<h3>{_e(listed.file)}</h3>\n"
            verdict = "valid" if listed.valid else "invalid"
            source = "" if listed.source == listed.file else f" {_e(listed.source)}"
            yield (
                f"<h4>{_e(listed.name or '(resource)')}{source} "
                f"<span class='{verdict}'>{verdict}</span></h4>\n<table>"
                "<tr><th>severity</th><th>location</th><th>message</th><th>key</th></tr>\n"
            )
            for issue in listed.issues:
                yield self._issue_row(issue)
            yield "</table>\n"
            if listed.left_out:
                more = _plural(listed.left_out, "more issue")
                yield f"<p><small>{more} of this resource left out.</small></p>\n"

    def _issue_row(self, issue: Issue) -> str:
        key = expression = ""
        if issue.key is not None:
            which = self._which(issue.key, issue.message)
            key = f"<a href='#{_anchor(issue.key, which)}'><code>{_e(issue.key)}</code></a>"
            constraint = self.constraint(issue.key, issue.message)
            if constraint is not None:
                expression = f"<br><code class='expr'>{_e(constraint.expression)}</code>"
        return (
            f"<tr><td><span class='sev {_e(issue.severity)}'>{_e(issue.severity)}</span></td>"
            f"<td><code>{_e(issue.location)}</code></td>"
            f"<td class='text'>{_e(issue.message)}{expression}</td><td>{key}</td></tr>\n"
        )


def _anchor(key: str, which: int) -> str:
    return f"c-{_e(key)}" + (f"-{which}" if which else "")


def _bar(severities: Mapping[str, int], widest: int) -> str:
    """A bar as wide as the row's issue count, split by severity, over the widest row."""
    total = sum(severities.values())
    if widest <= 0 or total <= 0:
        return f"<span class='bar'></span> {total:,}"
    parts: Iterable[str] = (
        f"<span class='{s}' style='width:{100 * severities[s] / widest:.2f}%' "
        f"title='{severities[s]:,} {s}'></span>"
        for s in SEVERITIES
        if severities[s]
    )
    return f"<span class='bar'>{''.join(parts)}</span> {total:,}"
