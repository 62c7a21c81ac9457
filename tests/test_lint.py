"""``rules lint``: each check on a constraint that triggers it and one that must not, the
seed's pooled constraints and their per-occurrence rewrites, the Conditions checks on
edited copies of the definitions, silencing in local rules, and the command line."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

import engine
from engine.cli.rules import main
from engine.model import Constraint, DefinitionError, Source
from engine.rules.lint import CHECKS, Finding, LintResult, lint_constraint, lint_folder
from engine.rules.local import lint_silences
from tests.test_regenerate import _copy_for_imaging_selection, edit

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
R5_SILENCES = ROOT / "tools" / "r5_lint.yaml"

ISL_10 = next(
    c.expression
    for c in engine.load_definitions(DEFINITIONS / "ImagingSelection.md")[
        "ImagingSelection"
    ].constraints
    if c.key == "isl-10"
)
#: The per-occurrence forms of the seed's pooled constraints.
REWRITES = {
    "isl-7": "instance.imageRegion2D.all(coordinate.count() mod 2 = 0)",
    "isl-8": "imageRegion3D.all(coordinate.count() mod 3 = 0)",
    "isl-10": f"instance.all({ISL_10.replace('instance.', '')})",
    "isl-11": "instance.all(waveFormChannel.count() mod 2 = 0)",
}


def findings(
    definitions: engine.Definitions, expression: str, context: str = "ImagingSelection"
) -> list[Finding]:
    return lint_constraint(
        definitions, Constraint("t-1", "error", "test", expression, context, Source("t.md", 1))
    )


def checks(definitions: engine.Definitions, expression: str, context: str) -> set[str]:
    return {f.check for f in findings(definitions, expression, context)}


@pytest.fixture(scope="module")
def bundled() -> LintResult:
    return lint_folder(DEFINITIONS, rules_file=R5_SILENCES)


# ---- the seed


def test_the_seeds_pooled_constraints_are_flagged_with_their_per_occurrence_rewrite(
    bundled: LintResult,
) -> None:
    pooled = [f for f in bundled.findings if f.check == "aggregation" and f.type_name]
    seed = [f for f in pooled if f.type_name == "ImagingSelection"]
    assert [f.key for f in seed] == ["isl-7", "isl-8", "isl-10", "isl-11"]
    assert {f.key: f.suggestion for f in seed} == REWRITES
    isl_7 = seed[0]
    assert (isl_7.file, isl_7.line, isl_7.severity) == (
        str(DEFINITIONS / "ImagingSelection.md"),
        11,
        "warning",
    )
    assert "pools the occurrences of instance.imageRegion2D" in isl_7.message
    assert "pools the occurrences of imageRegion3D" in seed[1].message
    assert "pools the occurrences of instance," in seed[2].message


@pytest.mark.parametrize("key", sorted(REWRITES))
def test_the_per_occurrence_rewrites_are_clean(definitions: engine.Definitions, key: str) -> None:
    assert findings(definitions, REWRITES[key]) == []


def test_the_other_seed_constraints_are_clean(bundled: LintResult) -> None:
    keys = {f.key for f in bundled.findings if f.type_name == "ImagingSelection"}
    assert keys == set(REWRITES)


# ---- each check: a constraint that triggers it, and one that must not


CASES = [
    # (check, context, triggers, must not trigger)
    (
        "aggregation",
        "ImagingSelection",
        "instance.imageRegion2D.coordinate.count() mod 2 = 0",
        "instance.imageRegion2D.all(coordinate.count() mod 2 = 0)",
    ),
    ("aggregation", "Patient", "name.given.count() <= 3", "name.count() <= 3"),
    ("aggregation", "Questionnaire", "item.item.count() > 2", "item.all(item.count() > 2)"),
    (
        "aggregation",
        "Observation",
        "component.code.exists() implies component.value.exists()",
        "component.all(code.exists() implies value.exists())",
    ),
    (
        "aggregation",
        "ImagingSelection.instance",
        "imageRegion2D.coordinate.count() mod 2 = 0",
        "imageRegion2D.all(coordinate.count() mod 2 = 0)",
    ),
    (
        "aggregation",
        "ImagingSelection",
        "instance.sopClass.exists() implies instance.number.exists()",
        "imageRegion3D.exists() implies instance.imageRegion2D.empty()",
    ),
    (
        "aggregation",
        "ImagingSelection",
        "instance.imageRegion2D.count() <= 1",
        "instance.uid.count() = instance.uid.distinct().count()",
    ),
    (
        "aggregation",
        "ImagingSelection",
        "instance.frameNumber.count() + instance.segmentNumber.count() = 1",
        "(instance.frameNumber.count() + instance.segmentNumber.count()) > 0",
    ),
    ("type-mismatch", "ImagingSelection", "seriesNumber = 'x'", "seriesNumber = 3"),
    ("type-mismatch", "ImagingSelection", "issued > 3", "issued > @2020-01-01"),
    (
        "type-mismatch",
        "NamingSystem",
        "uniqueId.where(preferred = 'true').exists()",
        "uniqueId.where(preferred = true).exists()",
    ),
    (
        "string-function",
        "ImagingSelection",
        "seriesNumber.matches('[0-9]+')",
        "seriesNumber.toString().matches('[0-9]+')",
    ),
    ("string-function", "ImagingSelection", "code.startsWith('x')", "code.text.startsWith('x')"),
    ("choice-member", "Observation", "value.foo.exists()", "value.unit.exists()"),
    ("primitive-value", "ImagingSelection", "status.value = 'inactive'", "status = 'inactive'"),
    # Quantity is one of the types of Observation.value, and Quantity.value is an element.
    ("primitive-value", "Observation", "value.ofType(string).value = 'x'", "value.value > 5"),
    ("unknown-function", "ImagingSelection", "seriesUid.exist()", "seriesUid.exists()"),
    ("argument-count", "ImagingSelection", "iif(seriesUid.exists())", "iif(true, false)"),
    (
        "argument-count",
        "ImagingSelection",
        "instance.exists(uid.exists(), 1)",
        "instance.exists(uid.exists())",
    ),
    ("singleton", "ImagingSelection", "instance.uid = 'x'", "instance.where(uid = 'x').exists()"),
    # Collection against collection is collection equality, on purpose.
    ("singleton", "Patient", "name.given = 'Jim'", "name.first().given = ('Jim' | 'Peter')"),
    (
        "singleton",
        "ImagingSelection",
        "instance.uid.startsWith('1.2')",
        "instance.all(uid.startsWith('1.2'))",
    ),
    (
        "cannot-fail",
        "ImagingSelection",
        "seriesUid.exists() or seriesUid.empty()",
        "seriesUid.exists() or studyUid.exists()",
    ),
    ("cannot-fail", "ImagingSelection", "code.exists()", "modality.exists()"),
    ("cannot-fail", "ImagingSelection", "seriesUid.count() <= 1", "instance.count() <= 1"),
    ("cannot-pass", "ImagingSelection", "status.empty()", "seriesUid.empty()"),
    ("cannot-pass", "ImagingSelection", "seriesUid.count() > 1", "instance.count() > 1"),
    (
        "vacuous-implies",
        "ImagingSelection",
        "status.empty() implies seriesUid.exists()",
        "seriesUid.empty() implies studyUid.exists()",
    ),
    (
        "vacuous-implies",
        "ImagingSelection",
        "seriesUid.exists() and seriesUid.empty() implies studyUid.exists()",
        "seriesUid.exists() and studyUid.empty() implies modality.exists()",
    ),
    ("unknown-element", "ImagingSelection", "seriesUID.exists()", "seriesUid.exists()"),
]


@pytest.mark.parametrize(("check", "context", "triggers", "clean"), CASES)
def test_each_check_triggers_on_one_constraint_and_not_on_the_other(
    definitions: engine.Definitions, check: str, context: str, triggers: str, clean: str
) -> None:
    assert check in checks(definitions, triggers, context)
    assert check not in checks(definitions, clean, context)


def test_every_check_of_a_constraint_is_tested() -> None:
    tested = {case[0] for case in CASES}
    conditions = {"unknown-condition", "unlisted-constraint", "definition", "unused-silence"}
    assert tested | conditions == set(CHECKS)


def test_findings_say_why_and_how_to_fix(definitions: engine.Definitions) -> None:
    (pooled,) = findings(definitions, "name.given.count() <= 3", "Patient")
    assert pooled.suggestion == "name.all(given.count() <= 3)"
    assert pooled.message.startswith("the expression pools the occurrences of name")
    (value,) = findings(definitions, "status.value = 'inactive' or seriesUid.exists()")
    assert value.suggestion == "status = 'inactive' or seriesUid.exists()"
    (mismatch,) = findings(
        definitions, "uniqueId.where(preferred = 'true').exists()", "NamingSystem"
    )
    assert mismatch.message == (
        "'preferred = 'true'' compares a boolean with a string: always false"
    )
    assert mismatch.suggestion == "uniqueId.where(preferred = true).exists()"
    (constant,) = findings(definitions, "code.exists() or seriesUid.exists()")
    assert "(code is always present (code 1..1))" in constant.message
    (never,) = findings(definitions, "seriesUid.count() > 1")
    assert "seriesUid holds at most one item (seriesUid 0..1)" in never.message
    assert never.severity == "error"


def test_a_sub_expression_is_rewritten_in_place(definitions: engine.Definitions) -> None:
    (pooled,) = findings(
        definitions, "seriesUid.exists() and instance.waveFormChannel.count() mod 2 = 0"
    )
    assert pooled.suggestion == (
        "seriesUid.exists() and instance.all(waveFormChannel.count() mod 2 = 0)"
    )


# ---- Conditions, and files the loader rejects, on edited copies


@pytest.fixture()
def copy(tmp_path: Path, definitions: engine.Definitions) -> Path:
    return _copy_for_imaging_selection(definitions, tmp_path / "definitions")


def test_conditions_naming_no_constraint_of_the_type(copy: Path) -> None:
    edit(copy, "**Conditions:** isl-3\n", "**Conditions:** isl-3, isl-99, ref-1\n")
    result = lint_folder(copy)
    found = {(f.key, f.severity, f.line) for f in result.findings if f.check == "unknown-condition"}
    assert found == {("isl-99", "error", 139), ("ref-1", "warning", 139)}
    assert lint_folder(copy / "ImagingSelection.md").findings  # one file alone also works


def test_a_constraint_no_element_lists(copy: Path) -> None:
    before = lint_folder(copy)
    assert not [f for f in before.findings if f.check == "unlisted-constraint"]
    edit(copy, "**Conditions:** isl-9\n", "")
    edit(copy, "**Conditions:** isl-1, isl-2, isl-3, isl-4, isl-9", "**Conditions:** isl-1")
    (unlisted,) = [f for f in lint_folder(copy).findings if f.check == "unlisted-constraint"]
    assert unlisted.key == "isl-9"
    assert unlisted.message == (
        "no element lists isl-9 in its Conditions, though it reads "
        "ImagingSelection.modality, ImagingSelection.seriesUid"
    )


def test_a_file_the_loader_rejects_is_a_finding_and_the_rest_is_linted(copy: Path) -> None:
    edit(copy, "**Binding:** required:[imagingselection-status]", "**Binding:** mandatory:[x]")
    result = lint_folder(copy)
    (broken,) = [f for f in result.findings if f.check == "definition"]
    assert broken.file.endswith("ImagingSelection.md") and broken.severity == "error"
    assert result.exit_status() == 1


def test_names_that_are_not_elements_are_findings_not_a_failed_load(copy: Path) -> None:
    edit(copy, "seriesNumber.exists() implies", "seriesNumbr.exists() implies")
    with pytest.raises(DefinitionError):
        engine.load_definitions(copy)
    (unknown,) = [f for f in lint_folder(copy).findings if f.check == "unknown-element"]
    assert (unknown.key, unknown.message) == (
        "isl-3",
        "'seriesNumbr' is not an element of ImagingSelection",
    )


# ---- silencing in local rules


SILENCES = """\
lint:
  - key: isl-7
    check: aggregation
    reason: we mean the coordinates of all regions together
  - key: isl-1
    check: aggregation
    reason: nothing to silence here
