"""``--format html``: the page of a real run, opened in headless Chromium.

The page must load with no script error and no request beyond its own file (it is
self-contained), and what a person reads there must agree with the same run in the
``text`` format: the totals, every resource with issues, every issue message; each
constraint shows its human text and expression from the definitions. The Chromium driver
(``tests/chromium.py``) is itself shown to catch a script error and an outside request.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from html import escape
from pathlib import Path

import pytest

import engine
from engine.cli import main
from engine.io.batch import Checker, Result
from engine.io.html_report import HtmlOutput
from engine.io.inputs import read
from tests.chromium import open_page

ROOT = Path(__file__).resolve().parent.parent
SELECTIONS = ROOT / "examples" / "imagingselection"
R5_EXAMPLES = ROOT / "tests" / "fixtures" / "r5-examples"


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    status = main([str(a) for a in args])
    return status, capsys.readouterr().out


def _plain(text: str) -> str:
    """Page text with thousands separators dropped and white space collapsed."""
    return " ".join(re.sub(r"(?<=\d),(?=\d{3})", "", text).split())


def _html_and_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *inputs: Path
) -> tuple[Path, str]:
    status_html, html = _run(capsys, "validate", "--format", "html", *inputs)
    status_text, text = _run(capsys, "validate", *inputs)
    assert status_html == status_text
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    return page, text


def _check_against_text_run(page_text: str, text: str) -> None:
    plain = _plain(page_text)
    total = text.splitlines()[-1].removeprefix("== Total: ")
    assert total in plain
    for line in text.splitlines():
        if line.startswith("-- "):
            assert line.split(" ", 2)[-1] in plain  # the resource's type/id
        elif not line.startswith("=="):
            assert " ".join(line.split(": ", 1)[1].split()) in plain  # the issue's message


def test_imagingselection_examples_page_in_chromium(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page_file, text = _html_and_text(capsys, tmp_path, SELECTIONS)
    page = open_page(page_file, tmp_path / "imagingselection.png")
    assert page.errors == []
    assert page.requests == []
    assert page.title == "fhir-invariants report"
    _check_against_text_run(page.text, text)
    dom6 = engine.bundled_definitions()["DomainResource"]
    (narrative,) = [c for c in dom6.constraints if c.key == "dom-6"]
    plain = _plain(page.text)
    assert narrative.human in plain and narrative.expression in plain
    warnings = text.count("Constraint failed: dom-6")
    assert f"dom-6 0 0 {warnings} 0 {warnings}" in plain  # its row: per severity, then all
    for header in ("Issues by resource type", "Issues by constraint", "Issues by code"):
        assert header in page.text
    assert (tmp_path / "imagingselection.png").stat().st_size > 10_000


def test_r5_examples_page_in_chromium(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Many resource types, constraint failures, not-evaluated notes: one row per type."""
    page_file, text = _html_and_text(capsys, tmp_path, R5_EXAMPLES)
    page = open_page(page_file)
    assert page.errors == [] and page.requests == []
    _check_against_text_run(page.text, text)
    types = Counter(json.loads(p.read_bytes())["resourceType"] for p in R5_EXAMPLES.glob("*.json"))
    plain = _plain(page.text)
    for name, count in types.items():
        assert re.search(rf"\b{name} {count} \d+ \d+ \d+ \d+ \d+ \d+\b", plain), name


def test_chromium_check_catches_script_errors_and_outside_requests(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><title>t</title><p>text</p>"
        "<img src='http://127.0.0.1:9/pixel.png'>"
        "<script>console.error('boom'); notAFunction();</script>"
    )
    page = open_page(broken)
    assert page.text == "text"
    assert any("notAFunction is not defined" in e for e in page.errors)
    assert any("boom" in e for e in page.errors)
    assert page.requests == ["http://127.0.0.1:9/pixel.png"]


def test_everything_in_the_page_is_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hostile = {
        "resourceType": "ImagingSelection",
        "id": "<script>console.error('id')</script>",
        "status": "<img src=x onerror=console.error('status')>",
        "code": {"text": "x"},
        "<b onmouseover=alert(1)>": True,
    }
    source = tmp_path / "<hostile>.json"
    source.write_text(json.dumps(hostile))
    page_file, text = _html_and_text(capsys, tmp_path, source)
    page = open_page(page_file)
    assert page.errors == [] and page.requests == []
    assert "<script>console.error('id')</script>" in page.text
    assert "Unrecognized property '<b onmouseover=alert(1)>'" in page.text
    assert "<hostile>.json" in page.text
    _check_against_text_run(page.text, text)


@pytest.fixture(scope="module")
def selection_results() -> list[Result]:
    checker = Checker(engine.bundled_definitions())
    return [checker(item) for item in read([str(SELECTIONS)])]


def _page(results: list[Result], max_listed: int) -> tuple[HtmlOutput, str]:
    stream = io.StringIO()
    output = HtmlOutput(stream, engine.bundled_definitions(), max_listed=max_listed)
    for result in results:
        output.write(result)
    output.close()
    return output, stream.getvalue()


def test_listing_is_capped_while_totals_count_everything(selection_results: list[Result]) -> None:
    repeats = 300
    output, html = _page(selection_results * repeats, max_listed=100)
    errors = repeats * sum(len(r.report.errors) for r in selection_results)
    others = repeats * sum(len(r.report.issues) for r in selection_results) - errors
    assert errors > 100 and others > 100
    assert (output.listed_blocking, output.listed_other) == (100, 100)
    assert html.count("<tr><td><span class='sev") == 200  # one row per listed issue
    assert html.count("<span class='sev error'>error</span></td>") == 100
    assert f"Left out: {errors - 100:,} more errors and {others - 100:,} more warnings" in html
    assert f"<b>{repeats * len(selection_results):,}</b>resources" in html
    assert f"<b>{errors:,}</b>error" in html
    assert len(html) < 250_000


def test_errors_are_listed_after_a_flood_of_warnings(selection_results: list[Result]) -> None:
    only_warnings = [r for r in selection_results if r.report.valid and r.report.issues]
    invalid = [r for r in selection_results if not r.report.valid]
    flood = only_warnings * (200 // len(only_warnings))
    output, html = _page(flood + invalid, max_listed=100)
    errors = sum(len(r.report.errors) for r in invalid)
    assert 0 < errors < 100
    assert output.listed_blocking == errors
    assert html.count("<span class='sev error'>error</span></td>") == errors
    for result in invalid:
        assert escape(result.file) in html


def test_a_key_shared_by_several_types_shows_the_constraint_of_the_issue() -> None:
    """R5's inv-1 is three constraints (Parameters, Task, TestReport)."""
    definitions = engine.bundled_definitions()
    task = {
        "resourceType": "Task",
        "status": "draft",
        "intent": "order",
        "authoredOn": "2024-02-01",
        "lastModified": "2024-01-01",  # before it was authored: inv-1
    }
    report = engine.Validator(definitions).validate(task)
    (issue,) = [i for i in report.issues if i.key == "inv-1"]
    stream = io.StringIO()
    output = HtmlOutput(stream, definitions)
    output.write(Result("task.json", "task.json", report))
    output.close()
    (expected,) = [c for c in definitions["Task"].constraints if c.key == "inv-1"]
    assert output.constraint("inv-1", issue.message) == expected
    others = [c for t in ("Parameters", "TestReport") for c in definitions[t].constraints]
    assert all(c.expression not in stream.getvalue() for c in others if c.key == "inv-1")
    assert escape(expected.expression) in stream.getvalue()
