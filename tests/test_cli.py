"""The command line (engine.cli.app): every input kind, every format, every exit status.

Most tests call ``main()`` in this process; the ones about the process itself (standard
input, ``python -m engine``) run it with ``subprocess``.
"""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import engine
import engine.cli
import engine.io.progress
from engine.cli import main
from engine.io.formats import FILE_EXTENSION
from engine.io.progress import Progress

FIXTURES = Path(__file__).parent / "fixtures"
SELECTIONS = FIXTURES / "imagingselection"
PAIRS = FIXTURES / "inputs" / "xml-json"
ROOT = Path(__file__).resolve().parent.parent

CURRENT_XML = [
    SELECTIONS / f"imagingselection-example-{name}.xml"
    for name in ("mg-image-selection", "rt-structure-set-region-selection",
                 "single-frame-image-selection", "waveform-channel-selection")
]  # fmt: skip
OLDER_JSON = sorted(SELECTIONS.glob("*.json"))
MG = CURRENT_XML[0]
#: A current-model example that is valid (mg follows the model, but its XML puts elements
#: out of the order FHIR XML requires).
CLEAN = CURRENT_XML[2]


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def unplaced(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issues without their line and column (which differ between XML and JSON), in the
    same order whatever the positions."""
    bare = [{k: v for k, v in i.items() if k not in ("line", "column")} for i in issues]
    return sorted(bare, key=lambda i: json.dumps(i, sort_keys=True))


def mg_resource() -> dict[str, Any]:
    """The mg example as FHIR JSON (written out by hand from the XML, not converted)."""
    return {
        "resourceType": "ImagingSelection",
        "id": "example-mg-image-selection",
        "status": "available",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://dicom.nema.org/resources/ontology/DCM",
                        "code": "128181",
                        "display": "Diagnostic Source Images",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": "http://dicom.nema.org/resources/ontology/DCM",
                    "code": "121080",
                    "display": "Best illustration of finding",
                }
            ]
        },
        "bodySite": [{"reference": {"reference": "BodyStructure/breast-mass"}}],
        "modality": {"coding": [{"code": "MG"}]},
        "subject": {"reference": "Patient/genetics-example1"},
        "issued": "2026-03-05T10:30:10+01:00",
        "studyUid": "1.2.276.0.7230010.3.1.2.2471810486.202606031209.11234567",
        "seriesUid": "1.2.276.0.7230010.3.1.3.2471810486.202606031209.11234567.1",
        "seriesNumber": 3,
    }


# -- exit status and the text format ----------------------------------------------------


def test_the_current_model_xml_examples_validate_clean_but_for_mg_order(capsys) -> None:
    status, out, _ = run(capsys, "validate", *CURRENT_XML)
    assert status == 1
    assert out.splitlines()[-1] == (
        "== Total: 4 files, 4 resources, 3 valid, 1 invalid; 9 errors, 4 warnings, 0 notes"
    )
    # Every error: the mg example's XML lists elements out of FHIR order (its Codings give
    # code before system; bodySite comes before status).
    errors = re.findall(r"^Error @ .*$", out, re.M)
    assert len(errors) == 9
    assert all(re.search(r": Element '\w+' is out of order: found after '\w+'$", e) for e in errors)
    assert any(
        re.fullmatch(
            r"Error @ ImagingSelection\.status \(line \d+, col \d+\): Element 'status' is out "
            r"of order: found after 'bodySite'",
            e,
        )
        for e in errors
    )
    assert any(
        e.startswith("Error @ ImagingSelection.code.coding[0].system (")
        and e.endswith(": Element 'system' is out of order: found after 'code'")
        for e in errors
    )
    # The only other finding: no narrative (dom-6, a best-practice warning, as the HL7
    # validator says), placed at the resource element (line 1 or 2: after any XML
    # declaration).
    assert set(re.findall(r"^Warning @ .*$", out, re.M)) <= {
        f"Warning @ ImagingSelection (line {line}, col 1): Constraint failed: dom-6: "
        "'A resource should have narrative for robust management'"
        for line in (1, 2)
    }


def test_older_examples_have_errors_and_exit_1(capsys) -> None:
    status, out, _ = run(capsys, "validate", *OLDER_JSON)
    assert status == 1
    lines = out.splitlines()
    basic = SELECTIONS / "imagingselection-example-basic-image-selection.json"
    header = f"-- {basic} ImagingSelection/c8318694-0d23-3ce6-94b6-20e29009936e"
    section = lines[lines.index(header) + 1 :]
    section = section[: next(i for i, line in enumerate(section) if line.startswith("=="))]
    unknown = "Unrecognized property 'instances': did you mean 'instance'?"
    assert f"Error @ ImagingSelection.instances (line 31, col 3): {unknown}" in section
    missing = "Missing required element 'status': minimum cardinality is 1, found 0"
    assert f"Error @ ImagingSelection (line 1, col 1): {missing}" in section
    assert f"== {basic}: 1 resource, 0 valid, 1 invalid; " in "\n".join(lines)
    assert lines[-1].startswith("== Total: 7 files, 7 resources, 0 valid, 7 invalid; ")


def test_a_missing_file_exits_2_and_the_others_are_still_validated(capsys, tmp_path) -> None:
    missing = tmp_path / "missing.json"
    status, out, _ = run(capsys, "validate", CLEAN, missing)
    assert status == 2
    assert f"-- {missing}\nFatal @ (input): no such file or directory\n" in out
    assert f"== {CLEAN}: 1 resource, 1 valid, 0 invalid" in out


def test_an_unreadable_file_in_a_folder_exits_2(capsys, tmp_path) -> None:
    shutil.copy(CLEAN, tmp_path / "mg.xml")
    (tmp_path / "z.json").symlink_to(tmp_path / "deleted.json")
    status, out, _ = run(capsys, "validate", "--format", "json", tmp_path)
    assert status == 2
    first, second = json_lines(out)
    assert (first["source"], first["valid"]) == (str(tmp_path / "mg.xml"), True)
    assert second["source"] == str(tmp_path / "z.json")
    assert second["issues"] == [
        {
            "severity": "fatal",
            "code": "processing",
            "location": "(input)",
            "line": None,
            "column": None,
            "key": None,
            "message": "no such file or directory",
        }
    ]


def test_a_glob_that_matches_nothing_exits_2(capsys, tmp_path) -> None:
    status, out, _ = run(capsys, "validate", tmp_path / "*.json")
    assert status == 2
    assert "Fatal @ (input): no file matches this pattern" in out


def test_a_folder_mixing_good_and_bad_files(capsys, tmp_path) -> None:
    shutil.copy(CURRENT_XML[2], tmp_path / "1-good.xml")
    shutil.copy(CURRENT_XML[1], tmp_path / "2-good.xml")
    shutil.copy(OLDER_JSON[0], tmp_path / "3-older.json")
    (tmp_path / "4-broken.json").write_text('{"resourceType": "ImagingSelection",\n  "id": }')
    (tmp_path / "5-broken.xml").write_text('<ImagingSelection xmlns="http://hl7.org/fhir">\n<id>')
    (tmp_path / "notes.txt").write_text("ignored")
    status, out, _ = run(capsys, "validate", tmp_path)
    assert status == 1
    broken_json = f"-- {tmp_path / '4-broken.json'}\nFatal @ (line 2, column 9): "
    assert broken_json + "invalid JSON: Expecting value\n" in out
    assert f"-- {tmp_path / '5-broken.xml'}\nFatal @ (line 2, column 5): malformed XML: " in out
    assert "notes.txt" not in out
    summaries = [line for line in out.splitlines() if line.startswith("== ")]
    assert len(summaries) == 6
    assert summaries[-1].startswith("== Total: 5 files, 5 resources, 2 valid, 3 invalid; ")


# -- NDJSON, Bundles, standard input ----------------------------------------------------


def test_a_bad_ndjson_line_is_reported_with_its_line_and_the_rest_goes_on(capsys, tmp_path) -> None:
    good = json.dumps(mg_resource())
    bad_status = mg_resource() | {"status": "lost"}
    lines = [good, '{"resourceType": "ImagingSelection", "id": "x",', "", json.dumps(bad_status)]
    data = tmp_path / "data.ndjson"
    data.write_text("\n".join(lines) + "\n")
    status, out, _ = run(capsys, "validate", "--format", "json", data)
    assert status == 1
    results = json_lines(out)
    assert [r["source"] for r in results] == [f"{data}:1", f"{data}:2", f"{data}:4"]
    assert results[0]["valid"] is True
    assert results[1]["valid"] is False
    assert results[1]["issues"] == [
        {
            "severity": "fatal",
            "code": "structure",
            "location": "(line 2, column 48)",
            "line": 2,
            "column": 48,
            "key": None,
            "message": "invalid JSON: Expecting property name enclosed in double quotes",
        }
    ]
    assert [
        (i["code"], i["location"]) for i in results[2]["issues"] if i["severity"] == "error"
    ] == [("code-invalid", "ImagingSelection.status")]


def test_a_bundle_is_one_result_with_locations_inside_its_entries(capsys, tmp_path) -> None:
    broken = mg_resource()
    del broken["seriesUid"]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{n}", "resource": r} for n, r in
                  enumerate([mg_resource(), mg_resource(), broken])],
    }  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    status, out, _ = run(capsys, "validate", "--format", "json", path)
    assert status == 1
    (result,) = json_lines(out)
    assert result["resourceType"] == "Bundle"
    keys = {(i["key"], i["location"]) for i in result["issues"] if i["severity"] == "error"}
    assert ("isl-3", "Bundle.entry[2].resource") in keys
    assert ("isl-4", "Bundle.entry[2].resource") not in keys  # mg has no instance
    assert all(loc.startswith("Bundle.entry[2].resource") for _, loc in keys)


def _run_process(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], input=stdin, capture_output=True, cwd=ROOT
    )


def test_standard_input_ndjson(tmp_path) -> None:
    broken = mg_resource() | {"seriesNumber": "three"}
    data = (json.dumps(mg_resource()) + "\n" + json.dumps(broken) + "\n").encode()
    done = _run_process("validate", "--format", "json", "-", stdin=data)
    assert done.returncode == 1, done.stderr
    first, second = json_lines(done.stdout.decode())
    assert (first["source"], first["valid"]) == ("<stdin>:1", True)
    assert second["source"] == "<stdin>:2"
    assert [i["location"] for i in second["issues"] if i["severity"] == "error"] == [
        "ImagingSelection.seriesNumber"
    ]


def test_standard_input_xml() -> None:
    done = _run_process("validate", "-", stdin=CLEAN.read_bytes())
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[-1] == (
        "== Total: 1 file, 1 resource, 1 valid, 0 invalid; 0 errors, 1 warning, 0 notes"
    )


# -- XML and JSON give the same verdicts --------------------------------------------------


def test_xml_input_gives_the_issues_of_the_same_resource_in_json(capsys, tmp_path) -> None:
    (tmp_path / "mg.json").write_text(json.dumps(mg_resource()))
    status_xml, xml_out, _ = run(capsys, "validate", "--format", "json", MG)
    status_json, json_out, _ = run(capsys, "validate", "--format", "json", tmp_path / "mg.json")
    assert (status_xml, status_json) == (1, 0)
    (from_xml,), (from_json,) = json_lines(xml_out), json_lines(json_out)
    # Only the XML can put elements out of order; the other issues are those of the JSON.
    order = [i for i in from_xml["issues"] if "out of order" in i["message"]]
    assert len(order) == 9
    rest = [i for i in from_xml["issues"] if i not in order]
    assert unplaced(rest) == unplaced(from_json["issues"]) != []


@pytest.mark.parametrize("name", sorted(p.stem for p in PAIRS.glob("*.xml")))
def test_official_xml_and_json_pairs_get_the_same_issues(name: str, capsys) -> None:
    status_xml, xml_out, _ = run(capsys, "validate", "--format", "json", PAIRS / f"{name}.xml")
    status_json, json_out, _ = run(capsys, "validate", "--format", "json", PAIRS / f"{name}.json")
    (from_xml,), (from_json,) = json_lines(xml_out), json_lines(json_out)
    assert status_xml == status_json
    assert unplaced(from_xml["issues"]) == unplaced(from_json["issues"])
    assert (from_xml["resourceType"], from_xml["id"]) == (
        from_json["resourceType"],
        from_json["id"],
    )


def test_an_older_xml_example_and_its_json_form_agree(capsys, tmp_path) -> None:
    older = SELECTIONS / "imagingselection-example-basic-image-selection.xml"
    status, xml_out, _ = run(capsys, "validate", "--format", "json", older)
    assert status == 1
    (from_xml,) = json_lines(xml_out)
    sop = [i for i in from_xml["issues"] if i["location"].endswith("sopClass")]
    assert [i["location"] for i in sop] == [
        "ImagingSelection.instance[0].sopClass",
        "ImagingSelection.instance[1].sopClass",
    ]


# -- formats ----------------------------------------------------------------------------


def test_json_format_fields(capsys) -> None:
    status, out, _ = run(capsys, "validate", "--format", "json", OLDER_JSON[0])
    (result,) = json_lines(out)
    assert status == 1
    assert list(result)[:5] == ["source", "resourceType", "id", "valid", "issues"]
    assert result["source"] == str(OLDER_JSON[0])
    assert result["valid"] is False
    for issue in result["issues"]:
        assert set(issue) == {"severity", "code", "location", "line", "column", "key", "message"}
        assert issue["line"] >= 1 and issue["column"] >= 1
        assert issue["location"].startswith("ImagingSelection")


def test_outcome_format_is_one_operation_outcome_per_resource(capsys, tmp_path) -> None:
    (tmp_path / "a.ndjson").write_text(json.dumps(mg_resource()) + "\n{oops}\n")
    status, out, _ = run(capsys, "validate", "--format", "outcome", tmp_path / "a.ndjson")
    assert status == 1
    clean, broken = json_lines(out)
    for outcome, source in (
        (clean, f"{tmp_path / 'a.ndjson'}:1"),
        (broken, f"{tmp_path / 'a.ndjson'}:2"),
    ):
        assert outcome["resourceType"] == "OperationOutcome"
        for issue in outcome["issue"]:
            assert {"url": FILE_EXTENSION, "valueString": source} in issue["extension"]
    assert [i["severity"] for i in clean["issue"]] == ["warning"]
    assert clean["issue"][0]["expression"] == ["ImagingSelection"]
    assert broken["issue"][0]["severity"] == "fatal"
    assert broken["issue"][0]["code"] == "structure"
    assert broken["issue"][0]["expression"] == ["(line 2, column 2)"]


def test_outcome_format_validates_against_the_definitions(capsys, tmp_path) -> None:
    status, out, _ = run(capsys, "validate", "--format", "outcome", *OLDER_JSON[:2])
    assert status == 1
    outcomes = tmp_path / "outcomes.ndjson"
    outcomes.write_text(out)
    status, out, _ = run(capsys, "validate", outcomes)
    assert "Error @" not in out, out
    assert status == 0


# -- usage ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["validate"],
        ["validate", "--format", "xml", "x.json"],
        ["validate", "--jobs", "0", "x.json"],
        ["validate", "--jobs", "many", "x.json"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys) -> None:
    try:
        status = main(args)
    except SystemExit as stop:
        status = int(stop.code or 0)
    assert status == 2
    assert capsys.readouterr().err


def test_standard_input_twice_is_a_usage_error(capsys) -> None:
    status, _, err = run(capsys, "validate", "-", "-")
    assert status == 2
    assert "standard input (-) can be read only once" in err


def test_invalid_definitions_exit_2_naming_file_and_line(capsys, tmp_path) -> None:
    broken = tmp_path / "defs"
    broken.mkdir()
    text = (ROOT / "definitions" / "ImagingSelection.md").read_text(encoding="utf-8")
    (broken / "ImagingSelection.md").write_text(
        text.replace("**Cardinality:** 1..1", "**Cardinality:** 1..", 1)
    )
    status, out, err = run(capsys, "validate", "--definitions", broken, CLEAN)
    assert status == 2
    assert out == ""
    assert re.match(
        rf"error: invalid definitions: {re.escape(str(broken))}/ImagingSelection.md:\d+: ", err
    )


def test_other_definitions_are_used_when_given(capsys, tmp_path) -> None:
    own = tmp_path / "defs"
    shutil.copytree(ROOT / "definitions", own, ignore=shutil.ignore_patterns("rules"))
    path = own / "ImagingSelection.md"
    rule = "modality.exists() implies seriesUid.exists()"
    path.write_text(
        path.read_text(encoding="utf-8").replace(rule, "modality.exists() implies false")
    )
    status, out, _ = run(capsys, "validate", "--definitions", own, MG)
    assert status == 1
    assert "Error @ ImagingSelection (line 2, col 1): Constraint failed: isl-9: " in out


def test_local_rules_add_constraints_and_switch_others_off(capsys, tmp_path) -> None:
    rules = tmp_path / "my-rules.yaml"
    rules.write_text(
        "constraints:\n"
        "  - key: acme-1\n"
        "    severity: error\n"
        "    human: We archive selections by frame of reference\n"
        "    expression: frameOfReferenceUid.exists()\n"
        "    context: ImagingSelection\n"
        "suppress:\n"
        "  - key: dom-6\n"
        "    reason: our selections carry no narrative\n",
        encoding="utf-8",
    )
    mg = tmp_path / "mg.json"  # valid, and without a frame of reference
    mg.write_text(json.dumps(mg_resource()))
    status, out, _ = run(capsys, "validate", "--format", "json", mg)
    (plain,) = json_lines(out)
    assert status == 0 and [i["key"] for i in plain["issues"]] == ["dom-6"]
    status, out, _ = run(capsys, "validate", "--format", "json", "--rules", rules, mg)
    (local,) = json_lines(out)
    assert status == 1
    assert [i["key"] for i in local["issues"]] == ["acme-1"]
    assert local["suppressed"] == [{"key": "dom-6", "reason": "our selections carry no narrative"}]


def test_bad_local_rules_exit_2_naming_file_and_line(capsys, tmp_path) -> None:
    rules = tmp_path / "my-rules.yaml"
    rules.write_text("suppress:\n  - key: isl-99\n    reason: gone\n", encoding="utf-8")
    status, out, err = run(capsys, "validate", "--rules", rules, CLEAN)
    assert status == 2
    assert out == ""
    assert err.startswith(f"error: invalid definitions: {rules}:2: ")


def test_python_dash_m_engine_and_the_rules_subcommand() -> None:
    done = _run_process("--help")
    assert done.returncode == 0
    assert b"validate" in done.stdout and b"rules" in done.stdout
    done = _run_process("validate", "--help")
    assert done.returncode == 0
    assert b"Exit status:" in done.stdout
    done = _run_process("rules", "regenerate", "--help")
    assert done.returncode == 0
    assert b"--check" in done.stdout


def test_no_progress_bar_when_standard_error_is_not_a_terminal(capsys) -> None:
    status, _, err = run(capsys, "validate", *CURRENT_XML[1:])
    assert status == 0
    assert err == ""


# -- parallel ---------------------------------------------------------------------------


def _variants(count: int) -> list[dict[str, Any]]:
    """``count`` ImagingSelections from the official examples, with varied ids and values;
    about one in five breaks an invariant or a type, in different ways."""
    bases = [mg_resource()] + [json.loads(p.read_text()) for p in OLDER_JSON]
    out = []
    for n in range(count):
        resource = copy.deepcopy(bases[n % len(bases)])
        resource["id"] = f"gen-{n}"
        resource["seriesNumber"] = n
        if n % 5 == 1:
            resource.pop("seriesUid", None)
        if n % 7 == 3:
            resource["studyUid"] = f"not a uid {n}"
        out.append(resource)
    return out


def test_jobs_2_prints_exactly_what_jobs_1_prints(capsys, tmp_path) -> None:
    resources = _variants(1100)
    folder = tmp_path / "many"
    (folder / "files").mkdir(parents=True)
    for n, resource in enumerate(resources[:150]):
        (folder / "files" / f"r{n:04}.json").write_text(json.dumps(resource))
    lines = [json.dumps(r) for r in resources[150:1050]]
    lines.insert(400, "{not json")
    (folder / "bulk.ndjson").write_text("\n".join(lines) + "\n")
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in resources[1050:]]}  # fmt: skip
    (folder / "bundle.json").write_text(json.dumps(bundle))
    shutil.copy(CLEAN, folder / "mg.xml")

    status_1, out_1, _ = run(capsys, "validate", "--format", "json", "--jobs", "1", folder)
    status_2, out_2, _ = run(capsys, "validate", "--format", "json", "--jobs", "2", folder)
    assert status_1 == status_2 == 1
    assert out_2 == out_1
    results = json_lines(out_1)
    assert len(results) == 150 + 901 + 1 + 1
    assert {r["valid"] for r in results} == {True, False}
    sources = [r["source"] for r in results]
    assert sources[0] == f"{folder / 'bulk.ndjson'}:1"
    assert sources[900:903] == [
        f"{folder / 'bulk.ndjson'}:901",
        str(folder / "bundle.json"),
        str(folder / "files" / "r0000.json"),
    ]
    assert sources[-1] == str(folder / "mg.xml")


def test_jobs_3_text_output_is_the_same_as_jobs_1(capsys, tmp_path) -> None:
    lines = [json.dumps(r) for r in _variants(40)]
    (tmp_path / "some.ndjson").write_text("\n".join(lines) + "\n")
    for path in SELECTIONS.glob("*.*ml"):
        shutil.copy(path, tmp_path / path.name)
    status_3, text_3, _ = run(capsys, "validate", "--jobs", "3", tmp_path)
    status_1, text_1, _ = run(capsys, "validate", tmp_path)
    assert status_3 == status_1 == 1
    assert text_3 == text_1
    assert text_1.splitlines()[-1].startswith("== Total: 12 files, 51 resources, ")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_draws_on_a_terminal_after_half_a_second(monkeypatch) -> None:
    clock = iter([0.0, 0.2, 0.6, 0.65, 0.8])
    monkeypatch.setattr(engine.io.progress.time, "monotonic", lambda: next(clock))
    terminal = _Terminal()
    bar = Progress(terminal, total_bytes=400)
    bar.advance(size=100, invalid=False)  # 0.2 s: too early to draw
    assert terminal.getvalue() == ""
    bar.advance(size=100, invalid=True)  # 0.6 s: drawn
    bar.advance(size=100, invalid=False)  # 0.65 s: too soon after the last drawing
    bar.advance(size=100, invalid=False)  # 0.8 s: drawn
    bar.close()
    frames = terminal.getvalue().split("\r")[1:]
    assert frames == [
        "[" + "#" * 15 + "." * 15 + "]  50% 2 resources, 1 invalid\x1b[K",
        "[" + "#" * 30 + "] 100% 4 resources, 1 invalid\x1b[K",
        "\x1b[K",
    ]


def test_no_progress_bar_off_a_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(stream, total_bytes=None)
    for _ in range(1000):
        bar.advance(size=10, invalid=False)
    bar.close()
    assert stream.getvalue() == ""
