"""Noise control on the command line: --min-severity, --quiet, --summary; and --version.

Inputs are official ImagingSelection examples: the current-model mg example (one dom-6
warning), the older-model basic example (errors and a warning) and a Bundle of both.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.cli import main

SELECTIONS = Path(__file__).parent / "fixtures" / "imagingselection"
# A current-model example that is valid, with one warning (no narrative).
MG = SELECTIONS / "imagingselection-example-single-frame-image-selection.xml"
BASIC = SELECTIONS / "imagingselection-example-basic-image-selection.json"
ISSUE_LINE = re.compile(r"^(Fatal|Error|Warning|Information) @ ", re.M)


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def severities(out: str) -> set[str]:
    return set(ISSUE_LINE.findall(out))


@pytest.fixture()
def bundle(tmp_path) -> Path:
    """A Bundle holding the basic example (errors, dom-6) and an mg-like one (dom-6)."""
    basic = json.loads(BASIC.read_text(encoding="utf-8"))
    entries = [{"fullUrl": "urn:uuid:1", "resource": basic}]
    entries.append({"fullUrl": "urn:uuid:2", "resource": dict(basic, id="second")})
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    return path


def test_all_severities_are_listed_by_default(capsys) -> None:
    status, out, _ = run(capsys, "validate", MG, BASIC)
    assert status == 1
    assert severities(out) == {"Error", "Warning"}


def test_min_severity_error_hides_warnings_but_counts_them(capsys) -> None:
    status, full, _ = run(capsys, "validate", MG, BASIC)
    status_error, out, _ = run(capsys, "validate", "--min-severity", "error", MG, BASIC)
    assert status_error == status == 1
    assert severities(out) == {"Error"}
    # The mg example has only a warning: it is not listed at all, not even its header.
    assert f"-- {MG}" not in out and f"-- {MG}" in full
    summaries = [line for line in out.splitlines() if line.startswith("==")]
    assert summaries == [line for line in full.splitlines() if line.startswith("==")]
    assert summaries[-1].endswith("2 warnings, 0 notes")


def test_min_severity_does_not_change_the_exit_status(capsys) -> None:
    assert run(capsys, "validate", "--min-severity", "error", MG)[0] == 0
    assert run(capsys, "validate", "--min-severity", "error", BASIC)[0] == 1
    assert run(capsys, "validate", "--quiet", BASIC)[0] == 1


def test_min_severity_warning_hides_information(capsys, tmp_path) -> None:
    # DiagnosticReport-f201 gets one information issue (dgr-1 cannot be evaluated here).
    example = Path(__file__).parent / "fixtures" / "r5-examples" / "DiagnosticReport-f201.json"
    _, full, _ = run(capsys, "validate", example)
    _, out, _ = run(capsys, "validate", "--min-severity", "warning", example)
    assert "Information @" in full
    assert "Information @" not in out
    assert out.splitlines()[-1] == full.splitlines()[-1]


def test_quiet_prints_only_the_summary_lines(capsys) -> None:
    status, out, err = run(capsys, "validate", "--quiet", MG, BASIC)
    assert status == 1 and err == ""
    lines = out.splitlines()
    assert all(line.startswith("== ") for line in lines)
    assert len(lines) == 3 and lines[-1].startswith("== Total: 2 files, 2 resources")


def test_summary_table_counts_by_rule_and_resource_type(capsys, bundle) -> None:
    status, out, _ = run(capsys, "validate", "--summary", bundle, MG)
    assert status == 1
    lines = out.splitlines()
    start = lines.index("== Issues by rule and resource type:")
    assert lines[start - 1].startswith("== Total: ")
    rows = [line.split() for line in lines[start + 2 :]]
    assert lines[start + 1].split() == ["count", "severity", "rule", "resource", "type"]
    table = {(row[1], row[2], row[3]): int(row[0]) for row in rows}
    # dom-6 twice inside the Bundle, counted under the entries' type, and once for mg.
    assert table[("warning", "dom-6", "ImagingSelection")] == 3
    # Issues without a key are counted by their code.
    listed = [i for i in ISSUE_LINE.finditer(out)]
    assert sum(table.values()) == len(listed)
    assert ("error", "structure", "ImagingSelection") in table
    # Errors first, then warnings.
    order = [row[1] for row in rows]
    assert order == sorted(order, key=["fatal", "error", "warning", "information"].index)


def test_summary_counts_everything_even_what_is_not_listed(capsys, bundle) -> None:
    _, out, _ = run(capsys, "validate", "--summary", "--quiet", "--min-severity", "error", bundle)
    assert not ISSUE_LINE.search(out)
    assert re.search(r"^\s+2\s+warning\s+dom-6\s+ImagingSelection$", out, re.M)


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_json_format_filters_listed_issues_and_keeps_one_line_per_resource(capsys) -> None:
    status, out, err = run(
        capsys, "validate", "--format", "json", "--min-severity", "error", MG, BASIC
    )
    assert status == 1 and err == ""
    mg, basic = _json_lines(out)
    assert (mg["valid"], mg["issues"]) == (True, [])
    assert basic["valid"] is False
    assert {i["severity"] for i in basic["issues"]} == {"error"}


def test_machine_formats_write_summaries_to_standard_error(capsys, bundle) -> None:
    for fmt in ("json", "outcome"):
        status, out, err = run(capsys, "validate", "--format", fmt, "--summary", bundle, MG)
        assert status == 1
        assert len(_json_lines(out)) == 2  # standard output stays one JSON line per resource
        assert err.splitlines()[0].startswith("== Total: 2 files, 2 resources")
        assert "== Issues by rule and resource type:" in err
        status, out, err = run(capsys, "validate", "--format", fmt, "--quiet", bundle, MG)
        assert (status, out) == (1, "")
        # The same total as the text format's.
        text_total = run(capsys, "validate", "--quiet", bundle, MG)[1].splitlines()[-1]
        assert err.splitlines() == [text_total]
        assert text_total.startswith("== Total: 2 files, 2 resources, 1 valid, 1 invalid; ")


def test_outcome_format_says_when_issues_were_left_out(capsys) -> None:
    status, out, _ = run(capsys, "validate", "--format", "outcome", "--min-severity", "error", MG)
    assert status == 0
    ((issue,),) = [o["issue"] for o in _json_lines(out)]
    assert issue["severity"] == "information"
    assert issue["details"]["text"] == (
        "No issues of severity 'error' or above (1 less severe issue not listed)"
    )


def test_an_unknown_severity_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["validate", "--min-severity", "warn", str(MG)])
    assert exit_.value.code == 2
    assert "invalid choice: 'warn'" in capsys.readouterr().err


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    version = metadata.version("fhir-invariants")
    assert capsys.readouterr().out == f"fhir-invariants {version}\n"
    assert engine.__version__ == version