"""


def test_silenced_findings_stay_in_json_and_leave_the_text(
    tmp_path: Path, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "my-rules.yaml"
    rules.write_text(SILENCES, encoding="utf-8")
    result = lint_folder(copy, rules_file=rules)
    (isl_7,) = result.findings_for("isl-7")
    assert isl_7.silenced == "we mean the coordinates of all regions together"
    assert isl_7 not in result.active
    (unused,) = [f for f in result.findings if f.check == "unused-silence"]
    assert (unused.file, unused.line, unused.key) == (str(rules), 5, "isl-1")

    status = main(["lint", "--definitions", str(copy), "--rules", str(rules)])
    out = capsys.readouterr().out
    assert status == 0
    assert ": isl-7: " not in out and ": isl-8: warning: " in out
    # The four unsilenced: isl-8, isl-10, isl-11, and the silence that matched nothing.
    assert out.splitlines()[-1] == (
        "0 errors, 4 warnings, 0 notes; 1 silenced in 55 constraints of 66 types."
    )

    status = main(["lint", "--definitions", str(copy), "--rules", str(rules), "--format", "json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["key"]: line["silenced"] for line in lines if line["check"] == "aggregation"} == {
        "isl-7": "we mean the coordinates of all regions together",
        "isl-8": None,
        "isl-10": None,
        "isl-11": None,
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "  - key: isl-7\n    check: pooling\n    reason: x\n",
            "unknown lint check 'pooling' (expected one of aggregation,",
        ),
        ("  - key: isl-7\n    check: aggregation\n", "silencing aggregation for 'isl-7' needs a"),
        ("  - key: isl-77\n    check: aggregation\n    reason: x\n", "no such constraint"),
        ("  - check: aggregation\n    reason: x\n", "a lint entry needs 'key'"),
    ],
)
def test_a_bad_lint_entry_is_an_error_with_its_line(
    tmp_path: Path, definitions: engine.Definitions, entry: str, message: str
) -> None:
    rules = tmp_path / "my-rules.yaml"
    rules.write_text("lint:\n" + entry, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        lint_silences(rules, definitions)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{rules}:")
    with pytest.raises(DefinitionError):
        engine.load_definitions(DEFINITIONS / "ImagingSelection.md", extra_rules=rules)


def test_local_constraints_are_linted_at_their_line(tmp_path: Path, copy: Path) -> None:
    rules = tmp_path / "acme.yaml"
    rules.write_text(
        textwrap.dedent(
            """\
            constraints:
              - key: acme-1
                severity: error
                human: each region SHALL have an even number of coordinates
                expression: instance.imageRegion2D.coordinate.count() mod 2 = 0
                context: ImagingSelection
            """
        ),
        encoding="utf-8",
    )
    (acme,) = lint_folder(copy, rules_file=rules).findings_for("acme-1")
    assert (acme.file, acme.line, acme.check) == (str(rules), 2, "aggregation")


# ---- the command line, and the bundled definitions


def test_text_output_is_one_line_per_finding(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["lint", "--definitions", str(copy)])
    out = capsys.readouterr().out.splitlines()
    assert status == 0  # warnings only
    finding = re.compile(r"^.+\.md:\d+: [\w.-]+: (error|warning|information): .+$")
    assert [line for line in out if not line.startswith("    suggestion: ")][:-1] == [
        line for line in out if finding.match(line)
    ]
    assert f"{copy}/ImagingSelection.md:11: isl-7: warning: the expression pools" in out[0]
    assert out[1] == ("    suggestion: instance.imageRegion2D.all(coordinate.count() mod 2 = 0)")
    assert main(["lint", "--definitions", str(copy), "--strict"]) == 1
    assert main(["lint", "--definitions", str(copy / "missing")]) == 2


def test_the_bundled_definitions_have_no_error_once_the_published_r5_ones_are_silenced(
    bundled: LintResult,
) -> None:
    assert bundled.exit_status() == 0
    assert {(f.key, f.check) for f in bundled.findings if f.silenced} == {
        ("eld-28", "primitive-value"),
        ("nsd-3", "type-mismatch"),
        ("sdf-26", "type-mismatch"),
    }


def test_the_readme_lists_every_finding_on_the_bundled_definitions(bundled: LintResult) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- lint-findings:start -->")[1].split("<!-- lint-findings:end -->")[0]
    rows = re.findall(r"^\| (\S+) \| (\S+) \| ([^|]+?) \| .+ \|$", table, re.MULTILINE)
    listed = {row for row in rows if row[0] not in ("check", "---")}
    found = {
        (f.check, f.key, f.severity + (" (silenced)" if f.silenced else ""))
        for f in bundled.findings
    }
    assert listed == found


def test_the_command_runs_on_the_bundled_definitions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["lint", "--rules", str(R5_SILENCES)]) == 0
    out = capsys.readouterr().out
    assert "definitions/ImagingSelection.md:11: isl-7: warning:" in out
    assert main(["lint"]) == 1
    assert "definitions/NamingSystem.md:12: nsd-3: error:" in capsys.readouterr().out


def test_a_rules_file_that_cannot_be_read_stops_the_command(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", "--definitions", str(copy), "--rules", str(tmp_path / "no.yaml")]) == 2
    assert "cannot read local rules" in capsys.readouterr().err


def test_a_copy_without_the_seed_lints_clean_of_aggregation(copy: Path) -> None:
    for key, rewrite in REWRITES.items():
        old = next(
            c.expression
            for c in engine.load_definitions(copy / "ImagingSelection.md")[
                "ImagingSelection"
            ].constraints
            if c.key == key
        )
        edit(copy, f"| {old}", f"| {rewrite}")
    assert not [f for f in lint_folder(copy).findings if f.check == "aggregation"]
